"""Access and portability packages as jobs (R-DSR-3, R-DSR-4): queue, claim, build into the encrypted
store, retry, expire, and the download after a fresh e-mail code. Services never commit; the worker's and
the page's boundaries do. Every change writes one audit event (ids and counts only).
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kluis import jobs
from kluis.audit import service as audit
from kluis.kit.errors import Conflict, NotFound
from kluis.kit.ids import new_id
from kluis.mail import service as mail
from kluis.rights import mail as rights_mail
from kluis.rights import rules
from kluis.rights.codes import issue_code
from kluis.rights.models import PACKAGE_JOBS, AccessPackage, DataSubjectRequest, VerificationCode
from kluis.rights.packages.archive import write_access_package
from kluis.rights.packages.store import SealedWriter, delete_chunks, new_package_key, open_package_key, read_sealed
from kluis.rights.rules import PackageState

if TYPE_CHECKING:
    from kluis.wiring import Kluis

Builder = Callable[..., Any]  # write_access_package's signature; tests pass one that fails


class PackageExpired(Exception):  # noqa: N818 - it names the outcome the page shows (410)
    """The link's package is past its expiry (or already deleted)."""


@dataclass
class Packages:
    session: Session
    kluis: Kluis
    actor: str

    # --- the job -----------------------------------------------------------------------------

    def queue(self, request: DataSubjectRequest) -> AccessPackage:
        """One package for a verified access or portability request; refused while one is under way or ready."""
        if request.type not in rules.PACKAGE_TYPES or request.person_id is None:
            raise Conflict("only a verified access or portability request gets a package", code="not_a_package")
        query = select(AccessPackage.id).where(AccessPackage.request_id == request.id,
                                               AccessPackage.state.in_([s.value for s in rules.ACTIVE_PACKAGE]))
        controller_only = request.processor_role and request.instruction_at is None
        if not controller_only:
            # R-DSR-8: a package made before the employer's instruction held benVitaal's own data only.
            query = query.where(AccessPackage.controller_only.is_(False))
        active = self.session.scalars(query).first()
        if active is not None:
            raise Conflict("this request's package is already queued, being built or ready", code="package_exists")
        now = self._now()
        package = AccessPackage(id=new_id(), request_id=request.id, person_id=request.person_id,
                                portability=request.type == rules.RequestType.PORTABILITY, lang=request.lang,
                                controller_only=controller_only,
                                state=PackageState.QUEUED, attempts=0, next_attempt_at=now, downloads=0,
                                created_at=now)
        self.session.add(package)
        self.session.flush()
        self._audit(package, "package.queued")
        return package

    def claim(self, token: str, limit: int = 1) -> jobs.Claim[AccessPackage]:
        """Take due jobs for this worker (``token``) with the shared lease (``kluis.jobs``): queued ones whose
        attempt is due, and builds whose worker's lease ran out. An abandoned build that has used all its attempts
        is failed instead (``abandoned``); the claim's ``taken`` are this worker's to build."""
        settings = self.kluis.settings
        lease = timedelta(seconds=settings.package_lease_seconds)
        found = jobs.claim(self.session, PACKAGE_JOBS, self._now(), token, lease, limit=limit,
                           max_attempts=settings.package_max_attempts)
        for row in found.abandoned:
            row.state, row.last_error = PackageState.FAILED, "abandoned"
            jobs.release(row)
            self._audit(row, "package.build_failed", error="abandoned", attempts=row.attempts)
        self.session.flush()
        return found

    def build(self, package_id: uuid.UUID, token: str, builder: Builder = write_access_package) -> AccessPackage | None:
        """Write the ZIP encrypted into the store and make the package ready, all in the caller's transaction:
        a build that fails leaves no chunk behind. None when the claim was lost to another worker."""
        package = self._ours(package_id, token)
        if package is None:
            return None
        with self.session.no_autoflush:  # the package row, audit events and mail are written together, once
            return self._build(package, token, builder)

    def _build(self, package: AccessPackage, token: str, builder: Builder) -> AccessPackage:
        dek = self.kluis.keystore.data_keys(self.session, [package.person_id]).get(package.person_id)
        if dek is None:
            raise NotFound("this person's data was erased", code="person_erased")
        key, prefix, package.wrapped_key = new_package_key(dek, package.id)
        writer = SealedWriter(self.session, package.person_id, package.id, key, prefix)
        try:
            builder(self.kluis, self.session, package.person_id, package.lang, writer,
                    portability=package.portability, actor=self.actor, controller_only=package.controller_only)
        finally:
            writer.close()
        now = self._now()
        package.state, package.size, package.ready_at = PackageState.READY, writer.size, now
        package.expires_at = now + timedelta(days=self.kluis.settings.package_days)
        package.last_error = None
        jobs.release(package)
        self._audit(package, "package.ready", size=writer.size, chunks=writer.seq)
        mail.enqueue(self.session, self.kluis.clock, template=rights_mail.PACKAGE_TEMPLATE, person_id=package.person_id,
                     lang=package.lang, context={"package_id": str(package.id)}, actor=self.actor)
        return package

    def failed(self, package_id: uuid.UUID, token: str, code: str) -> str | None:
        """A build failed: try again after a backoff, or give up once the attempts are used. The new state."""
        package = self._ours(package_id, token)
        if package is None:
            return None
        package.last_error = code[:64]
        if jobs.used_up(package, self.kluis.settings.package_max_attempts):
            package.state = PackageState.FAILED
            jobs.release(package)
        else:
            jobs.retry(package, PACKAGE_JOBS, self._now(), PackageState.QUEUED)
        self._audit(package, "package.build_failed", error=code[:64], attempts=package.attempts)
        return package.state

    def expire_due(self, limit: int = 50) -> int:
        """Delete the packages whose link has expired: their chunks and their key go; the row stays as proof."""
        now = self._now()
        rows = list(self.session.scalars(jobs.unclaimed(select(AccessPackage).where(
            AccessPackage.state == PackageState.READY, AccessPackage.expires_at <= now)
            .order_by(AccessPackage.expires_at).limit(limit))))
        for package in rows:
            delete_chunks(self.session, package.person_id, package.id)
            package.state, package.wrapped_key, package.deleted_at = PackageState.EXPIRED, None, now
            self._audit(package, "package.deleted")
        return len(rows)

    # --- the download ------------------------------------------------------------------------

    def by_token(self, token: str) -> AccessPackage | None:
        package_id = rules.package_of_token(self.kluis.keys.secret, token)
        return None if package_id is None else self.session.get(AccessPackage, package_id)

    def by_grant(self, token: str, grant: str | None) -> AccessPackage | None:
        """The link's package only for whoever entered its code (a live grant); None otherwise, decided from
        the signatures alone before the database is asked, so a real link without its grant takes the same
        path, time and answer as a link that never existed (R-DSR-3)."""
        package_id = rules.package_of_token(self.kluis.keys.secret, token)
        if package_id is None or not rules.grant_opens(self.kluis.keys.secret, grant, package_id, self._now()):
            return None
        return self.session.get(AccessPackage, package_id)

    def token_of(self, package: AccessPackage) -> str:
        assert package.ready_at is not None
        return rules.package_token(self.kluis.keys.secret, package.id, package.ready_at)

    def check_open(self, package: AccessPackage) -> None:
        if package.state != PackageState.READY or package.expires_at is None or self._now() >= package.expires_at:
            raise PackageExpired()

    def send_code(self, package: AccessPackage) -> None:
        """A fresh code to the person's e-mail address on file (at most three an hour, shared with the
        request's own codes)."""
        self.check_open(package)
        code_id = issue_code(self.session, self.kluis.keys.secret, package.request_id,
                             rules.package_code_subject(package.id), self._now())
        self._audit(package, "package.code_issued")
        mail.enqueue(self.session, self.kluis.clock, template=rights_mail.CODE_TEMPLATE, person_id=package.person_id,
                     lang=package.lang, actor=self.actor,
                     context={"request_id": str(package.request_id), "code_id": str(code_id), "use": "download"})

    def sign_in(self, package: AccessPackage, code: str) -> str | None:
        """The download grant when ``code`` is the newest live code of this package; each wrong try counts."""
        self.check_open(package)
        now = self._now()
        subject = rules.package_code_subject(package.id)
        current = self.session.scalars(select(VerificationCode).where(
            VerificationCode.request_id == package.request_id).order_by(VerificationCode.created_at.desc())
            .limit(1)).first()
        if (current is None or current.used_at is not None or now >= current.expires_at
                or current.tries >= rules.CODE_MAX_TRIES):
            return None
        current.tries += 1
        given = code.strip()
        if not (rules.code_format_ok(given) and secrets.compare_digest(
                rules.code_digest(self.kluis.keys.secret, subject, given), current.digest)):
            self._audit(package, "package.code_refused", tries=current.tries)
            return None
        current.used_at = now
        self._audit(package, "package.signed_in")
        return rules.download_grant(self.kluis.keys.secret, package.id, now, current.id)

    def start_download(self, package: AccessPackage, grant: str | None) -> tuple[bytes, bytes]:
        """Check the grant, count and audit the download; (nonce prefix, key) to read the store with."""
        self.check_open(package)
        if not rules.grant_opens(self.kluis.keys.secret, grant, package.id, self._now()):
            raise NotFound("confirm with a code first", code="download_not_allowed")
        dek = self.kluis.keystore.data_keys(self.session, [package.person_id]).get(package.person_id)
        if dek is None or package.wrapped_key is None:
            raise PackageExpired()
        package.downloads += 1
        self._audit(package, "package.downloaded", downloads=package.downloads, size=package.size or 0)
        return open_package_key(dek, package.id, package.wrapped_key)

    def for_request(self, request_id: uuid.UUID) -> list[AccessPackage]:
        return list(self.session.scalars(select(AccessPackage).where(AccessPackage.request_id == request_id)
                                         .order_by(AccessPackage.created_at)))

    # --- inside -------------------------------------------------------------------------------

    def _ours(self, package_id: uuid.UUID, token: str) -> AccessPackage | None:
        found: AccessPackage | None = jobs.held(self.session, PACKAGE_JOBS, package_id, token)
        return found

    def _now(self) -> datetime:
        return self.kluis.clock.now()

    def _audit(self, package: AccessPackage, action: str, **details: str | int) -> None:
        audit.append(self.session, self.kluis.clock, actor=self.actor, action=action, object_type="package",
                     object_ids=[package.id, package.request_id, package.person_id],
                     details={"portability": package.portability, "state": package.state, **details})


def stream_package(kluis: Kluis, person_id: uuid.UUID, package_id: uuid.UUID, prefix: bytes,
                   key: bytes) -> Iterator[bytes]:
    """The decrypted ZIP for the response, read in its own session a few chunks at a time."""
    with kluis.db.sessions() as session:
        yield from read_sealed(session, person_id, package_id, key, prefix)
