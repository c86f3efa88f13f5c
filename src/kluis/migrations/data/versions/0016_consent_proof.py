"""consent_event: the language of the notice and the moment of recording, as part of the proof (R-CONS-1)

`lang` is the language of the notice or page the person used; existing rows take it from their notice, where
they have one. `recorded_at` is when the event was written down, which differs from `at` (when it took
effect) for an e-mail to the DPO registered later; existing rows were recorded when they took effect.

Revision ID: 0016_consent_proof
Revises: 0015_intake_sliding_log
Create Date: 2026-12-02 05:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import kluis.db

revision: str = "0016_consent_proof"
down_revision: str | None = "0015_intake_sliding_log"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("consent_event", schema=None) as batch_op:
        batch_op.add_column(sa.Column("recorded_at", kluis.db.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("lang", sa.String(length=2), nullable=True))
    events = sa.table("consent_event", sa.column("at", kluis.db.UTCDateTime()),
                      sa.column("recorded_at", kluis.db.UTCDateTime()), sa.column("lang", sa.String()),
                      sa.column("notice_hash", sa.String()))
    notices = sa.table("consent_notice", sa.column("hash", sa.String()), sa.column("lang", sa.String()))
    op.execute(events.update().values(recorded_at=events.c.at))
    op.execute(events.update().where(events.c.notice_hash.is_not(None)).values(
        lang=sa.select(notices.c.lang).where(notices.c.hash == events.c.notice_hash).scalar_subquery()))


def downgrade() -> None:
    with op.batch_alter_table("consent_event", schema=None) as batch_op:
        batch_op.drop_column("lang")
        batch_op.drop_column("recorded_at")
