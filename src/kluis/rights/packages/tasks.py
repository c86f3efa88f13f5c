"""The packages' poller of the worker (``name`` and ``poll(kluis)``, see ``kluis.worker``)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from kluis import jobs
from kluis.rights.models import AccessPackage
from kluis.rights.packages.archive import write_access_package
from kluis.rights.packages.service import Builder, Packages
from kluis.rights.service import Rights

if TYPE_CHECKING:
    from kluis.wiring import Kluis

log = logging.getLogger("kluis.rights")
WORKER = "worker"


@dataclass
class PackagePoller:
    """R-DSR-3/4: build one queued package per poll, and delete the packages whose link expired.

    The claim commits on its own; the build, the request's completion and the person's mail commit
    together, so a package is either ready and announced or not there at all. A failed build is retried
    with backoff (``rights.rules.PACKAGE_RETRY``) up to ``KLUIS_PACKAGE_MAX_ATTEMPTS`` times.
    """

    builder: Builder = field(default=write_access_package)
    name: str = "rights_packages"

    def poll(self, kluis: Kluis) -> int:
        with kluis.db.transaction() as session:
            expired = Packages(session, kluis, WORKER).expire_due()
        built = jobs.poll(kluis.db, _Building(kluis, self.builder), jobs.new_owner(), 1)
        return expired + len(built.outcomes)


@dataclass(frozen=True)
class _Building:
    """The packages' job handler: one claimed package built, or its failure recorded for a retry."""

    kluis: Kluis
    builder: Builder

    def claim(self, session: Session, owner: str, limit: int) -> jobs.Claim[AccessPackage]:
        return Packages(session, self.kluis, WORKER).claim(owner, limit)

    def handle(self, package: AccessPackage) -> None:
        kluis, token = self.kluis, package.locked_by or ""
        try:
            with kluis.db.transaction() as session:
                built = Packages(session, kluis, WORKER).build(package.id, token, self.builder)
                if built is not None:
                    Rights(session, kluis, WORKER).package_ready(built)
        except Exception as exc:  # its text may hold personal data: keep the class only
            code = getattr(exc, "code", None) or f"build_{type(exc).__name__}"
            with kluis.db.transaction() as session:
                state = Packages(session, kluis, WORKER).failed(package.id, token, str(code))
            log.warning("package %s not built (%s); now %s", package.id, code, state)
