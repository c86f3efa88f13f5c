"""The worker's side of held messages (``kluis.mail.addressing``): the steps a crash left waiting."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from kluis.mail import addressing

if TYPE_CHECKING:
    from kluis.wiring import Kluis

log = logging.getLogger("kluis.mail")
WORKER = "worker"


@dataclass
class AddressingPoller:
    """R-DSR-1: run the step of every held message whose page did not run it after its answer (the process died
    first), each in a transaction of its own; a page's step running at the same time is not run twice."""

    batch: int = 50
    name: str = "mail_addressing"

    def poll(self, kluis: Kluis) -> int:
        with kluis.db.sessions() as session:
            found = addressing.waiting(session, self.batch)
        done = 0
        for outbox_id in found:
            try:
                with kluis.db.transaction() as session:
                    done += addressing.address(session, kluis, outbox_id, WORKER)
            except Exception as exc:  # the others go on; it waits for the next poll. Its text may hold values.
                log.error("mail %s: its step failed: %s", outbox_id, type(exc).__name__)
        return done
