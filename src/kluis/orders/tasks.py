"""Deleting expired order exports as a worker poller (``name`` and ``poll(kluis)``, see ``kluis.worker``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kluis.orders.service import Orders

if TYPE_CHECKING:
    from kluis.wiring import Kluis


class ExportExpiryPoller:
    """R-SHR-3: an export's ciphertext is deleted once its link has expired (a batch per poll)."""

    name = "order_exports"

    def poll(self, kluis: Kluis) -> int:
        with kluis.db.transaction() as session:
            return Orders(session, kluis, "worker").expire_due()
