"""The worker's audit jobs: the sealer links what was committed since the last pass, and the chain is verified
on a schedule so that pages read its verified state instead of walking it (R-GOV-1)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from kluis.audit import sealer, verifications
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


class VerifyPoller:
    """Verifies the log every ``KLUIS_AUDIT_VERIFY_MINUTES`` (whichever worker or `kluis audit verify` ran last),
    walking all of it every ``KLUIS_AUDIT_FULL_VERIFY_HOURS`` (``verifications`` says why)."""

    name = "audit_verify"

    def __init__(self) -> None:
        self._next: datetime | None = None  # not before then: no read of the newest run on every poll

    def poll(self, kluis: Kluis) -> int:
        now = kluis.clock.now()
        if self._next is not None and now < self._next:
            return 0
        try:
            key = audit_key(kluis.settings.audit_key)
        except ConfigurationError:
            return 0  # the sealer says so, once
        every = verifications.verify_interval(kluis.settings)
        with kluis.db.sessions() as session:
            newest = verifications.newest(session)
            if not verifications.due(newest, key, now, every):
                self._next = newest.at + every if newest else None
                return 0
        done = verifications.run(kluis.db, key, kluis.clock, by=verifications.WORKER,
                                 full_every=timedelta(hours=kluis.settings.audit_full_verify_hours))
        if not done.ok:
            log.error("audit chain broken at event %s: %s", done.broken_seq, done.reason)
        self._next = kluis.clock.now() + every
        return 1
