"""The breach register's pollers of the worker (``name`` and ``poll(kluis)``, see ``kluis.worker``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from kluis.breaches.service import NOTIFY_BATCH, Breaches

if TYPE_CHECKING:
    from kluis.wiring import Kluis

WORKER = "worker"


class DeadlinePoller:
    """R-GOV-3: mail the DPOs 24 h and 4 h before the AP deadline and when it passed unfiled. Each reminder is
    recorded on the breach in the transaction that queues its mails, so it goes out once, whichever worker
    runs it."""

    name = "breach_deadlines"

    def poll(self, kluis: Kluis) -> int:
        with kluis.db.transaction() as session:
            return Breaches(session, kluis, WORKER).send_reminders()


@dataclass
class NotifyPoller:
    """R-GOV-3 / Art. 34: queue the mails to the people of a high-risk breach, one batch per transaction with its
    cursor; stopped anywhere, it resumes after the last committed batch."""

    batch: int = NOTIFY_BATCH
    name: str = "breach_notify"

    def poll(self, kluis: Kluis) -> int:
        with kluis.db.transaction() as session:
            return Breaches(session, kluis, WORKER).notify_next(self.batch)
