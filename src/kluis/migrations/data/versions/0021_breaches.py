"""breaches: the breach register (R-GOV-3), its frozen affected people and its filings with the AP

Free texts are sealed (LargeBinary); the affected people are person ids only.

Revision ID: 0021_breaches
Revises: 0020_audit_sealed
Create Date: 2026-12-02 05:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import kluis.db

revision: str = "0021_breaches"
down_revision: str | None = "0020_audit_sealed"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table("breach",
    sa.Column("id", sa.Uuid(), nullable=False),
    sa.Column("aware_at", kluis.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column("aware_offset_minutes", sa.Integer(), nullable=False),
    sa.Column("deadline_at", kluis.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column("happened_from", kluis.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column("happened_until", kluis.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column("nature", sa.JSON(), nullable=False),
    sa.Column("categories", sa.JSON(), nullable=False),
    sa.Column("subject_types", sa.JSON(), nullable=False),
    sa.Column("employer_ids", sa.JSON(), nullable=False),
    sa.Column("cross_border", sa.Boolean(), nullable=False),
    sa.Column("texts", sa.LargeBinary(), nullable=False),
    sa.Column("reported_by", sa.String(length=120), nullable=False),
    sa.Column("reported_at", kluis.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column("risk", sa.String(length=12), nullable=True),
    sa.Column("risk_reason", sa.LargeBinary(), nullable=True),
    sa.Column("decided_by", sa.String(length=120), nullable=True),
    sa.Column("decided_at", kluis.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column("affected", sa.Integer(), nullable=True),
    sa.Column("ap_filed_at", kluis.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column("reminders_sent", sa.JSON(), nullable=False),
    sa.Column("notify_state", sa.String(length=12), nullable=True),
    sa.Column("notify_after", sa.Uuid(), nullable=True),
    sa.Column("notified", sa.Integer(), nullable=False),
    sa.Column("skipped", sa.Integer(), nullable=False),
    sa.Column("notify_started_at", kluis.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column("notify_done_at", kluis.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column("updated_at", kluis.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("notify_state IS NULL OR notify_state IN ('running', 'done')",
                       name=op.f("ck_breach_notify_state")),
    sa.CheckConstraint("risk IS NULL OR risk IN ('no_risk', 'risk', 'high_risk')", name=op.f("ck_breach_risk")),
    sa.PrimaryKeyConstraint("id", name=op.f("pk_breach"))
    )
    with op.batch_alter_table("breach", schema=None) as batch_op:
        batch_op.create_index("ix_breach_open_deadline", ["ap_filed_at", "deadline_at"], unique=False)

    op.create_table("breach_filing",
    sa.Column("id", sa.Uuid(), nullable=False),
    sa.Column("breach_id", sa.Uuid(), nullable=False),
    sa.Column("kind", sa.String(length=12), nullable=False),
    sa.Column("filed_at", kluis.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column("filed_by", sa.String(length=120), nullable=False),
    sa.Column("ap_reference", sa.String(length=80), nullable=False),
    sa.Column("late", sa.Boolean(), nullable=False),
    sa.Column("late_reason", sa.LargeBinary(), nullable=True),
    sa.Column("changes", sa.LargeBinary(), nullable=True),
    sa.Column("form", sa.LargeBinary(), nullable=False),
    sa.Column("recorded_at", kluis.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('initial', 'follow_up')", name=op.f("ck_breach_filing_kind")),
    sa.ForeignKeyConstraint(["breach_id"], ["breach.id"],
                            name=op.f("fk_breach_filing_breach_id_breach"), ondelete="CASCADE"),
    sa.PrimaryKeyConstraint("id", name=op.f("pk_breach_filing"))
    )
    with op.batch_alter_table("breach_filing", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_breach_filing_breach_id"), ["breach_id"], unique=False)

    op.create_table("breach_person",
    sa.Column("breach_id", sa.Uuid(), nullable=False),
    sa.Column("person_id", sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(["breach_id"], ["breach.id"],
                            name=op.f("fk_breach_person_breach_id_breach"), ondelete="CASCADE"),
    sa.ForeignKeyConstraint(["person_id"], ["person.id"],
                            name=op.f("fk_breach_person_person_id_person"), ondelete="CASCADE"),
    sa.PrimaryKeyConstraint("breach_id", "person_id", name=op.f("pk_breach_person"))
    )


def downgrade() -> None:
    op.drop_table("breach_person")
    with op.batch_alter_table("breach_filing", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_breach_filing_breach_id"))

    op.drop_table("breach_filing")
    with op.batch_alter_table("breach", schema=None) as batch_op:
        batch_op.drop_index("ix_breach_open_deadline")

    op.drop_table("breach")
