"""rectification: index the record it corrects

Deleting a record (the retention sweep, erasure) cascades to its corrections; without an index on
``rectification.record_id`` every deleted record scanned the whole table.

Revision ID: 0012_rectification_record_index
Revises: 0011_key_powers
Create Date: 2026-11-25 23:10:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0012_rectification_record_index"
down_revision: str | None = "0011_key_powers"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("rectification", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_rectification_record_id"), ["record_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("rectification", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rectification_record_id"))
