"""Erasure jobs as a worker poller (``name`` and ``poll(kluis)``, see ``kluis.worker``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kluis.erasure.service import Runner

if TYPE_CHECKING:
    from kluis.wiring import Kluis


class ErasurePoller:
    """Run due erasure jobs; a job a dead worker left is taken over once its lease has run out."""

    name = "erasure"

    def poll(self, kluis: Kluis) -> int:
        return Runner(kluis, actor="worker").run_due()
