"""/api/v1 endpoints of the vault: services write people and records, and read them for a purpose."""

from __future__ import annotations

from datetime import date
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from kluis.access.service import Caller
from kluis.gate.service import Question
from kluis.kit.errors import NotAllowed, NotFound, Problem
from kluis.policy.schemas import BasisWrite
from kluis.rights.service import Rights
from kluis.vault import employers
from kluis.vault.models import Employer, Person
from kluis.vault.schemas import (
    IdentifierOut,
    LookupIn,
    PersonIn,
    PersonOut,
    PersonPatch,
    RecordBatchIn,
    RecordIn,
    RecordOut,
    RecordsCreated,
)
from kluis.vault.service import Vault, add_employer
from kluis.web.deps import CallerDep, KluisDep, PurposeDep
from kluis.web.gated import gated
from kluis.web.threads import Threads
from kluis.wiring import Kluis

router = APIRouter(prefix="/api/v1", tags=["vault"])
REGISTER = str(BasisWrite.REGISTER)
# The id a lookup of an identifier nobody has is decided for: no person has it (the gate answers person_unknown).
NOBODY = UUID(int=0)
# Batches of records a server process writes at once (``kluis.web.threads``); more wait their turn, in order,
# holding no thread and no connection. A batch is work for the CPU under the interpreter's lock (checks, sealing,
# rows): at 64 batches in flight on two processes, each process's 40 threads took the lock from each other in
# turn, every batch took longer and more connections were opened (issue 18 §6). Two keep one batch's Python
# busy while the other waits for the database.
BATCH_THREADS = 2
BATCHES = Threads(BATCH_THREADS)


class EmployerIn(BaseModel):
    name: Annotated[str, Field(min_length=1, max_length=200)]


class EmployerOut(BaseModel):
    id: UUID
    name: str
    has_privacy_contact: bool = False
    agreement_reference: str | None = None
    agreement_signed_on: date | None = None
    agreement_ends_on: date | None = None


class EmployerTermsIn(BaseModel):
    """R-DSR-8: where requests about the data held for the employer go, and the service agreement under which
    benVitaal is its processor. Every field replaces the stored one; leave one out (or null) to clear it."""

    privacy_contact: Annotated[str | None, Field(max_length=254)] = None
    agreement_reference: Annotated[str | None, Field(max_length=80)] = None
    agreement_signed_on: date | None = None
    agreement_ends_on: date | None = None


class EmployerTermsOut(EmployerOut):
    forwarded: int  # requests that waited for a privacy contact and were mailed to it now


def _employer_out(employer: Employer) -> EmployerOut:
    """The contact's address is not echoed: the caller knows it, and responses end up in logs."""
    return EmployerOut(id=employer.id, name=employer.name, has_privacy_contact=employer.privacy_contact is not None,
                       agreement_reference=employer.agreement_reference,
                       agreement_signed_on=employer.agreement_signed_on, agreement_ends_on=employer.agreement_ends_on)


class RecordsOut(BaseModel):
    purpose: str
    records: list[RecordOut]


def vault_for(kluis: Kluis, session: Session, caller: Caller) -> Vault:
    return kluis.vault(session, actor=caller.actor)


def _person_out(vault: Vault, person: Person) -> PersonOut:
    return PersonOut(id=person.id, subject_types=person.subject_types, employer_id=person.employer_id,
                     identifiers=[IdentifierOut(kind=i.kind, scope=i.scope) for i in vault.identifiers_of(person.id)],
                     created_at=person.created_at, updated_at=person.updated_at)


def _own_purposes(caller: Caller, items: list[RecordIn], single: bool) -> None:
    allowed = set(caller.purposes)
    problems = [Problem(f"{'record' if single else f'items[{i}]'}.purposes", "purpose_not_allowed",
                        f"this key may not file data for {', '.join(sorted(set(item.purposes) - allowed))}")
                for i, item in enumerate(items) if not set(item.purposes) <= allowed]
    if problems:
        raise NotAllowed("records may only be filed for this key's purposes", code="purpose_not_allowed",
                         problems=problems)


@router.post("/employers", status_code=201, response_model=EmployerOut)
def create_employer(body: EmployerIn, kluis: KluisDep, caller: CallerDep) -> EmployerOut:
    with kluis.db.transaction() as session:
        employer = add_employer(session, kluis.clock, caller.actor, body.name)
        return _employer_out(employer)


@router.get("/employers/{employer_id}", response_model=EmployerOut)
def get_employer(employer_id: UUID, kluis: KluisDep, caller: CallerDep) -> EmployerOut:
    with kluis.db.sessions() as session:
        return _employer_out(employers.get(session, employer_id))


@router.put("/employers/{employer_id}/terms", response_model=EmployerTermsOut)
def set_employer_terms(employer_id: UUID, body: EmployerTermsIn, kluis: KluisDep, caller: CallerDep
                       ) -> EmployerTermsOut:
    """Set the employer's privacy contact and service agreement (R-DSR-8); requests that waited for a contact
    are mailed to it in the same transaction. Bad input: 422 with the fields, nothing changed."""
    with kluis.db.transaction() as session:
        employer = employers.set_terms(session, kluis.clock, caller.actor, employer_id, employers.EmployerTerms(
            body.privacy_contact, body.agreement_reference, body.agreement_signed_on, body.agreement_ends_on))
        forwarded = Rights(session, kluis, caller.actor).forward_waiting(employer.id)
        return EmployerTermsOut(**_employer_out(employer).model_dump(), forwarded=forwarded)


@router.post("/people", status_code=201, response_model=PersonOut)
def create_person(body: PersonIn, kluis: KluisDep, caller: CallerDep, purpose: PurposeDep) -> PersonOut:
    """Register a person. Allowed when the purpose names `register` among its basis writes in the policy (a
    contract, a consent to ask), or when the gate allows the purpose for somebody of whom nothing is known yet
    (legitimate interest, legal obligation); otherwise 403 `processing_refused` and nobody is registered."""
    name = caller.require(purpose)
    with gated(kluis, caller, "person.create", name, [("purpose", None, name)], write=REGISTER) as session:
        vault = vault_for(kluis, session, caller)
        return _person_out(vault, vault.create_person(body))


@router.patch("/people/{person_id}", response_model=PersonOut)
def update_person(person_id: UUID, body: PersonPatch, kluis: KluisDep, caller: CallerDep,
                  purpose: PurposeDep) -> PersonOut:
    """Change subject types, employer or identifiers: processing for the named purpose, which the gate must allow
    for this person (403 `processing_refused` with the reason otherwise, and nothing changes)."""
    name = caller.require(purpose)
    with gated(kluis, caller, "person.update", name, [("purpose", person_id, name)]) as session:
        vault = vault_for(kluis, session, caller)
        return _person_out(vault, vault.update_person(person_id, body))


@router.post("/people/lookup", response_model=PersonOut)
def lookup_person(body: LookupIn, kluis: KluisDep, caller: CallerDep, purpose: PurposeDep) -> PersonOut:
    """Find a person by e-mail, phone or employee number (through the blind index, never by decrypting), if the
    gate allows the named purpose for them. A person the gate refuses gets the same 404 as an identifier nobody
    has, so a lookup never tells a key about people it may not process; both are audited."""
    name = caller.require(purpose)
    with kluis.db.transaction() as session:
        vault = vault_for(kluis, session, caller)
        person_id = vault.identified(body.identifier)
        gate = kluis.gate(session, caller.actor)
        # An unknown identifier is decided too (as nobody's): both answers cost the same statements.
        decision = gate.decide(person_id or NOBODY, name)
        if decision.allowed and person_id is not None:
            return _person_out(vault, vault.looked_up(person_id, body.identifier.kind, name))
        gate.record_refused("person.lookup", "identifier", person_id, name, decision, {"kind": body.identifier.kind})
    raise NotFound(f"no person with this identifier may be processed for {name!r}", code="person_not_found")


@router.post("/people/{person_id}/records", status_code=201, response_model=RecordsCreated)
def add_record(person_id: UUID, body: RecordIn, kluis: KluisDep, caller: CallerDep,
               purpose: PurposeDep) -> RecordsCreated:
    """File a record for its purposes: the gate must allow each of them, and the named purpose, for this person
    (403 `processing_refused` listing each refused purpose otherwise, and nothing is written)."""
    name = caller.require(purpose)
    _own_purposes(caller, [body], single=True)
    questions = _record_questions(name, [(person_id, body)], single=True)
    with gated(kluis, caller, "records.add", name, questions) as session:
        return RecordsCreated(ids=vault_for(kluis, session, caller).add_records(person_id, [body]))


@router.post("/records/batch", status_code=201, response_model=RecordsCreated)
@BATCHES.runs
def add_records(body: RecordBatchIn, kluis: KluisDep, caller: CallerDep, purpose: PurposeDep) -> RecordsCreated:
    """Up to 10,000 records for any people; one bad item rejects the whole batch and writes nothing. The gate
    decides every person and purpose in one go; a refused one rejects the whole batch too (403
    `processing_refused`, each refused item by its index: `items[3].purposes[0]`). A server process writes two
    batches at once; more wait their turn."""
    name = caller.require(purpose)
    _own_purposes(caller, list(body.items), single=False)
    questions = _record_questions(name, [(item.person_id, item) for item in body.items], single=False)
    with gated(kluis, caller, "records.add", name, questions) as session:
        return RecordsCreated(ids=vault_for(kluis, session, caller).add_records(None, body.items))


@router.get("/people/{person_id}/records", response_model=RecordsOut)
def read_records(person_id: UUID, kluis: KluisDep, caller: CallerDep, purpose: PurposeDep,
                 category: Annotated[str | None, Query(max_length=40)] = None) -> RecordsOut:
    """The person's records kept for the purpose named in the Kluis-Purpose header, if the gate allows that
    purpose for this person (403 with the reason otherwise, audited, and nothing returned); the read is audited."""
    name = caller.require(purpose)
    with gated(kluis, caller, "records.read", name, [("purpose", person_id, name)]) as session:
        return RecordsOut(purpose=name, records=vault_for(kluis, session, caller).read_records(person_id, name,
                                                                                                 category))


def _record_questions(purpose: str, items: list[tuple[UUID, RecordIn]], single: bool) -> list[Question]:
    """What filing these records asks the gate: each record's person for each of its purposes, and for the
    purpose the call names when the record is not filed for it."""
    questions: list[Question] = []
    for index, (person_id, item) in enumerate(items):
        at = "record" if single else f"items[{index}]"
        if purpose not in item.purposes:
            questions.append(("purpose" if single else at, person_id, purpose))
        questions += [(f"{at}.purposes[{j}]", person_id, p) for j, p in enumerate(item.purposes)]
    return questions
