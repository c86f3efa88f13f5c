"""One transaction for a service's write, lookup or read that the gate must allow first (R-GATE-1, R-GATE-2)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from sqlalchemy.orm import Session

from kluis.access.service import Caller
from kluis.gate.service import Question
from kluis.wiring import Kluis


@contextmanager
def gated(kluis: Kluis, caller: Caller, operation: str, purpose: str, questions: Sequence[Question],
          write: str | None = None) -> Iterator[Session]:
    """The transaction to write in, once the gate allows every question (``Gate.refusals``; ``write``: the basis
    write this is, which the policy may exempt). Refused: the refusal's audit event is committed on its own and
    403 ``processing_refused`` is raised with the reason for each refused item; nothing else is written."""
    with kluis.db.transaction() as session:
        gate = kluis.gate(session, caller.actor)
        refused = gate.refusals(questions, write)
        if not refused:
            yield session
            return
        error = gate.refuse(operation, purpose, refused)
    raise error
