"""person.keep_until: the latest due date among a person's records

The retention sweep erases a person entirely once nothing of theirs is left; it now finds the candidates
through this indexed column (kluis.retention.keep) instead of probing the records of everyone who lost
one. Existing people get it computed from their records: NULL without records, the far-future OPEN
mark while any record has no due date, else the latest due date.

Revision ID: 0014_person_keep_until
Revises: 0013_intake_limits
Create Date: 2026-11-26 01:40:00
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import kluis.db

revision: str = "0014_person_keep_until"
down_revision: str | None = "0013_intake_limits"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# As kluis.retention.keep.OPEN, written out: a migration must not change when the code does.
OPEN = datetime(9999, 12, 31, tzinfo=UTC)


def upgrade() -> None:
    with op.batch_alter_table("person", schema=None) as batch_op:
        batch_op.add_column(sa.Column("keep_until", kluis.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f("ix_person_keep_until"), ["keep_until"], unique=False)
    person = sa.table("person", sa.column("id", sa.Uuid()), sa.column("keep_until", kluis.db.UTCDateTime()))
    record = sa.table("record", sa.column("id", sa.Uuid()), sa.column("person_id", sa.Uuid()),
                      sa.column("due_at", kluis.db.UTCDateTime()))
    exact = (sa.select(sa.case((sa.func.count(record.c.id) > sa.func.count(record.c.due_at),
                                sa.literal(OPEN, kluis.db.UTCDateTime())),
                               else_=sa.func.max(record.c.due_at)))
             .where(record.c.person_id == person.c.id).scalar_subquery())
    op.execute(person.update().where(sa.exists().where(record.c.person_id == person.c.id))
               .values(keep_until=exact))


def downgrade() -> None:
    with op.batch_alter_table("person", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_person_keep_until"))
        batch_op.drop_column("keep_until")
