"""outbox: messages numbered in the order written (``seq``), the claim's tiebreak (R-DSR-2)

Messages written in one transaction share their ``next_attempt_at`` and have random ids, so the claim took them in
whatever order the database found them, and a person could get a request's step mails out of order. ``seq`` numbers
them as they are written: from the sequence ``outbox_seq`` on PostgreSQL, after the highest number on SQLite (one
writer; ``ix_outbox_seq``, unique, finds it). Existing messages are numbered by ``created_at``, and those written
at one instant by their rowid on SQLite (the order written) and by id on PostgreSQL (which kept no order).

Revision ID: 0037_outbox_order
Revises: 0036_person_keyed_rest
Create Date: 2026-12-03 15:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0037_outbox_order"
down_revision: str | None = "0036_person_keyed_rest"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_NUMBER = ("UPDATE outbox SET seq = numbered.n FROM (SELECT id, row_number() OVER (ORDER BY created_at, {}) AS n"
           " FROM outbox) AS numbered WHERE outbox.id = numbered.id")
_NUMBER_BY_PG, _NUMBER_BY_SQLITE = _NUMBER.format("id"), _NUMBER.format("rowid")


def upgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    op.add_column("outbox", sa.Column("seq", _SEQ, nullable=True))
    op.execute(_NUMBER_BY_PG if postgresql else _NUMBER_BY_SQLITE)
    if postgresql:
        op.execute("CREATE SEQUENCE outbox_seq")
        op.execute("SELECT setval('outbox_seq', max(seq)) FROM outbox HAVING max(seq) IS NOT NULL")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.alter_column("seq", existing_type=_SEQ, nullable=False)
        batch_op.create_index("ix_outbox_seq", ["seq"], unique=True)


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_seq")
        batch_op.drop_column("seq")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP SEQUENCE outbox_seq")
