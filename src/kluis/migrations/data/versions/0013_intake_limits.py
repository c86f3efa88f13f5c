"""privacy centre intake: rate-limit windows, the address digest of unverified requests, expiry

`intake_limit` holds one window per client network or target address, keyed by a keyed digest (no IP or
e-mail address). `data_subject_request.address_key` is that digest for a request awaiting its code, and the
(state, received_at) index finds unverified requests that have expired.

Revision ID: 0013_intake_limits
Revises: 0012_rectification_record_index
Create Date: 2026-11-25 23:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import kluis.db

revision: str = "0013_intake_limits"
down_revision: str | None = "0012_rectification_record_index"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "intake_limit",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("window_start", kluis.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_intake_limit")),
    )
    with op.batch_alter_table("intake_limit", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_intake_limit_window_start"), ["window_start"], unique=False)
    with op.batch_alter_table("data_subject_request", schema=None) as batch_op:
        batch_op.add_column(sa.Column("address_key", sa.String(length=64), nullable=True))
        batch_op.create_index("ix_dsr_state_received", ["state", "received_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("data_subject_request", schema=None) as batch_op:
        batch_op.drop_index("ix_dsr_state_received")
        batch_op.drop_column("address_key")
    with op.batch_alter_table("intake_limit", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_intake_limit_window_start"))
    op.drop_table("intake_limit")
