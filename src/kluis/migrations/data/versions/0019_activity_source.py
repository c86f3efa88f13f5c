"""person.last_activity_at: the person's own last activity; retention_sweep.held: what holds kept back

R-RET-1: only what the person did keeps their marketing data; a record from anyone else (an aggregator,
a partner, an employer) runs from the person's last own activity instead of starting a clock of its own.
Existing people get the latest last activity among their records from themselves (source 'direct', the
shipped policy's only source from the person; a migration must not change when the policy does).
`kluis retention stamp --all` then re-dates existing records from others.

R-RET-2: each sweep run keeps the records it left because a legal hold covered them, per rule and hold.

Revision ID: 0019_activity_source
Revises: 0018_overdue_notice
Create Date: 2026-12-02 05:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import kluis.db

revision: str = "0019_activity_source"
down_revision: str | None = "0018_overdue_notice"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("person", schema=None) as batch_op:
        batch_op.add_column(sa.Column("last_activity_at", kluis.db.UTCDateTime(timezone=True), nullable=True))
    with op.batch_alter_table("retention_sweep", schema=None) as batch_op:
        batch_op.add_column(sa.Column("held", sa.JSON(), nullable=True))
    person = sa.table("person", sa.column("id", sa.Uuid()), sa.column("last_activity_at", kluis.db.UTCDateTime()))
    record = sa.table("record", sa.column("person_id", sa.Uuid()), sa.column("source", sa.String()),
                      sa.column("last_activity_at", kluis.db.UTCDateTime()))
    own = sa.and_(record.c.person_id == person.c.id, record.c.source == "direct")
    op.execute(person.update().where(sa.exists().where(own))
               .values(last_activity_at=sa.select(sa.func.max(record.c.last_activity_at)).where(own)
                       .scalar_subquery()))


def downgrade() -> None:
    with op.batch_alter_table("retention_sweep", schema=None) as batch_op:
        batch_op.drop_column("held")
    with op.batch_alter_table("person", schema=None) as batch_op:
        batch_op.drop_column("last_activity_at")
