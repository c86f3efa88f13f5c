"""audit log: events numbered without a shared head, sealed later with a key kept outside the database

The one-row chain head, which every audited transaction locked until it committed, is gone. Events take
their number from a sequence (PostgreSQL) or the rowid (SQLite); `audit_link` holds the sealer's keyed links
and `audit_seal` its watermark. Existing events keep their unkeyed links, still verified, and are sealed like
new ones by the first sealer pass (the watermark starts at 0). See docs/adr/0002-audit-sealing.md.

Revision ID: 0020_audit_sealed
Revises: 0019_activity_source
Create Date: 2026-12-02 05:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import kluis.db
from kluis.audit.rules import canonical, link_hash

revision: str = "0020_audit_sealed"
down_revision: str | None = "0019_activity_source"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GENESIS = "0" * 64
_SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "audit_link",
        sa.Column("seq", _SEQ, autoincrement=False, nullable=False),
        sa.Column("gap_before", sa.Integer(), nullable=False),
        sa.Column("mac", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_audit_link")),
    )
    seal = op.create_table(
        "audit_seal",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("sealed_seq", _SEQ, nullable=False),
        sa.Column("sealed_mac", sa.String(length=64), nullable=False),
        sa.Column("safe_to", _SEQ, nullable=False),
        sa.Column("horizons", sa.JSON(), nullable=False),
        sa.Column("key_id", sa.String(length=32), nullable=True),
        sa.Column("sealed_at", kluis.db.UTCDateTime(), nullable=True),
        sa.Column("mac", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_seal")),
    )
    op.bulk_insert(seal, [{"id": 1, "sealed_seq": 0, "sealed_mac": GENESIS, "safe_to": 0, "horizons": [],
                           "key_id": None, "sealed_at": None, "mac": None}])
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.alter_column("prev_hash", existing_type=sa.String(length=64), nullable=True)
        batch_op.alter_column("hash", existing_type=sa.String(length=64), nullable=True)
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE SEQUENCE audit_event_seq")
        op.execute("SELECT setval('audit_event_seq', seq) FROM audit_head WHERE id = 1 AND seq > 0")
    op.drop_table("audit_head")


def downgrade() -> None:
    """Back to one head: events written since get the unkeyed links the old scheme expects."""
    head = op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("seq", _SEQ, nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_head")),
    )
    events = sa.table("audit_event", sa.column("seq", _SEQ), sa.column("at", kluis.db.UTCDateTime()),
                      sa.column("actor", sa.String()), sa.column("action", sa.String()),
                      sa.column("object_type", sa.String()), sa.column("object_ids", sa.JSON()),
                      sa.column("details", sa.JSON()), sa.column("prev_hash", sa.String()),
                      sa.column("hash", sa.String()))
    connection = op.get_bind()
    prev, seq = GENESIS, 0
    for row in connection.execute(sa.select(events).order_by(events.c.seq)).all():
        if row.hash is None:  # renumbered without gaps, as the old chain requires
            seq += 1
            body = canonical(seq, row.at, row.actor, row.action, row.object_type, row.object_ids, row.details, prev)
            digest = link_hash(prev, body)
            connection.execute(events.update().where(events.c.seq == row.seq)
                               .values(seq=seq, prev_hash=prev, hash=digest))
            prev = digest
        else:
            seq, prev = row.seq, row.hash
    op.bulk_insert(head, [{"id": 1, "seq": seq, "hash": prev}])
    if connection.dialect.name == "postgresql":
        op.execute("DROP SEQUENCE audit_event_seq")
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.alter_column("prev_hash", existing_type=sa.String(length=64), nullable=False)
        batch_op.alter_column("hash", existing_type=sa.String(length=64), nullable=False)
    op.drop_table("audit_seal")
    op.drop_table("audit_link")
