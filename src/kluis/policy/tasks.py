"""The policy's poller of the worker (``name`` and ``poll(kluis)``, see ``kluis.worker``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from kluis.policy.announcements import announce_next
from kluis.policy.repository import PAGE

if TYPE_CHECKING:
    from kluis.wiring import Kluis

WORKER = "worker"


@dataclass
class AnnouncementPoller:
    """R-GOV-4: queue the mails about a version's material changes, one batch of people per transaction with its
    cursor; stopped anywhere, it resumes after the last committed batch."""

    batch: int = PAGE
    name: str = "policy_announcements"

    def poll(self, kluis: Kluis) -> int:
        with kluis.db.transaction() as session:
            return announce_next(session, kluis, WORKER, self.batch)
