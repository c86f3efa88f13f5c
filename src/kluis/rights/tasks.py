"""The reminder sweep as a worker poller (``name`` and ``poll(kluis)``, see ``kluis.worker``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kluis.rights.service import Rights

if TYPE_CHECKING:
    from kluis.wiring import Kluis


class ReminderPoller:
    """R-DSR-2: queue the 7- and 2-day deadline reminders that are due; idempotent, so any worker may run it."""

    name = "rights_reminders"

    def poll(self, kluis: Kluis) -> int:
        with kluis.db.transaction() as session:
            return Rights(session, kluis, "worker").send_reminders()
