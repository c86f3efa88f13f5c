"""benVitaal's own part of an erasure goes at once (R-DSR-8, docs/employers.md): a forwarded request records what the
employer instructed about its data, to erase it or to keep it, beside the sealed instruction text. Requests whose
instruction was recorded before this revision have none; starting their erasure erases the whole person, as before.

Revision ID: 0030_partial_erasure
Revises: 0029_employer_contacts
Create Date: 2026-12-02 18:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0030_partial_erasure"
down_revision: str | None = "0029_employer_contacts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("data_subject_request") as batch:
        batch.add_column(sa.Column("employer_decision", sa.String(length=8), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("data_subject_request") as batch:
        batch.drop_column("employer_decision")
