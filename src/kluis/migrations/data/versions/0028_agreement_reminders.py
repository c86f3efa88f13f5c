"""processors register: which reminders of an ending data-processing agreement went out to the DPOs, so that each
goes once; and the outbox takes mail to an address given for one message alone (the sub-processors of a service,
mailed to whoever asked), sealed until sent (docs/processors.md)

Revision ID: 0028_agreement_reminders
Revises: 0027_order_document_keys
Create Date: 2026-12-02 13:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import kluis.db

revision: str = "0028_agreement_reminders"
down_revision: str | None = "0027_order_document_keys"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COUNT = ("(CASE WHEN person_id IS NULL THEN 0 ELSE 1 END) + (CASE WHEN staff_id IS NULL THEN 0 ELSE 1 END)"
          " + (CASE WHEN party IS NULL THEN 0 ELSE 1 END)")
ONE_RECIPIENT = (f"{_COUNT} = 1 OR (person_id IS NULL AND staff_id IS NULL AND party IS NULL"
                 " AND (sealed_to IS NOT NULL OR state IN ('sent', 'failed', 'cancelled')))")
OLD_ONE_RECIPIENT = f"{_COUNT} = 1"


def upgrade() -> None:
    op.create_table(
        "agreement_reminder",
        sa.Column("processor", sa.String(length=64), nullable=False),
        sa.Column("reference", sa.String(length=80), nullable=False),
        sa.Column("ends", sa.Date(), nullable=False),
        sa.Column("days_before", sa.Integer(), nullable=False),
        sa.Column("sent_at", kluis.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("processor", "reference", "ends", "days_before", name=op.f("pk_agreement_reminder")),
    )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_outbox_one_recipient"), type_="check")
        batch_op.create_check_constraint(op.f("ck_outbox_one_recipient"), sa.text(ONE_RECIPIENT))


def downgrade() -> None:
    op.execute("DELETE FROM outbox WHERE person_id IS NULL AND staff_id IS NULL AND party IS NULL")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_outbox_one_recipient"), type_="check")
        batch_op.create_check_constraint(op.f("ck_outbox_one_recipient"), sa.text(OLD_ONE_RECIPIENT))
    op.drop_table("agreement_reminder")
