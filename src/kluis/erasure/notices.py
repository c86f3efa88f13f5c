"""What an erasure tells, and to whom (R-DSR-6, Art. 19): the person's last notice, queued while their address
still exists and carried sealed until sent; mail already queued for them; the recipients and processors
that received an erased category."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sqlalchemy import Select, Update, bindparam, select, update
from sqlalchemy.orm import Session

from kluis.disclosures.notices import Cause
from kluis.disclosures.notices import tell_parties as tell_art19
from kluis.erasure import certificate, kept, rules
from kluis.erasure.events import PERSON_NOTICE, ErasureHeld, PersonErased
from kluis.erasure.models import ErasureJob
from kluis.erasure.rules import JobState
from kluis.kit import events
from kluis.kit.clock import as_utc
from kluis.kit.errors import NotFound
from kluis.mail import rules as mail_rules
from kluis.mail import service as mail
from kluis.mail.models import Outbox
from kluis.retention import holds as retention_holds
from kluis.vault.crypto import open_sealed

if TYPE_CHECKING:
    from kluis.policy.schemas import Lang
    from kluis.wiring import Kluis


def first_address(person_id: uuid.UUID, key: Callable[[], bytes], identifiers: list[Any]) -> str | None:
    """The person's first e-mail address, from their identifiers as they were deleted (``key`` gives their
    data key, asked for only when there is an address to open)."""
    emails = sorted((i for i in identifiers if i.kind == "email"), key=lambda i: as_utc(i.created_at))
    if not emails:
        return None
    first = emails[0]
    return open_sealed(key(), person_id, first.id, "identifier:email", first.ciphertext).decode()


def tell_person(session: Session, kluis: Kluis, actor: str, job: ErasureJob, person_id: uuid.UUID,
                address: str | None) -> None:
    """The person's last notice, queued before their address is erased: it carries the address sealed. It is
    held until the job's certificate is signed (``release_person_notice``), since it carries the certificate:
    after the erasure the person has no account to fetch it from. The notice is the request's (``rights``)."""
    if job.request_id is None:
        return
    reported = events.publish(session, PersonErased(kluis, actor, job.id, person_id, job.request_id, address))
    if PERSON_NOTICE in reported:
        job.result = {**job.result, PERSON_NOTICE: reported[PERSON_NOTICE]}


def release_person_notice(session: Session, kluis: Kluis, job: ErasureJob) -> None:
    """The certificate is signed: the person's last notice, held for it, may go."""
    if job.result.get(PERSON_NOTICE):
        mail.release(session, kluis.clock, uuid.UUID(job.result[PERSON_NOTICE]))


def tell_held(session: Session, kluis: Kluis, actor: str, job: ErasureJob, holds: list[Any]) -> None:
    """R-RET-3: a legal hold keeps all of the person's data from the erasure they asked for. Once per job, they
    are told what is kept, on which ground and until when (the mail reads the holds when it leaves), and the data
    is restricted to the hold's purpose from now on. The notice is the request's (``rights``)."""
    if job.request_id is None or job.result.get("held_told"):
        return
    kluis.gate(session, actor).restrict(job.person_id, "legal_claims", "person", reference=f"erasure {job.id}"[:80])
    events.publish(session, ErasureHeld(kluis, actor, job.id, job.person_id, job.request_id))
    job.result = {**job.result, "held_told": sorted(str(h.id) for h in holds)}


def held_back(session: Session, kluis: Kluis, request_id: uuid.UUID, lang: str) -> list[kept.KeptLine]:
    """What the request's erasure keeps, and why (R-DSR-6, R-RET-3): what a finished job kept by law or hold,
    or, while a legal hold keeps everything, that hold. Nothing when all is (to be) erased."""
    job = session.scalars(select(ErasureJob).where(ErasureJob.request_id == request_id)).first()
    language: Lang = "en" if lang == "en" else "nl"
    if job is None or job.state == JobState.CANCELLED:
        return []
    if job.state == JobState.DONE or job.state == JobState.EMPLOYER:
        # R-DSR-8: what benVitaal's own part kept, until the employer's part (if erased) says it all
        part = job.result.get("vault") or job.result.get("controller") or {}
        return kept.from_erasure(kluis.policy, part.get("kept", []), language)
    if job.result.get("held_told") and job.step == "datasets":
        in_force = [h for h in retention_holds.held(session, kluis.clock, job.person_id)
                    if rules.whole_person_hold(h.scope)]
        return kept.from_holds(kluis.policy, in_force, language)
    return []


def own_part_erased(session: Session, request_id: uuid.UUID) -> dict[str, int]:
    """R-DSR-8: the records benVitaal's own part of the request's erasure erased, per category."""
    job = session.scalars(select(ErasureJob).where(ErasureJob.request_id == request_id)).first()
    return dict(job.result.get("controller", {}).get("erased", {})) if job is not None else {}


class CertificateNotSigned(Exception):
    """Asked for a job's certificate before it was signed (a mail that left its hold too early is tried again)."""


def certificate_files(session: Session, job_id: uuid.UUID) -> list[tuple[str, str, bytes]]:
    """The signed certificate as files to send along: (name, media type, bytes) of its JSON, which is the proof,
    and of its PDF, for reading. NotFound when there is no such job."""
    job = session.get(ErasureJob, job_id)
    if job is None:
        raise NotFound("no such erasure job", code="erasure_job_not_found")
    if job.certificate is None:
        raise CertificateNotSigned(str(job_id))
    stem = f"erasure-certificate-{job.id}"
    return [(f"{stem}.json", "application/json", job.certificate.encode()),
            (f"{stem}.pdf", "application/pdf", certificate.render_pdf(job.certificate))]


def tell_parties(session: Session, kluis: Kluis, actor: str, job: ErasureJob, categories: list[str]) -> None:
    """Art. 19: each recipient and processor that received an erased category of the person (by the disclosure
    log) is told once, by mail to its contact in the policy, or else recorded for staff to tell another way (as for
    a rectification)."""
    told = tell_art19(session, kluis.clock, kluis.policy, actor, job.person_id, categories, Cause("erasure", job.id))
    job.result = {**job.result, "told": sorted(told, key=lambda party: party["party"])}


def seal_pending_mail(session: Session, kluis: Kluis, person_id: uuid.UUID,
                      address: Callable[[], str | None]) -> None:
    """Administrative mail queued for the person before the erasure (request notices, say) still
    reaches them: it carries the address sealed until sent. Marketing mail is simply cancelled. The address
    is worked out only when such mail is found."""
    read, write = _pending_mail()
    changes = []
    for row in session.execute(read, {"person_id": person_id}):
        to = address() if row.kind == mail_rules.ADMINISTRATIVE else None
        if to is None:
            changes.append({"outbox_id": row.id, "state": mail_rules.CANCELLED, "last_error": "person_erased",
                            "sealed_to": None})
        elif row.sealed_to is None:
            changes.append({"outbox_id": row.id, "state": row.state, "last_error": row.last_error,
                            "sealed_to": mail.seal_address(kluis.keys.secret, person_id, to)})
    if changes:
        session.execute(write, changes)


@functools.cache
def _pending_mail() -> tuple[Select[Any], Update]:
    """The person's queued and sending mail, and the statement that seals or cancels it: built once (every
    erasure asks)."""
    outbox = Outbox.__table__
    read = select(outbox.c.id, outbox.c.kind, outbox.c.state, outbox.c.last_error, outbox.c.sealed_to).where(
        outbox.c.person_id == bindparam("person_id"), outbox.c.state.in_((mail_rules.QUEUED, mail_rules.SENDING)))
    write = update(outbox).where(outbox.c.id == bindparam("outbox_id")).values(
        state=bindparam("state"), last_error=bindparam("last_error"), sealed_to=bindparam("sealed_to"))
    return read, write
