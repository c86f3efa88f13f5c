"""policy versions (R-POL-3, R-GOV-4): a version's content is stored, so it is enforced from its moment and
shown at /privacy?version=N; the announcement of a version's material changes, and the re-dating of the records
when it takes effect, record their progress

Revision ID: 0024_policy_versions
Revises: 0023_orders
Create Date: 2026-12-03 05:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import kluis.db

revision: str = "0024_policy_versions"
down_revision: str | None = "0023_orders"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("policy_version", schema=None) as batch_op:
        batch_op.add_column(sa.Column("content", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("published_by", sa.String(length=120), nullable=True))
        batch_op.add_column(sa.Column("restamp_after", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("restamped_at", kluis.db.UTCDateTime(timezone=True), nullable=True))
    # The records were dated under the versions stored so far.
    op.execute("UPDATE policy_version SET restamped_at = loaded_at")
    op.create_table(
        "policy_announcement",
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("after", sa.Uuid(), nullable=True),
        sa.Column("mailed", sa.Integer(), nullable=False),
        sa.Column("renewals", sa.Integer(), nullable=False),
        sa.Column("skipped", sa.Integer(), nullable=False),
        sa.Column("unreachable", sa.Integer(), nullable=False),
        sa.Column("started_at", kluis.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("done_at", kluis.db.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint("state IN ('running', 'done')", name=op.f("ck_policy_announcement_state")),
        sa.ForeignKeyConstraint(["seq"], ["policy_version.seq"],
                                name=op.f("fk_policy_announcement_seq_policy_version")),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_policy_announcement")),
    )


def downgrade() -> None:
    op.drop_table("policy_announcement")
    with op.batch_alter_table("policy_version", schema=None) as batch_op:
        batch_op.drop_column("restamped_at")
        batch_op.drop_column("restamp_after")
        batch_op.drop_column("published_by")
        batch_op.drop_column("content")
