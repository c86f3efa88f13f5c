"""objection: the DPO's assessment of an objection on legitimate interest, and who withdrew it

An objection to processing on legitimate interest made by request stops that processing from its receipt
while the DPO assesses it (Art. 21(1) GDPR): `assessment` is pending, then upheld or overridden by compelling
legitimate grounds (`grounds`, `assessed_at`, `assessed_by`). `lifted_by` and `lift_reference` record who
withdrew an objection (the person, or staff on the person's recorded word) or that the DPO's grounds lifted it.
Existing objections stay in force as they were (no assessment).

Revision ID: 0017_objection_assessment
Revises: 0016_consent_proof
Create Date: 2026-12-02 05:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import kluis.db

revision: str = "0017_objection_assessment"
down_revision: str | None = "0016_consent_proof"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("objection", schema=None) as batch_op:
        batch_op.add_column(sa.Column("assessment", sa.String(length=12), nullable=True))
        batch_op.add_column(sa.Column("grounds", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("assessed_at", kluis.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("assessed_by", sa.String(length=120), nullable=True))
        batch_op.add_column(sa.Column("lifted_by", sa.String(length=12), nullable=True))
        batch_op.add_column(sa.Column("lift_reference", sa.String(length=80), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("objection", schema=None) as batch_op:
        for column in ("lift_reference", "lifted_by", "assessed_by", "assessed_at", "grounds", "assessment"):
            batch_op.drop_column(column)
