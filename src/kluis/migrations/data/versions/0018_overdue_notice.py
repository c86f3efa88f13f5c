"""data_subject_request.overdue_notice_for: the deadline the DPOs were told a request missed

The worker mails the DPOs once when an open request passes its deadline (R-DSR-2); this keeps which deadline
that was, so the mail goes once per deadline missed and not at every tick.

Revision ID: 0018_overdue_notice
Revises: 0017_objection_assessment
Create Date: 2026-12-02 05:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018_overdue_notice"
down_revision: str | None = "0017_objection_assessment"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("data_subject_request", schema=None) as batch_op:
        batch_op.add_column(sa.Column("overdue_notice_for", sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("data_subject_request", schema=None) as batch_op:
        batch_op.drop_column("overdue_notice_for")
