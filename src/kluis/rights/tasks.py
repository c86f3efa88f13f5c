"""The rights pollers of the worker (``name`` and ``poll(kluis)``, see ``kluis.worker``)."""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from kluis.rights import intake
from kluis.rights.package import write_access_package
from kluis.rights.packages import Builder, Packages
from kluis.rights.service import Rights

if TYPE_CHECKING:
    from kluis.wiring import Kluis

log = logging.getLogger("kluis.rights")
WORKER = "worker"


class ReminderPoller:
    """R-DSR-2: queue the 7- and 2-day deadline reminders that are due, and tell the DPOs of each request that
    has just passed its deadline; idempotent, so any worker may run it."""

    name = "rights_reminders"

    def poll(self, kluis: Kluis) -> int:
        with kluis.db.transaction() as session:
            rights = Rights(session, kluis, WORKER)
            return rights.send_reminders() + rights.tell_overdue()


@dataclass
class UnverifiedPoller:
    """R-DSR-1: close privacy-centre requests never verified in time, one batch per transaction, and delete the
    intake's passed rate-limit windows. Idempotent, and workers running it together skip each other's rows."""

    batch: int = 500
    name: str = "rights_unverified"

    def poll(self, kluis: Kluis) -> int:
        with kluis.db.transaction() as session:
            expired = intake.expire_unverified(session, kluis, WORKER, self.batch)
            intake.prune(session, kluis, kluis.clock.now())
        return expired


@dataclass
class PackagePoller:
    """R-DSR-3/4: build one queued package per poll, and delete the packages whose link expired.

    The claim commits on its own; the build, the request's completion and the person's mail commit
    together, so a package is either ready and announced or not there at all. A failed build is retried
    with backoff (``rights.rules.package_retry_delay``) up to ``KLUIS_PACKAGE_MAX_ATTEMPTS`` times.
    """

    builder: Builder = field(default=write_access_package)
    name: str = "rights_packages"

    def poll(self, kluis: Kluis) -> int:
        with kluis.db.transaction() as session:
            expired = Packages(session, kluis, WORKER).expire_due()
        token = secrets.token_hex(16)
        with kluis.db.transaction() as session:
            claimed = [p.id for p in Packages(session, kluis, WORKER).claim(token)]
        for package_id in claimed:
            try:
                with kluis.db.transaction() as session:
                    built = Packages(session, kluis, WORKER).build(package_id, token, self.builder)
                    if built is not None:
                        Rights(session, kluis, WORKER).package_ready(built)
            except Exception as exc:  # its text may hold personal data: keep the class only
                code = getattr(exc, "code", None) or f"build_{type(exc).__name__}"
                with kluis.db.transaction() as session:
                    state = Packages(session, kluis, WORKER).failed(package_id, token, str(code))
                log.warning("package %s not built (%s); now %s", package_id, code, state)
        return expired + len(claimed)
