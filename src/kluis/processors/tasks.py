"""The processors register's poller of the worker (``name`` and ``poll(kluis)``, see ``kluis.worker``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kluis.processors.service import send_reminders

if TYPE_CHECKING:
    from kluis.wiring import Kluis

WORKER = "worker"


class AgreementPoller:
    """R-SHR-2: mail every DPO 60 and 14 days before a data-processing agreement ends (Amsterdam days). Each
    reminder is recorded in the transaction that queues its mails, so it goes out once, whichever worker runs it."""

    name = "agreement_reminders"

    def poll(self, kluis: Kluis) -> int:
        with kluis.db.transaction() as session:
            return send_reminders(session, kluis, WORKER)
