"""What a signed-in person sees of themselves in Mijn privacy (R-DSR-3, R-SHR-1, R-RET-1, R-CONS-1): their data
by category with its source, purposes, basis and the day it is due to go; who received it; their requests,
complaints and preferences; and a timeline of what happened to their data. Staff are never named.

Reading the data is processing for the statement's support purpose (answering the person's questions and
requests): the gate decides it like any other read, a refusal is audited, and the data is then not shown (the
person can still ask for an access package, which the law answers whatever the gate says). The read is audited.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kluis.audit import service as audit
from kluis.complaints.models import Complaint
from kluis.complaints.rules import short_reference as complaint_reference
from kluis.complaints.service import Complaints
from kluis.disclosures.service import Disclosures
from kluis.erasure.models import ErasureJob
from kluis.kit.clock import as_utc
from kluis.kit.errors import NotFound
from kluis.policy.schemas import UnknownPolicyId
from kluis.retention import service as retention
from kluis.rights.models import AccessPackage, DataSubjectRequest, Rectification
from kluis.rights.packages.service import Packages
from kluis.rights.rules import PackageState, State, short_reference
from kluis.rights.service import Rights
from kluis.vault.crypto import open_sealed

if TYPE_CHECKING:
    from kluis.policy.schemas import Policy
    from kluis.wiring import Kluis

PURPOSE = "support"  # the statement's purpose for answering the person's questions and requests
CLOSED = {State.DONE, State.REFUSED, State.EXPIRED}


@dataclass(frozen=True)
class Item:
    """One record as the person reads it: plain values by field, or a file's type."""

    id: uuid.UUID
    category: str
    values: list[tuple[str, str, str, bool]]  # (field id, field name, value shown, self-editable)
    file_type: str | None
    source: str
    purposes: list[tuple[str, str]]  # (purpose name, basis name)
    for_employer: bool
    collected_on: date
    due_on: date | None
    held: bool

    @property
    def editable(self) -> bool:
        return any(editable for *_, editable in self.values)


@dataclass(frozen=True)
class Event:
    """One line of the timeline: what happened (``kind``), when, and the names it needs."""

    at: datetime
    kind: str
    params: dict[str, str] = field(default_factory=dict)


@dataclass
class Overview:
    shown: bool  # False: the gate refused the read (the refusal is audited with its reason)
    categories: list[tuple[str, list[Item]]]
    disclosures: list[dict[str, Any]]
    requests: list[dict[str, Any]]
    complaints: list[dict[str, Any]]
    timeline: list[Event]


def _name(text: Any, lang: str) -> str:
    return text if isinstance(text, str) else str(text.get(lang))


def _shown_value(value: Any) -> tuple[str, bool]:
    """A field's value as text, and whether the person can type a new one over it (text, or nothing yet)."""
    if value is None:
        return "", True
    if isinstance(value, str):
        return value, True
    return json.dumps(value, ensure_ascii=False), False


class Reader:
    """Reads the person's own data for Mijn privacy; every read is theirs only (the caller's session's person)."""

    def __init__(self, session: Session, kluis: Kluis, actor: str, person_id: uuid.UUID, lang: str) -> None:
        self.session, self.kluis, self.actor, self.person_id, self.lang = session, kluis, actor, person_id, lang
        self.policy: Policy = kluis.policy

    def overview(self) -> Overview:
        now = self.kluis.clock.now()
        gate = self.kluis.gate(self.session, self.actor)
        decision = gate.decide(self.person_id, PURPOSE)
        if decision.allowed:
            categories = self._records()
        else:
            gate.record_refused("mijn.records_read", "records", self.person_id, PURPOSE, decision)
            categories = []
        disclosures = Disclosures(self.session, self.policy, self.kluis.clock, self.actor).of(self.person_id, now)
        shared = [{"at": d.at, "party": self._party(d.party), "purpose": self._purpose(d.purpose),
                   "categories": [self._category(c) for c in d.categories]} for d in disclosures]
        requests = self._requests()
        complaints = self._complaints()
        timeline = self._timeline(shared, requests, complaints)
        return Overview(decision.allowed, categories, shared, requests, complaints, timeline)

    # --- data -----------------------------------------------------------------------------------

    def _records(self) -> list[tuple[str, list[Item]]]:
        vault = self.kluis.vault(self.session, self.actor)
        rows = vault.records_of(self.person_id)
        due = {r.record_id: r for r in retention.explain(self.session, self.kluis.clock, self.policy, self.person_id)}
        dek = self.kluis.keystore.data_keys(self.session, [self.person_id]).get(self.person_id) if rows else None
        by_category: dict[str, list[Item]] = {}
        for row in rows:
            if dek is None:
                break
            plain = open_sealed(dek, row.person_id, row.id, row.category, row.ciphertext)
            by_category.setdefault(row.category, []).append(self._item(row, plain, due.get(row.id)))
        self._audit_read([r.id for r in rows])
        order = {c: i for i, c in enumerate(self.policy.category_ids)}
        ordered = sorted(by_category.items(), key=lambda found: order.get(found[0], len(order)))
        return [(self._category(category), items) for category, items in ordered]

    def _item(self, row: Any, plain: bytes, kept: retention.RecordRetention | None) -> Item:
        category = self.policy.category(row.category)
        names = {f.id: _name(f.name, self.lang) for f in category.fields}
        editable = set(category.self_editable)
        values: list[tuple[str, str, str, bool]] = []
        file_type = None
        if row.content_kind == "file":
            file_type = row.media_type or "application/octet-stream"
        else:
            content = json.loads(plain)
            for field_id in [*names, *(k for k in content if k not in names)]:
                if field_id not in content and field_id not in editable:
                    continue
                text, typed = _shown_value(content.get(field_id))
                values.append((field_id, names.get(field_id, field_id), text, typed and field_id in editable))
        return Item(id=row.id, category=row.category, values=values, file_type=file_type,
                    source=self._source(row.source),
                    purposes=[(self._purpose(p), self._basis(p, row.legal_basis)) for p in row.purposes],
                    for_employer=row.controller == "employer", collected_on=as_utc(row.collected_at).date(),
                    due_on=kept.due_on if kept else None, held=bool(kept and kept.holds))

    def record(self, record_id: uuid.UUID) -> Item | None:
        """One of the person's own records as the page shows it (another person's is not found); the read is
        decided by the gate and audited as the page's. None when the gate refuses: the refusal is audited in the
        caller's transaction, which goes on to commit it (nothing else is read)."""
        row = self.kluis.vault(self.session, self.actor).record_of(self.person_id, record_id)
        gate = self.kluis.gate(self.session, self.actor)
        decision = gate.decide(self.person_id, PURPOSE)
        if not decision.allowed:
            gate.record_refused("mijn.records_read", "record", self.person_id, PURPOSE, decision)
            return None
        dek = self.kluis.keystore.data_keys(self.session, [self.person_id]).get(self.person_id)
        if dek is None:
            raise NotFound("this person has no such record", code="record_not_found")
        kept = next((r for r in retention.explain(self.session, self.kluis.clock, self.policy, self.person_id)
                     if r.record_id == row.id), None)
        item = self._item(row, open_sealed(dek, row.person_id, row.id, row.category, row.ciphertext), kept)
        self._audit_read([row.id])
        return item

    def _audit_read(self, record_ids: list[uuid.UUID]) -> None:
        audit.append(self.session, self.kluis.clock, actor=self.actor, action="records.read", object_type="record",
                     object_ids=record_ids, details={"person_id": str(self.person_id), "purpose": PURPOSE,
                                                     "count": len(record_ids), "via": "mijn_privacy"})

    # --- requests and complaints --------------------------------------------------------------------

    def _requests(self) -> list[dict[str, Any]]:
        rights = Rights(self.session, self.kluis, self.actor)
        packages = Packages(self.session, self.kluis, self.actor)
        rows = self.session.scalars(select(DataSubjectRequest).where(DataSubjectRequest.person_id == self.person_id)
                                    .order_by(DataSubjectRequest.received_at.desc()))
        now = self.kluis.clock.now()
        out = []
        for row in rows:
            ready = [p for p in packages.for_request(row.id)
                     if p.state == PackageState.READY and p.expires_at is not None and now < as_utc(p.expires_at)]
            out.append({"id": row.id, "reference": short_reference(row.id), "type": row.type, "scope": row.scope,
                        "state": row.state, "received_at": row.received_at, "verified_at": row.verified_at,
                        "closed_at": row.closed_at, "deadline_on": row.deadline_on, "open": row.state not in CLOSED,
                        "status_path": f"/privacy-centre/requests/{rights.token_of(row)}",
                        "packages": [self._package(p) for p in ready]})
        return out

    @staticmethod
    def _package(package: AccessPackage) -> dict[str, Any]:
        return {"id": package.id, "portability": package.portability, "expires_at": package.expires_at}

    def _complaints(self) -> list[dict[str, Any]]:
        complaints = Complaints(self.session, self.kluis, self.actor)
        rows = self.session.scalars(select(Complaint).where(Complaint.person_id == self.person_id)
                                    .order_by(Complaint.received_at.desc()))
        return [{"reference": complaint_reference(c.id), "state": c.state, "received_at": c.received_at,
                 "deadline_on": c.deadline_on, "answered_at": c.answered_at,
                 "status_path": f"/privacy-centre/complaints/{complaints.token_of(c)}"} for c in rows]

    # --- the timeline ------------------------------------------------------------------------------

    def _timeline(self, shared: list[dict[str, Any]], requests: list[dict[str, Any]],
                  complaints: list[dict[str, Any]]) -> list[Event]:
        events: list[Event] = []
        for row in self.kluis.vault(self.session, self.actor).records_of(self.person_id):
            events.append(Event(row.collected_at, "collected", {"category": self._category(row.category),
                                                                  "source": self._source(row.source)}))
        events += [Event(d["at"], "shared", {"party": d["party"], "categories": ", ".join(d["categories"])})
                   for d in shared]
        for consent in self.kluis.consents(self.session, self.actor).history(self.person_id):
            events.append(Event(datetime.fromisoformat(consent["at"]), f"consent_{consent['action']}",
                                {"purpose": self._purpose(consent["purpose"])}))
        gate = self.kluis.gate(self.session, self.actor)
        for objection in gate.objections_of(self.person_id):
            events.append(Event(objection.at, "objection", {"scope": objection.scope}))
            if objection.lifted_at is not None:
                events.append(Event(objection.lifted_at, "objection_lifted", {"scope": objection.scope}))
        for restriction in gate.restrictions_of(self.person_id):
            events.append(Event(restriction.at, "restricted"))
            if restriction.lifted_at is not None:
                events.append(Event(restriction.lifted_at, "restriction_lifted"))
        for request in requests:
            params = {"type": request["type"], "reference": request["reference"]}
            events.append(Event(request["received_at"], "request_received", params))
            if request["verified_at"] is not None:
                events.append(Event(request["verified_at"], "request_verified", params))
            if request["closed_at"] is not None:
                events.append(Event(request["closed_at"], "request_closed", {**params, "state": request["state"]}))
        for fixed in self.session.scalars(select(Rectification).where(Rectification.person_id == self.person_id)):
            events.append(Event(fixed.at, "rectified", {"category": self._category(fixed.category),
                                                        "fields": ", ".join(fixed.fields)}))
        for job in self.session.scalars(select(ErasureJob).where(ErasureJob.person_id == self.person_id,
                                                                  ErasureJob.finished_at.is_not(None))):
            assert job.finished_at is not None
            events.append(Event(job.finished_at, "erased"))
        for complaint in complaints:
            events.append(Event(complaint["received_at"], "complaint_received", {"reference": complaint["reference"]}))
            if complaint["answered_at"] is not None:
                events.append(Event(complaint["answered_at"], "complaint_answered",
                                    {"reference": complaint["reference"]}))
        return sorted(events, key=lambda e: as_utc(e.at), reverse=True)

    # --- names from the policy, in the person's language ------------------------------------------------

    def _category(self, category_id: str) -> str:
        return _name(self.policy.category(category_id).name, self.lang) if category_id in self.policy.category_ids \
            else category_id

    def _purpose(self, purpose_id: str) -> str:
        return _name(self.policy.purpose(purpose_id).name, self.lang) if purpose_id in self.policy.purpose_ids \
            else purpose_id

    def _source(self, source_id: str) -> str:
        return _name(self.policy.source(source_id).name, self.lang) if source_id in self.policy.source_ids \
            else source_id

    def _basis(self, purpose_id: str, fallback: str) -> str:
        basis = str(self.policy.purpose(purpose_id).basis) if purpose_id in self.policy.purpose_ids else fallback
        named = {str(b.id): b.name for b in self.policy.legal_bases}
        return _name(named[basis], self.lang) if basis in named else basis

    def _party(self, ref: str) -> str:
        try:
            return _name(self.policy.party(ref).name, self.lang)
        except UnknownPolicyId:  # a party the policy no longer names: shown by its reference
            return ref
