"""The job as one transaction of an erasure run holds it, and what its steps share (``steps``, ``partial``)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy.orm import Session

from kluis.erasure import notices, rules
from kluis.erasure.models import ErasureJob
from kluis.retention import holds as retention_holds

if TYPE_CHECKING:
    from kluis.wiring import Kluis

__all__ = ["AfterCommit", "HeldJob", "Identities", "Runner", "Waiting"]

Identities = list[tuple[str, str | None, str]]  # (kind, scope, value) in the clear, for the service databases
AfterCommit = Callable[[], None]


class Runner(Protocol):
    """What the steps use of the runner that holds the job (``kluis.erasure.service.Runner``)."""

    kluis: Kluis
    actor: str
    erases_under_row_lock: bool

    def remember(self, job_id: uuid.UUID, result: dict[str, Any]) -> None: ...

    def wait(self, session: Session, job: ErasureJob, message: str) -> None: ...


class Waiting(Exception):
    """A step cannot run yet; the job waits and is tried again later, with the reason shown to staff."""


@dataclass
class HeldJob:
    """The job as one transaction of a run holds it, and what its steps read once and share."""

    runner: Runner
    session: Session
    job: ErasureJob
    any_hold: bool  # whether any legal hold is in force at all (read with the job's lock)
    _holds: list[Any] | None = field(default=None, init=False)

    @property
    def kluis(self) -> Kluis:
        return self.runner.kluis

    def holds(self) -> list[Any]:
        """The legal holds in force on the person's data, read once per transaction (none when none is in force)."""
        if self._holds is None:
            self._holds = retention_holds.held_if_any(self.session, self.kluis.clock, self.job.person_id,
                                                      self.any_hold)
        return self._holds

    def unless_held(self) -> None:
        """R-RET-3: a legal hold on the person or their employer stops the erasure for as long as it holds. The
        person is told once; the job waits."""
        whole = [h for h in self.holds() if rules.whole_person_hold(h.scope)]
        if whole:
            notices.tell_held(self.session, self.kluis, self.runner.actor, self.job, whole)
            raise Waiting(_hold_text(whole[0]))


def _hold_text(hold: Any) -> str:
    until = f" until {rules.as_amsterdam_date(hold.until)}" if hold.until else " until it is released"
    return (f"a legal hold ({hold.reason}{', ' + hold.reference if hold.reference else ''}) covers this "
            f"person's data{until}: nothing is erased while it holds")
