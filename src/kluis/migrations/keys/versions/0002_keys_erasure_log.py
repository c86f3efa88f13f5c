"""erasure log: what a restored backup would undo (docs/adr/0010-erasure-log.md)

Revision ID: 0002_keys
Revises: 0001_keys
Create Date: 2026-12-02 08:43:25.215512
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import kluis.db

revision: str = "0002_keys"
down_revision: str | None = "0001_keys"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "erasure_log",
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("at", kluis.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("key_id", sa.Uuid(), nullable=True),
        sa.Column("job_id", sa.Uuid(), nullable=True),
        sa.Column("reason", sa.String(length=40), nullable=False),
        sa.Column("list_id", sa.String(length=40), nullable=True),
        sa.Column("digests", sa.JSON(), nullable=True),
        sa.Column("key_created_at", kluis.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_erasure_log")),
        sa.UniqueConstraint("id", name=op.f("uq_erasure_log_id")),
    )
    with op.batch_alter_table("erasure_log", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_erasure_log_at"), ["at"], unique=False)
        batch_op.create_index(batch_op.f("ix_erasure_log_key_id"), ["key_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("erasure_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_erasure_log_key_id"))
        batch_op.drop_index(batch_op.f("ix_erasure_log_at"))
    op.drop_table("erasure_log")
