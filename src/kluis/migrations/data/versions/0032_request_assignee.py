"""A request's assignee (issue 19 §2, R-DSR-1): the staff account it was given to, a staff id only.

Revision ID: 0032_request_assignee
Revises: 0031_person_sessions
Create Date: 2026-12-02 19:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0032_request_assignee"
down_revision: str | None = "0031_person_sessions"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("data_subject_request") as batch:
        batch.add_column(sa.Column("assigned_to", sa.Uuid(), nullable=True))
        batch.create_foreign_key(op.f("fk_data_subject_request_assigned_to_staff_account"), "staff_account",
                                 ["assigned_to"], ["id"], ondelete="SET NULL")
        batch.create_index(op.f("ix_data_subject_request_assigned_to"), ["assigned_to"])


def downgrade() -> None:
    with op.batch_alter_table("data_subject_request") as batch:
        batch.drop_index(op.f("ix_data_subject_request_assigned_to"))
        batch.drop_constraint(op.f("fk_data_subject_request_assigned_to_staff_account"), type_="foreignkey")
        batch.drop_column("assigned_to")
