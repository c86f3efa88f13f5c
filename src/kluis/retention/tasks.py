"""The daily sweep as a worker poller (``name`` and ``poll(kluis)``, see ``kluis.worker``)."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy import func, select

from kluis.retention.models import SweepRun
from kluis.retention.sweep import sweep

if TYPE_CHECKING:
    from kluis.wiring import Kluis

EVERY = timedelta(days=1)


class SweepPoller:
    """R-RET-2: once a day, erase what is due. A sweep that was stopped did not finish, so the next poll
    runs one again at once; two workers sweeping together never erase a record twice."""

    name = "retention_sweep"

    def poll(self, kluis: Kluis) -> int:
        with kluis.db.sessions() as session:
            last = session.scalar(select(func.max(SweepRun.finished_at)))
        if last is not None and kluis.clock.now() - last < EVERY:
            return 0
        return sweep(kluis, actor="worker").records
