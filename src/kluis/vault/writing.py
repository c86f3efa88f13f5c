"""Writing records: one record, or a batch of up to 10,000 for any people, in the caller's transaction (R-VLT-1,
R-VLT-3, R-VLT-4). Every item is checked against the policy and the content guard, and any bad one rejects them
all with every problem listed; then each is sealed with its person's key, given its retention rule and due date,
and written in one COPY (PostgreSQL) or one executemany, with one audit event for the whole write.

What is the same for many items is decided once: a declaration (category, purposes, basis, source, controller)
per distinct one, the content guard over all the batch's texts at once (each item is scanned on its own only when
that finds something, to say where), a person's key and cipher per person, the ids and nonces in one draw of
random bytes. An item's path (``items[3]``) is only spelled out for a problem.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, cast

from sqlalchemy import select
from sqlalchemy.orm import Session

from kluis.audit import service as audit
from kluis.db import among
from kluis.kit.clock import Clock
from kluis.kit.errors import Invalid, Problem
from kluis.kit.ids import new_ids
from kluis.policy.schemas import Policy
from kluis.vault import content as content_shape
from kluis.vault import repository, rules
from kluis.vault.crypto import RecordCipher, seal_all
from kluis.vault.guard import ContentGuard
from kluis.vault.keystore import KeyStore
from kluis.vault.models import Person
from kluis.vault.schemas import BatchRecordIn, RecordIn

# An item that could be sealed: (its index, person, the item, plaintext, the employer it is held for).
Candidate = tuple[int, uuid.UUID, RecordIn, bytes, uuid.UUID | None]


class DueDates(Protocol):
    """Retention's part in writing records (``kluis.retention.service.due_dates``), given by the wiring: retention
    sits above the vault. Called with the rows about to be inserted and their people's rows (id, last activity,
    first known, keep_until), it sets each row's rule and due date; what it returns is called once they are in."""

    def __call__(self, session: Session, policy: Policy, rows: Sequence[dict[str, Any]], people: Sequence[Any],
                 now: datetime) -> Callable[[], None]: ...


@dataclass
class RecordWriter:
    """The records write path of a ``Vault`` (its session, keys, policy, guard, clock and actor)."""

    session: Session
    keystore: KeyStore
    policy: Policy
    guard: ContentGuard
    clock: Clock
    actor: str
    due_dates: DueDates
    policy_version: int | None = None

    def add(self, person_id: uuid.UUID | None, items: Sequence[RecordIn]) -> list[uuid.UUID]:
        """Add one record (``person_id`` given) or a batch (each item a ``BatchRecordIn`` naming its person)
        atomically: any bad item rejects all, listing every problem."""
        single = person_id is not None
        owners = [person_id if single else cast(BatchRecordIn, item).person_id for item in items] if items else []
        # The people's rows are taken here, in id order, for the whole write: retention moves their bounds at the
        # end, and two batches that took overlapping people in different orders deadlocked (PostgreSQL).
        living = self.session.execute(select(Person.id, Person.employer_id, Person.last_activity_at, Person.created_at,
                                             Person.keep_until)
                                      .where(among(self.session, Person.id, list(set(owners))),
                                             Person.shredded_at.is_(None))
                                      .order_by(Person.id).with_for_update(key_share=True)).all()
        employers = {row.id: row.employer_id for row in living}
        now = self.clock.now()
        found, candidates = self._checked(owners, items, employers, single, now)
        documents = [item.content for _, _, item, _, _ in candidates if item.content is not None]
        if documents and not self.guard.clean(documents):
            for index, _, item, _, _ in candidates:  # where: each item on its own
                if item.content is not None:
                    found[index] += self.guard.scan_document(item.content, f"{_path(single, index)}.content")
        problems = [problem for item_problems in found for problem in item_problems]
        if problems:
            raise Invalid(f"{'the record was' if single else 'the batch was'} not saved: "
                          f"{len(problems)} problem(s)", code="records_invalid", problems=problems)
        rows = self._rows([(owner, item, payload, employer) for _, owner, item, payload, employer in candidates],
                          employers, now)
        written = self.due_dates(self.session, self.policy, rows, living, now)
        repository.insert_records(self.session, rows)
        written()
        ids = [r["id"] for r in rows]
        audit.append(self.session, self.clock, actor=self.actor, action="records.added", object_type="record",
                     object_ids=ids, details={"count": len(ids), "people": len(employers),
                                              "categories": sorted({r["category"] for r in rows})})
        return ids

    def _checked(self, owners: Sequence[uuid.UUID | None], items: Sequence[RecordIn],
                 employers: dict[uuid.UUID, uuid.UUID | None], single: bool, now: datetime
                 ) -> tuple[list[list[Problem]], list[Candidate]]:
        """Each item's problems but the content guard's, and the items whose plaintext could be made: (index,
        person, item, plaintext, the employer it is held for), in the items' order."""
        declared: dict[tuple[Any, ...], tuple[rules.Finding, ...]] = {}
        found: list[list[Problem]] = []
        candidates: list[Candidate] = []
        for index, (owner, item) in enumerate(zip(owners, items, strict=True)):
            if owner is None or owner not in employers:
                found.append([Problem("person_id" if single else f"{_path(single, index)}.person_id",
                                      "person_not_found", "no such person")])
                continue
            employer = item.controller_employer_id or employers[owner]
            key = (item.category, tuple(item.purposes), item.legal_basis, item.source, item.controller,
                   employer is not None)
            findings = declared.get(key)
            if findings is None:
                findings = declared[key] = rules.check_declaration(self.policy, *key)
            problems: list[Problem] = []
            if findings or item.collected_at is not None or item.last_activity_at is not None:
                path = _path(single, index)
                problems = rules.with_path(findings, path) + rules.check_times(item.collected_at,
                                                                               item.last_activity_at, now, path)
            if item.controller_employer_id is not None and item.controller_employer_id != employers[owner]:
                problems.append(Problem(f"{_path(single, index)}.controller_employer_id", "employer_mismatch",
                                        "the person is not employed by this employer"))
            payload = self._payload(item, single, index, problems)
            found.append(problems)
            if payload is not None:
                candidates.append((index, owner, item, payload, employer if item.controller == "employer" else None))
        return found, candidates

    def _payload(self, item: RecordIn, single: bool, index: int, problems: list[Problem]) -> bytes | None:
        """The plaintext to seal: the content as JSON (its shape checked; the guard reads it with the batch), or
        the file's bytes as the guard cleaned them."""
        if (item.content is None) == (item.file is None):
            problems.append(Problem(_path(single, index), "content_required",
                                    "give exactly one of 'content' or 'file'"))
            return None
        if item.content is not None:
            payload = content_shape.encode(item.content, f"{_path(single, index)}.content")
            if isinstance(payload, list):
                problems += payload
                return None
            return payload
        assert item.file is not None
        path = _path(single, index)
        try:
            data = base64.b64decode(item.file.data_base64, validate=True)
        except (binascii.Error, ValueError):
            problems.append(Problem(f"{path}.file.data_base64", "base64_invalid", "not valid base64"))
            return None
        cleaned = self.guard.clean_file(data, item.file.media_type, f"{path}.file")
        if isinstance(cleaned, Problem):
            problems.append(cleaned)
            return None
        return cleaned

    def _rows(self, prepared: Sequence[tuple[uuid.UUID, RecordIn, bytes, uuid.UUID | None]],
              employers: dict[uuid.UUID, uuid.UUID | None], now: datetime) -> list[dict[str, Any]]:
        """The record rows to write, sealed: a cipher per person, ids and nonces drawn once for all."""
        ciphers = {pid: RecordCipher(dek) for pid, dek in self.keystore.data_keys(self.session, employers).items()}
        ids = new_ids(len(prepared))
        sealed = seal_all([(ciphers[owner], owner, rid, item.category, payload)
                           for rid, (owner, item, payload, _) in zip(ids, prepared, strict=True)])
        rows: list[dict[str, Any]] = []
        version = self.policy_version
        for rid, ciphertext, (owner, item, _, employer) in zip(ids, sealed, prepared, strict=True):
            collected = item.collected_at or now
            rows.append({
                "id": rid, "person_id": owner, "category": item.category, "purposes": list(item.purposes),
                "legal_basis": item.legal_basis, "source": item.source, "controller": item.controller,
                "controller_employer_id": employer, "content_kind": "file" if item.file else "json",
                "media_type": item.file.media_type if item.file else None, "ciphertext": ciphertext,
                "policy_version": version, "collected_at": collected,
                "last_activity_at": item.last_activity_at or collected, "created_at": now, "updated_at": now,
            })
        return rows


def _path(single: bool, index: int) -> str:
    """Where an item is in the request, as problems name it."""
    return "record" if single else f"items[{index}]"
