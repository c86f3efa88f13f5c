"""audit log: every verification records what it found, so the console reads the verified state instead of
walking the log per page (docs/audit.md)

Revision ID: 0025_audit_verification
Revises: 0024_policy_versions
Create Date: 2026-12-03 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import kluis.db

revision: str = "0025_audit_verification"
down_revision: str | None = "0024_policy_versions"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "audit_verification",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", kluis.db.UTCDateTime(), nullable=False),
        sa.Column("by", sa.String(length=16), nullable=False),
        sa.Column("full", sa.Boolean(), nullable=False),
        sa.Column("from_seq", _SEQ, nullable=False),
        sa.Column("through_seq", _SEQ, nullable=False),
        sa.Column("through_mac", sa.String(length=64), nullable=False),
        sa.Column("checked", sa.Integer(), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("broken_seq", _SEQ, nullable=True),
        sa.Column("reason", sa.String(length=400), nullable=False),
        sa.Column("unsealed", sa.Integer(), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=False),
        sa.Column("full_at", kluis.db.UTCDateTime(), nullable=False),
        sa.Column("key_id", sa.String(length=32), nullable=False),
        sa.Column("mac", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_verification")),
    )


def downgrade() -> None:
    op.drop_table("audit_verification")
