"""The complaints poller of the worker (``name`` and ``poll(kluis)``, see ``kluis.worker``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from kluis.complaints.service import Complaints

if TYPE_CHECKING:
    from kluis.wiring import Kluis

WORKER = "worker"


@dataclass
class ComplaintPoller:
    """R-GOV-2: remind the handler and the DPOs before a complaint's deadline and once it is overdue, and let
    privacy-centre complaints never confirmed lapse. Idempotent (each reminder is recorded on the complaint,
    rows are locked with SKIP LOCKED), so any number of workers may run it."""

    batch: int = 500
    name: str = "complaints"

    def poll(self, kluis: Kluis) -> int:
        with kluis.db.transaction() as session:
            complaints = Complaints(session, kluis, WORKER)
            return complaints.send_reminders(self.batch) + complaints.lapse_unverified(self.batch)
