"""intake_limit: a sliding log of hit times instead of a fixed window's count

A fixed window let twice the limit through around its edge. Each row now keeps the times of the hits still
inside its window (`hits`, ISO instants, oldest first) and the latest of them (`last_hit`, indexed, for
pruning). An existing window becomes a log of its count at its start: conservative, and gone within a day.

Revision ID: 0015_intake_sliding_log
Revises: 0014_person_keep_until
Create Date: 2026-11-26 05:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import kluis.db

revision: str = "0015_intake_sliding_log"
down_revision: str | None = "0014_person_keep_until"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("intake_limit", schema=None) as batch_op:
        batch_op.add_column(sa.Column("hits", sa.JSON(), nullable=True))
    limits = sa.table("intake_limit", sa.column("key", sa.String()), sa.column("count", sa.Integer()),
                      sa.column("window_start", kluis.db.UTCDateTime()), sa.column("hits", sa.JSON()))
    connection = op.get_bind()
    for key, count, start in connection.execute(sa.select(limits.c.key, limits.c.count, limits.c.window_start)).all():
        connection.execute(limits.update().where(limits.c.key == key).values(hits=[start.isoformat()] * count))
    # One change per batch: SQLite rebuilds the table for each, and an index on a renamed column confuses one.
    with op.batch_alter_table("intake_limit", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_intake_limit_window_start"))
    with op.batch_alter_table("intake_limit", schema=None) as batch_op:
        batch_op.alter_column("hits", existing_type=sa.JSON(), nullable=False)
        batch_op.alter_column("window_start", new_column_name="last_hit",
                              existing_type=sa.DateTime(timezone=True), existing_nullable=False)
        batch_op.drop_column("count")
    with op.batch_alter_table("intake_limit", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_intake_limit_last_hit"), ["last_hit"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("intake_limit", schema=None) as batch_op:
        batch_op.add_column(sa.Column("count", sa.Integer(), nullable=True))
    limits = sa.table("intake_limit", sa.column("key", sa.String()), sa.column("count", sa.Integer()),
                      sa.column("hits", sa.JSON()))
    connection = op.get_bind()
    for key, hits in connection.execute(sa.select(limits.c.key, limits.c.hits)).all():
        connection.execute(limits.update().where(limits.c.key == key).values(count=len(hits or [])))
    with op.batch_alter_table("intake_limit", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_intake_limit_last_hit"))
    with op.batch_alter_table("intake_limit", schema=None) as batch_op:
        batch_op.alter_column("count", existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column("last_hit", new_column_name="window_start",
                              existing_type=sa.DateTime(timezone=True), existing_nullable=False)
        batch_op.drop_column("hits")
    with op.batch_alter_table("intake_limit", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_intake_limit_window_start"), ["window_start"], unique=False)
