"""A staff member's language (issue 19 §3): Dutch or English, as chosen in the console's switch or with the CLI;
the staff mails (reminders of a breach's AP deadline, an agreement's end, a complaint's or a request's term) are
written in it. Empty until chosen: the deployment's ``KLUIS_STAFF_LANGUAGE`` then speaks for it.

Revision ID: 0035_staff_language
Revises: 0034_record_due_walk
Create Date: 2026-12-03 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0035_staff_language"
down_revision: str | None = "0034_record_due_walk"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("staff_account") as batch:
        batch.add_column(sa.Column("language", sa.String(length=2), nullable=True))
        batch.create_check_constraint(op.f("ck_staff_account_language"), "language IN ('nl', 'en')")


def downgrade() -> None:
    with op.batch_alter_table("staff_account") as batch:
        batch.drop_constraint(op.f("ck_staff_account_language"), type_="check")
        batch.drop_column("language")
