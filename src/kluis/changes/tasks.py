"""The policy's pollers of the worker (``name`` and ``poll(kluis)``, see ``kluis.worker``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from kluis.changes.announcements import announce_next
from kluis.changes.repository import PAGE
from kluis.changes.restamp import BATCH, restamp_next

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


@dataclass
class RestampPoller:
    """Once a version that changes retention takes effect, date the records again under it, a batch per transaction
    with its cursor on the version."""

    batch: int = BATCH
    name: str = "policy_redating"

    def poll(self, kluis: Kluis) -> int:
        with kluis.db.transaction() as session:
            return restamp_next(session, kluis, WORKER, self.batch)
