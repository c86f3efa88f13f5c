"""Vault use cases: people, identifiers, records (written by ``vault.writing``). Services never commit; the caller's
boundary does."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from kluis.audit import service as audit
from kluis.db import among, changes_decisions
from kluis.kit.clock import Clock
from kluis.kit.errors import Invalid, NotFound, Problem
from kluis.kit.ids import new_id
from kluis.policy.schemas import Policy
from kluis.vault import content as content_shape
from kluis.vault import repository, rules
from kluis.vault.crypto import KeyRing, open_sealed, seal
from kluis.vault.guard import ContentGuard
from kluis.vault.identifiers import normalise
from kluis.vault.keystore import KeyStore
from kluis.vault.models import Employer, Identifier, Person, Record
from kluis.vault.schemas import FileIn, IdentifierIn, PersonIn, PersonPatch, RecordIn, RecordOut
from kluis.vault.writing import DueDates, RecordWriter


@dataclass
class Vault:
    session: Session
    keys: KeyRing
    keystore: KeyStore
    policy: Policy
    guard: ContentGuard
    clock: Clock
    actor: str
    due_dates: DueDates
    policy_version: int | None = None
    _employers_seen: dict[str, bool] = field(default_factory=dict)

    # --- people -------------------------------------------------------------------------------

    def create_person(self, data: PersonIn) -> Person:
        return self.create_people([data], single=True)[0]

    def create_people(self, items: Sequence[PersonIn], single: bool = False) -> list[Person]:
        """Create people with their identifiers and data keys; one bad item rejects them all."""
        problems: list[Problem] = []
        employers = {e for e in self.session.scalars(select(Employer.id).where(
            Employer.id.in_({i.employer_id for i in items if i.employer_id})))}
        normalised: list[list[tuple[str, str, str]]] = []
        paths: dict[tuple[str, str, str], str] = {}
        for index, data in enumerate(items):
            path = "" if single else f"items[{index}]."
            problems += rules.check_subject_types(self.policy, data.subject_types, f"{path}subject_types")
            if data.employer_id is not None and data.employer_id not in employers:
                problems.append(Problem(f"{path}employer_id", "employer_not_found", "no such employer"))
            normalised.append(self._normalise_all(data.identifiers, data.employer_id, f"{path}identifiers",
                                                  problems, paths))
        self._check_taken(paths, problems)
        if problems:
            raise Invalid("the person was not saved" if single else "no person was saved",
                          code="person_invalid", problems=problems)
        now = self.clock.now()
        changes_decisions(self.session)  # a person the gate knows, wherever decisions are read
        people = [Person(id=new_id(), subject_types=sorted(set(d.subject_types)), employer_id=d.employer_id,
                         created_at=now, updated_at=now) for d in items]
        self.session.execute(Person.__table__.insert(), [
            {"id": p.id, "subject_types": p.subject_types, "employer_id": p.employer_id, "created_at": now,
             "updated_at": now, "shredded_at": None} for p in people])
        deks = self.keystore.create(self.session, [p.id for p in people], now)
        self._add_identifiers([(p.id, deks[p.id], idents) for p, idents in zip(people, normalised, strict=True)])
        kinds = sorted({k for idents in normalised for k, _, _ in idents})
        audit.append(self.session, self.clock, actor=self.actor, action="person.created", object_type="person",
                     object_ids=[p.id for p in people],
                     details={"count": len(people),
                              "subject_types": sorted({s for p in people for s in p.subject_types}),
                              "identifier_kinds": kinds})
        return people

    def update_person(self, person_id: uuid.UUID, patch: PersonPatch) -> Person:
        person = self.person(person_id)
        problems: list[Problem] = []
        if patch.subject_types is not None:
            problems += rules.check_subject_types(self.policy, patch.subject_types, "subject_types")
        if "employer_id" in patch.model_fields_set:
            problems += self._check_employer(patch.employer_id, "employer_id")
        employer = patch.employer_id if "employer_id" in patch.model_fields_set else person.employer_id
        paths: dict[tuple[str, str, str], str] = {}
        added = self._normalise_all(patch.add_identifiers, employer, "add_identifiers", problems, paths)
        self._check_taken(paths, problems)
        removed = []
        for i, ident in enumerate(patch.remove_identifiers):
            found = normalise(ident.kind, ident.value, ident.scope or _scope(employer), f"remove_identifiers[{i}]")
            if isinstance(found, Problem):
                problems.append(found)
                continue
            digest = self.keys.digest(ident.kind, found[1], found[0])
            if repository.owner(self.session, ident.kind, found[1], digest) != person.id:
                problems.append(Problem(f"remove_identifiers[{i}]", "identifier_not_held",
                                        "this person has no such identifier"))
            else:
                removed.append((ident.kind, digest))
        if problems:
            raise Invalid("the person was not changed", code="person_invalid", problems=problems)
        now = self.clock.now()
        if patch.subject_types is not None:
            person.subject_types = sorted(set(patch.subject_types))
        person.employer_id = employer
        if removed:
            repository.delete_identifiers(self.session, [person.id], only=[digest for _, digest in removed])
        if added:
            self._add_identifiers([(person.id, self._data_key(person.id), added)])
        person.updated_at = now
        audit.append(self.session, self.clock, actor=self.actor, action="person.updated", object_type="person",
                     object_ids=[person.id],
                     details={"fields": sorted(patch.model_fields_set),
                              "identifiers_added": [k for k, _, _ in added],
                              "identifiers_removed": [kind for kind, _ in removed]})
        return person

    def find_person(self, ident: IdentifierIn, purpose: str) -> Person:
        """Look a person up through the blind index; the lookup is audited like a read. For staff matching a
        request to a person; a service's lookup is decided by the gate first (``identified``, ``looked_up``)."""
        person_id = self.identified(ident)
        if person_id is None:
            raise NotFound("no person with this identifier", code="person_not_found")
        return self.looked_up(person_id, ident.kind, purpose)

    def identified(self, ident: IdentifierIn) -> uuid.UUID | None:
        """Whose identifier this is, through the blind index (never by decrypting); None when nobody's."""
        found = normalise(ident.kind, ident.value, ident.scope, "identifier")
        if isinstance(found, Problem):
            raise Invalid("the identifier is not valid", code="identifier_invalid", problems=[found])
        return repository.owner(self.session, ident.kind, found[1], self.keys.digest(ident.kind, found[1], found[0]))

    def looked_up(self, person_id: uuid.UUID, kind: str, purpose: str) -> Person:
        """The person found by an identifier of this kind, the lookup audited like a read."""
        person = self.person(person_id)
        audit.append(self.session, self.clock, actor=self.actor, action="person.looked_up", object_type="person",
                     object_ids=[person.id], details={"purpose": purpose, "kind": kind})
        return person

    def person(self, person_id: uuid.UUID) -> Person:
        return live_person(self.session, person_id)

    def identifiers_of(self, person_id: uuid.UUID) -> list[Identifier]:
        return list(self.session.scalars(select(Identifier).where(Identifier.person_id == person_id)
                                         .order_by(Identifier.kind, Identifier.created_at)))

    def identifier_value(self, row: Identifier) -> str:
        return self.identifier_values([row])[0]

    def identifier_values(self, rows: Sequence[Identifier]) -> list[str]:
        """Each row's value, every person's key read once (a key store of its own is a transaction a read)."""
        keys = self.keystore.data_keys(self.session, {row.person_id for row in rows}) if rows else {}
        if any(row.person_id not in keys for row in rows):
            raise NotFound("this person's data was erased", code="person_erased")
        return [open_sealed(keys[row.person_id], row.person_id, row.id, f"identifier:{row.kind}",
                            row.ciphertext).decode() for row in rows]

    def shred(self, person_ids: Sequence[uuid.UUID], reason: str, marked: bool = False) -> int:
        """Crypto-shredding (R-VLT-5): destroy the data keys; every copy of the records becomes unreadable.
        ``marked``: the caller has already set these people's ``shredded_at`` in this transaction."""
        ids = list(dict.fromkeys(person_ids))
        changes_decisions(self.session)  # the gate answers person_erased, wherever decisions are read
        destroyed = self.keystore.destroy(self.session, ids, reason=reason)
        now = self.clock.now()
        if not marked:
            self.session.execute(update(Person).where(among(self.session, Person.id, ids))
                                 .values(shredded_at=now, updated_at=now, keep_until=None)
                                 .execution_options(synchronize_session=False))
        repository.delete_identifiers(self.session, ids)
        audit.append(self.session, self.clock, actor=self.actor, action="person.keys_destroyed",
                     object_type="person", object_ids=ids, details={"reason": reason, "keys_destroyed": destroyed})
        return destroyed

    # --- records ------------------------------------------------------------------------------

    def add_records(self, person_id: uuid.UUID | None, items: Sequence[RecordIn]) -> list[uuid.UUID]:
        """Add one or many records atomically: any bad item rejects all, listing every problem (``writing``)."""
        return RecordWriter(self.session, self.keystore, self.policy, self.guard, self.clock, self.actor,
                            self.due_dates, self.policy_version).add(person_id, items)

    def read_records(self, person_id: uuid.UUID, purpose: str, category: str | None = None) -> list[RecordOut]:
        """The person's records kept for this purpose, decrypted; the read itself is audited (R-GATE-2)."""
        self.person(person_id)
        query = select(Record).where(Record.person_id == person_id).order_by(Record.collected_at, Record.id)
        if category is not None:
            query = query.where(Record.category == category)
        records = readable(self.policy, purpose, self.session.scalars(query))
        dek = self._data_key(person_id) if records else b""
        out = [record_out(r, open_sealed(dek, r.person_id, r.id, r.category, r.ciphertext)) for r in records]
        audit.append(self.session, self.clock, actor=self.actor, action="records.read", object_type="record",
                     object_ids=[r.id for r in records],
                     details={"person_id": str(person_id), "purpose": purpose, "count": len(records)})
        return out

    def record_of(self, person_id: uuid.UUID, record_id: uuid.UUID) -> Record:
        """The record row (sealed) if it is this living person's."""
        self.person(person_id)
        record = self.session.get(Record, (person_id, record_id))
        if record is None:
            raise NotFound("this person has no such record", code="record_not_found")
        return record

    def records_of(self, person_id: uuid.UUID) -> list[Record]:
        """The person's record rows (sealed), for staff choosing what to correct."""
        return list(self.session.scalars(select(Record).where(Record.person_id == person_id)
                                         .order_by(Record.category, Record.collected_at)))

    def rectify_record(self, person_id: uuid.UUID, record_id: uuid.UUID, changes: dict[str, Any]) -> Record:
        """Correct fields of one record (R-DSR-5): each must be a field of the record's category in the policy
        and pass the content guard like anything ingested; ``None`` removes a field. Re-sealed with the
        person's key; audited with the field names only. One bad field changes nothing."""
        record = self.record_of(person_id, record_id)
        problems: list[Problem] = []
        if record.content_kind != "json":
            problems.append(Problem("record", "file_record", "a file is replaced by uploading it again, "
                                                             "not corrected field by field"))
        if not changes:
            problems.append(Problem("fields", "fields_required", "name at least one field to correct"))
        known = self.policy.category(record.category).field_ids()
        problems += [Problem(f"fields.{name}", "field_unknown", f"not a field of {record.category!r} "
                             f"(one of: {', '.join(known)})") for name in changes if name not in known]
        shape = content_shape.check(changes, "fields")
        problems += shape or self.guard.scan_document({k: v for k, v in changes.items() if v is not None}, "fields")
        if problems:
            raise Invalid("the record was not corrected", code="rectification_invalid", problems=problems)
        dek = self._data_key(person_id)
        content = json.loads(open_sealed(dek, person_id, record.id, record.category, record.ciphertext))
        if not isinstance(content, dict):
            raise Invalid("the record was not corrected", code="rectification_invalid", problems=[
                Problem("record", "not_fields", "this record's content has no fields to correct")])
        for name, value in changes.items():
            if value is None:
                content.pop(name, None)
            else:
                content[name] = value
        payload = content_shape.encode(content, "fields")
        if isinstance(payload, list):
            raise Invalid("the record was not corrected", code="rectification_invalid", problems=payload)
        record.ciphertext = seal(dek, person_id, record.id, record.category, payload)
        record.updated_at = self.clock.now()
        audit.append(self.session, self.clock, actor=self.actor, action="record.rectified", object_type="record",
                     object_ids=[record.id, person_id], details={"category": record.category,
                                                                 "fields": sorted(changes)})
        return record

    # --- helpers ------------------------------------------------------------------------------

    def _data_key(self, person_id: uuid.UUID) -> bytes:
        keys = self.keystore.data_keys(self.session, [person_id])
        if person_id not in keys:
            raise NotFound("this person's data was erased", code="person_erased")
        return keys[person_id]

    def _employer_exists(self, scope: str) -> bool:
        """Whether the scope names an employer; remembered for the rest of this unit of work."""
        if scope not in self._employers_seen:
            try:
                self._employers_seen[scope] = self.session.get(Employer, uuid.UUID(scope)) is not None
            except ValueError:
                self._employers_seen[scope] = False
        return self._employers_seen[scope]

    def _check_employer(self, employer_id: uuid.UUID | None, path: str) -> list[Problem]:
        if employer_id is not None and self.session.get(Employer, employer_id) is None:
            return [Problem(path, "employer_not_found", "no such employer")]
        return []

    def _normalise_all(self, idents: Sequence[IdentifierIn], employer_id: uuid.UUID | None, path: str,
                       problems: list[Problem], paths: dict[tuple[str, str, str], str]
                       ) -> list[tuple[str, str, str]]:
        """Normalised (kind, scope, value) triples; problems for bad, repeated or already-held identifiers."""
        out: list[tuple[str, str, str]] = []
        for i, ident in enumerate(idents):
            scope = ident.scope or (_scope(employer_id) if ident.kind == "employee_number" else None)
            if ident.kind == "employee_number" and scope and not self._employer_exists(scope):
                problems.append(Problem(f"{path}[{i}].scope", "employer_not_found", "scope must be an employer id"))
                continue
            found = normalise(ident.kind, ident.value, scope, f"{path}[{i}]")
            if isinstance(found, Problem):
                problems.append(found)
                continue
            key = (ident.kind, found[1], found[0])
            if key in paths:
                problems.append(Problem(f"{path}[{i}]", "identifier_repeated", "the same identifier is given twice"))
                continue
            out.append(key)
            paths[key] = f"{path}[{i}]"
        return out

    def _check_taken(self, paths: dict[tuple[str, str, str], str], problems: list[Problem]) -> None:
        """Which of them already belong to a person, through the blind index."""
        by_digest = {self.keys.digest(*key): path for key, path in paths.items()}
        for digest in repository.taken(self.session, list(by_digest)):
            problems.append(Problem(by_digest[digest], "identifier_taken",
                                    "this identifier already belongs to a person"))

    def _add_identifiers(self, owners: Sequence[tuple[uuid.UUID, bytes, list[tuple[str, str, str]]]]) -> None:
        now = self.clock.now()
        rows = []
        for person_id, dek, normalised in owners:
            for kind, scope, value in normalised:
                iid = new_id()
                rows.append({"person_id": person_id, "id": iid, "kind": kind, "scope": scope,
                             "digest": self.keys.digest(kind, scope, value),
                             "ciphertext": seal(dek, person_id, iid, f"identifier:{kind}", value.encode()),
                             "created_at": now})
        repository.insert_identifiers(self.session, rows)


def _scope(employer_id: uuid.UUID | None) -> str | None:
    return str(employer_id) if employer_id else None


def add_employer(session: Session, clock: Clock, actor: str, name: str) -> Employer:
    if not name.strip() or len(name) > 200:
        raise Invalid("an employer needs a name of at most 200 characters", code="employer_invalid",
                      problems=[Problem("name", "invalid", "1 to 200 characters")])
    employer = Employer(id=new_id(), name=name.strip(), created_at=clock.now())
    session.add(employer)
    session.flush()
    audit.append(session, clock, actor=actor, action="employer.created", object_type="employer",
                 object_ids=[employer.id])
    return employer


def employer_names(session: Session) -> list[str]:
    """The client employers by name (company data, not personal data): the controllers benVitaal processes for."""
    return list(session.scalars(select(Employer.name).order_by(Employer.name, Employer.id)))


def readable(policy: Policy, purpose: str, records: Iterable[Any]) -> list[Any]:
    """Of a person's records (in the order read), those kept for this purpose. Data held as processor serves
    only the employer's (processor-role) purposes. Also used by the records fast path (``vault.fastpath``)."""
    processor_purpose = purpose in policy.purpose_ids and str(policy.purpose(purpose).role) == "processor"
    return [r for r in records if purpose in r.purposes and (r.controller != "employer" or processor_purpose)]


def record_out(record: Any, plaintext: bytes) -> RecordOut:
    """A record as the API gives it, from its row (ORM object or any row with the same attribute names)."""
    base = {k: getattr(record, k) for k in ("id", "person_id", "category", "purposes", "legal_basis", "source",
                                             "controller", "controller_employer_id", "collected_at",
                                             "last_activity_at")}
    if record.content_kind == "file":
        return RecordOut(**base, file=FileIn(media_type=record.media_type or "application/octet-stream",
                                             data_base64=base64.b64encode(plaintext).decode()))
    return RecordOut(**base, content=json.loads(plaintext))


def live_person(session: Session, person_id: uuid.UUID) -> Person:
    """The person, unless unknown or erased: both are simply 'not found' to every caller."""
    person = session.get(Person, person_id)
    if person is None or person.shredded_at is not None:
        raise NotFound("no such person", code="person_not_found")
    return person
