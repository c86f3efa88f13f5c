"""The rights pollers of the worker (``name`` and ``poll(kluis)``, see ``kluis.worker``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from kluis.rights import intake
from kluis.rights.service import Rights

if TYPE_CHECKING:
    from kluis.wiring import Kluis

WORKER = "worker"


class ReminderPoller:
    """R-DSR-2: queue the 7- and 2-day deadline reminders that are due, and tell the DPOs of each request that
    has just passed its deadline; idempotent, so any worker may run it."""

    name = "rights_reminders"

    def poll(self, kluis: Kluis) -> int:
        with kluis.db.transaction() as session:
            rights = Rights(session, kluis, WORKER)
            return rights.send_reminders() + rights.tell_overdue()


@dataclass
class UnverifiedPoller:
    """R-DSR-1: close privacy-centre requests never verified in time, one batch per transaction, and delete the
    intake's passed rate-limit windows. Idempotent, and workers running it together skip each other's rows."""

    batch: int = 500
    name: str = "rights_unverified"

    def poll(self, kluis: Kluis) -> int:
        with kluis.db.transaction() as session:
            expired = intake.expire_unverified(session, kluis, WORKER, self.batch)
            intake.prune(session, kluis, kluis.clock.now())
        return expired
