"""object keys: keys of things that are no person's (an order's document), kept in the key store

Revision ID: 0003_keys
Revises: 0002_keys
Create Date: 2026-12-02 13:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import kluis.db

revision: str = "0003_keys"
down_revision: str | None = "0002_keys"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "object_key",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("wrapped", sa.LargeBinary(), nullable=False),
        sa.Column("kek_id", sa.String(length=16), nullable=False),
        sa.Column("created_at", kluis.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_object_key")),
    )
    with op.batch_alter_table("object_key", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_object_key_kek_id"), ["kek_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("object_key", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_object_key_kek_id"))
    op.drop_table("object_key")
