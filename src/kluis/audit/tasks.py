"""The worker's sealer: links what was committed since the last pass (R-GOV-1)."""

from __future__ import annotations

import logging

from kluis.audit import sealer
from kluis.audit.keys import audit_key
from kluis.kit.errors import ConfigurationError
from kluis.wiring import Kluis

log = logging.getLogger("kluis.audit")


class SealPoller:
    name = "audit_seal"

    def __init__(self) -> None:
        self._told = False

    def poll(self, kluis: Kluis) -> int:
        try:
            key = audit_key(kluis.settings.audit_key)
        except ConfigurationError as exc:
            if not self._told:  # once per worker: the log says it, not every poll
                log.error("audit log not sealed: %s", exc.message)
                self._told = True
            return 0
        return sealer.seal_pass(kluis.db, key, kluis.clock).sealed
