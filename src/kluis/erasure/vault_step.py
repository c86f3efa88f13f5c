"""The erasure's vault step (R-DSR-6, R-VLT-5, R-RET-3), in one transaction of the data database.

Records a legal obligation (or a legal hold on their category) keeps are sealed again under a fresh key, stored
under the job's id until it replaces the person's key; every other record, the identifiers and the interest
profile go; the person is restricted to the obligation's purpose, or marked shredded when nothing is kept; mail
still queued for them is sealed to their address or cancelled; they and the recipients of what was erased are told.
"""

from __future__ import annotations

import functools
import uuid
from collections import Counter
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kluis.audit import service as audit
from kluis.consent.marketing.service import delete_profile, suppress_before_erasure
from kluis.erasure import notices, repository, rules
from kluis.erasure.models import ErasureJob
from kluis.erasure.rules import Reason
from kluis.gate.models import Restriction
from kluis.kit.errors import Conflict
from kluis.kit.faults import checkpoint
from kluis.retention import keep as retention_keep
from kluis.vault.crypto import RecordCipher, open_sealed

if TYPE_CHECKING:
    from kluis.wiring import Kluis

BATCH = 1000  # records per page: memory stays flat, and a usual person takes one round trip
RESTRICTION_REASON = "kept_by_law"


def erase(session: Session, kluis: Kluis, actor: str, job: ErasureJob, holds: list[Any], now: datetime) -> None:
    """The vault step in the caller's transaction (see the module's text); ``holds`` are the legal holds in force
    on the person's data."""
    today = rules.as_amsterdam_date(now)  # due dates are Amsterdam calendar days, as the sweep reads them
    assert today is not None
    keeping = rules.keeping_rules(kluis.policy)
    person = repository.lock_person(session, job.person_id, with_key=kluis.keystore.shared)
    for dataset_id, tables in sorted(job.result.get("datasets", {}).items()):
        audit.append(session, kluis.clock, actor=actor, action="erasure.dataset_erased",
                     object_type="erasure_job", object_ids=[job.id, job.person_id],
                     details={"dataset": dataset_id, "rows": sum(t["rows"] for t in tables)})
    if person is None or person.shredded_at is not None:
        job.result = {**job.result, "vault": {"already_erased": True, "erased": {}, "kept": [],
                                              "identifiers": 0, "kept_records": 0}}
        job.step = "keys"
        return
    # The person's key is unwrapped only when something needs it (a record kept under a fresh key, the address
    # for their notice or their pending mail). With the key store in the data database it came with the lock;
    # a separate store is asked then, in a round trip of its own.
    wrapped = getattr(person, "wrapped", None)
    old_key = functools.cache(
        lambda: kluis.keystore.read_with_data(session, person.id, wrapped, person.kek_id) if wrapped is not None
        else _data_key(session, kluis, person.id))
    new_key: bytes | None = None
    erased: Counter[str] = Counter()
    kept: Counter[tuple[str, str, str | None]] = Counter()
    kept_until: datetime | None = None  # the person's keep_until once only the kept records are left
    held_categories = {h.category: h for h in holds if h.scope == "category"}
    last: uuid.UUID | None = None
    while True:  # a page at a time, by id: memory stays flat, and a usual person takes one round trip
        page = repository.record_page(session, person.id, last, BATCH)
        doomed: list[uuid.UUID] = []
        sealed: list[dict[str, Any]] = []
        for row in page:
            due = rules.as_amsterdam_date(row.due_at)
            hold = held_categories.get(row.category)
            if hold is not None:
                keep: rules.Keep | None = rules.Keep(rules.HOLD_RULE, rules.as_amsterdam_date(hold.until),
                                                     "legal_hold")
            else:
                keep = rules.keep_of(keeping, row.category, row.purposes, due, today, row.rule_id)
            if keep is None:
                doomed.append(row.id)
                erased[row.category] += 1
                continue
            if new_key is None:
                new_key = _fresh_key(session, kluis, job.id, now)
            plain = open_sealed(old_key(), person.id, row.id, row.category, row.ciphertext)
            sealed.append({"record_id": row.id,
                           "ciphertext": RecordCipher(new_key).seal(person.id, row.id, row.category, plain)})
            kept[(row.category, keep.rule_id, rules.iso(keep.until))] += 1
            kept_until = retention_keep.widen(kept_until, row.due_at)
        if doomed:
            # The person row is locked, so no record of theirs can be added meanwhile: a page that keeps
            # nothing goes as its id range.
            if len(doomed) == len(page):
                repository.delete_page(session, person.id, last, page[-1].id)
            else:
                repository.delete_records(session, person.id, doomed)
        if sealed:
            repository.reseal(session, person.id, sealed)
        if len(page) < BATCH:
            break
        last = page[-1].id
        checkpoint("erasure.vault.batch")
    checkpoint("erasure.vault.records")
    # Before the digests go with the identifiers.
    suppressed = suppress_before_erasure(session, kluis.keystore, now, [person.id], job.id)
    gone = repository.delete_identifiers(session, person.id)
    identifiers = len(gone)
    address = functools.cache(lambda: notices.first_address(person.id, old_key, gone))
    notices.seal_pending_mail(session, kluis, person.id, address)
    profile = delete_profile(session, person.id)
    kept_records = sum(kept.values())
    repository.mark_erased(session, person.id, now, kept_until, shredded=not kept_records)
    if kept_records:
        restrict_kept(session, kluis, actor, person.id, "person" if job.reason == Reason.REQUEST else "staff",
                      f"erasure {job.id}"[:80])
    job.result = {**job.result, "vault": {
        "erased": dict(sorted(erased.items())), "identifiers": int(identifiers or 0),
        "interest_profile": profile, "kept_records": kept_records,
        "kept": [{"category": c, "rule": r, "until": u, "records": n}
                 for (c, r, u), n in sorted(kept.items(), key=lambda i: (i[0][0], i[0][1], i[0][2] or ""))],
        "at": now.isoformat()}}
    job.step = "keys"
    audit.append(session, kluis.clock, actor=actor, action="erasure.vault_erased",
                 object_type="erasure_job", object_ids=[job.id, person.id],
                 details={"records_erased": sum(erased.values()), "records_kept": kept_records,
                          "categories_erased": sorted(erased), "identifiers": int(identifiers or 0),
                          "suppressed": suppressed})
    if job.request_id is not None:
        notices.tell_person(session, kluis, actor, job, person.id, address())
    notices.tell_parties(session, kluis, actor, job, sorted(erased))
    checkpoint("erasure.vault.before_commit")


def _data_key(session: Session, kluis: Kluis, person_id: uuid.UUID) -> bytes:
    found = kluis.keystore.data_keys(session, [person_id])
    if person_id not in found:
        raise Conflict("the person's data key is missing", code="person_key_missing")
    return found[person_id]


def restrict_kept(session: Session, kluis: Kluis, actor: str, person_id: uuid.UUID, on_behalf_of: str,
                  reference: str) -> bool:
    """What a legal obligation keeps may serve that obligation only (R-RET-3): the gate allows
    legal-obligation purposes to a restricted person and nothing else. Whether a restriction was recorded now."""
    active = session.scalars(select(Restriction.id).where(
        Restriction.person_id == person_id, Restriction.reason == RESTRICTION_REASON,
        Restriction.lifted_at.is_(None))).first()
    if active is None:
        kluis.gate(session, actor).restrict(person_id, RESTRICTION_REASON, on_behalf_of, reference=reference)
    return active is None


def _fresh_key(session: Session, kluis: Kluis, job_id: uuid.UUID, now: datetime) -> bytes:
    """The key for what is kept, stored under the job's id until it replaces the person's key."""
    found = kluis.keystore.data_keys(session, [job_id])
    if job_id in found:
        return found[job_id]
    return kluis.keystore.create(session, [job_id], now)[job_id]
