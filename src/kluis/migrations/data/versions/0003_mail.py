"""mail outbox

Revision ID: 0003_mail
Revises: 0002_gate
Create Date: 2026-11-25 17:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import kluis.db

revision: str = "0003_mail"
down_revision: str | None = "0002_gate"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "outbox",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("template", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=True),
        sa.Column("staff_id", sa.Uuid(), nullable=True),
        sa.Column("lang", sa.String(length=2), nullable=False),
        sa.Column("context", sa.JSON(), nullable=False),
        sa.Column("list_id", sa.String(length=64), nullable=True),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", kluis.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("locked_until", kluis.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("locked_by", sa.String(length=32), nullable=True),
        sa.Column("message_id", sa.String(length=255), nullable=True),
        sa.Column("created_at", kluis.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("sent_at", kluis.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=64), nullable=True),
        sa.CheckConstraint("kind IN ('administrative', 'marketing')", name=op.f("ck_outbox_kind")),
        sa.CheckConstraint("lang IN ('nl', 'en')", name=op.f("ck_outbox_lang")),
        sa.CheckConstraint("state IN ('queued', 'sending', 'sent', 'failed', 'cancelled')",
                           name=op.f("ck_outbox_state")),
        sa.CheckConstraint("(person_id IS NULL) <> (staff_id IS NULL)", name=op.f("ck_outbox_one_recipient")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
    )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_outbox_person_id"), ["person_id"], unique=False)
        batch_op.create_index("ix_outbox_state_next_attempt_at", ["state", "next_attempt_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_state_next_attempt_at")
        batch_op.drop_index(batch_op.f("ix_outbox_person_id"))
    op.drop_table("outbox")
