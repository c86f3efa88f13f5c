"""Giving and withdrawing consent with proof (R-CONS-1); the gate sees the change at once."""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

import kluis.gate.service as gate_service
from kluis.audit import service as audit
from kluis.consent import rules
from kluis.consent.models import ConsentEvent, ConsentNotice, ConsentState
from kluis.kit.errors import Invalid, Problem
from kluis.kit.ids import new_id
from kluis.vault.crypto import open_sealed, seal
from kluis.vault.service import live_person

if TYPE_CHECKING:
    from kluis.wiring import Kluis


@dataclass
class Consents:
    session: Session
    kluis: Kluis
    actor: str

    def give(self, person_id: uuid.UUID, purpose: str, *, method: str, notice_text: str, lang: str,
             ip: str | None = None, reference: str | None = None) -> ConsentEvent:
        return self._record(person_id, purpose, "given", method, notice_text, lang, ip, reference)

    def withdraw(self, person_id: uuid.UUID, purpose: str, *, method: str, notice_text: str | None = None,
                 lang: str = "nl", ip: str | None = None, reference: str | None = None) -> ConsentEvent:
        """One action, whatever the route; withdrawing what was never given is recorded too (it is harmless
        and proves the wish), so nobody learns from the answer whether consent existed."""
        return self._record(person_id, purpose, "withdrawn", method, notice_text, lang, ip, reference)

    def history(self, person_id: uuid.UUID) -> list[dict[str, Any]]:
        """Every consent event of the person, with the notice text shown (for access packages)."""
        live_person(self.session, person_id)
        rows = self.session.execute(select(ConsentEvent, ConsentNotice.text).outerjoin(
            ConsentNotice, ConsentNotice.hash == ConsentEvent.notice_hash).where(
            ConsentEvent.person_id == person_id).order_by(ConsentEvent.seq)).all()
        dek = self.kluis.keystore.data_keys(self.session, [person_id]).get(person_id)
        out = []
        for event, text in rows:
            proof = (json.loads(open_sealed(dek, person_id, event.id, "consent_proof", event.proof))
                     if event.proof and dek else {})
            out.append({"id": str(event.id), "purpose": event.purpose, "action": event.action,
                        "method": event.method, "at": event.at.isoformat(), "policy_version": event.policy_version,
                        "notice_text": text, "reference": event.reference, "ip_network": proof.get("ip")})
        return out

    def _record(self, person_id: uuid.UUID, purpose: str, action: str, method: str, notice_text: str | None,
                lang: str, ip: str | None, reference: str | None) -> ConsentEvent:
        live_person(self.session, person_id)
        problems = []
        policy = self.kluis.policy
        if purpose not in policy.purpose_ids or str(policy.purpose(purpose).basis) != "consent":
            consent_purposes = [p.id for p in policy.purposes if str(p.basis) == "consent"]
            problems.append(Problem("purpose", "not_a_consent_purpose",
                                    f"consent is only asked for {', '.join(consent_purposes)}"))
        allowed = rules.GIVE_METHODS if action == "given" else rules.WITHDRAW_METHODS
        if method not in allowed:
            problems.append(Problem("method", "method_invalid", f"one of: {', '.join(allowed)}"))
        if action == "given" and not (notice_text or "").strip():
            problems.append(Problem("notice_text", "required", "the exact text the person was shown is the proof"))
        if notice_text is not None and len(notice_text) > 10_000:
            problems.append(Problem("notice_text", "too_long", "at most 10,000 characters"))
        if lang not in ("nl", "en"):
            problems.append(Problem("lang", "lang_invalid", "nl or en"))
        if method in ("staff_written_request", "dpo_email") and not reference:
            problems.append(Problem("reference", "required", "staff record the reference of the person's message"))
        if reference is not None and len(reference) > 80:
            problems.append(Problem("reference", "too_long", "at most 80 characters"))
        network = None
        if ip:
            try:
                network = rules.truncate_ip(ip)
            except ValueError:
                problems.append(Problem("ip", "ip_invalid", "not an IP address"))
        if problems:
            raise Invalid(f"the consent was not {action}", code="consent_invalid", problems=problems)
        now = self.kluis.clock.now()
        notice_hash = self._notice(notice_text, lang) if notice_text else None
        event_id = new_id()
        proof = None
        if network:
            dek = self.kluis.keystore.data_keys(self.session, [person_id])[person_id]
            proof = seal(dek, person_id, event_id, "consent_proof", json.dumps({"ip": network}).encode())
        event = ConsentEvent(id=event_id, person_id=person_id, purpose=purpose, action=action, method=method, at=now,
                             policy_version=self.kluis.policy_version, notice_hash=notice_hash,
                             recorded_by=self.actor, reference=reference, proof=proof)
        self.session.add(event)
        self.session.flush()
        gate_service.Gate(self.session, policy, self.kluis.clock, self.actor).refresh(person_id)
        audit.append(self.session, self.kluis.clock, actor=self.actor, action=f"consent.{action}",
                     object_type="consent_event", object_ids=[event.id, person_id],
                     details={"purpose": purpose, "method": method, "policy_version": self.kluis.policy_version})
        return event

    def _notice(self, text: str, lang: str) -> str:
        digest = hashlib.sha256(f"{lang}\x1f{text}".encode()).hexdigest()
        if self.session.get(ConsentNotice, digest) is None:
            self.session.add(ConsentNotice(hash=digest, lang=lang, text=text, created_at=self.kluis.clock.now()))
            self.session.flush()
        return digest


def current_consents(session: Session, person_id: uuid.UUID) -> dict[str, dict[str, Any]]:
    """purpose -> the latest event's id, state, policy version and time (what the gate decides from)."""
    out: dict[str, dict[str, Any]] = {}
    for event in session.scalars(select(ConsentEvent).where(ConsentEvent.person_id == person_id)
                                 .order_by(ConsentEvent.seq)):
        out[event.purpose] = {"id": str(event.id), "state": event.action, "policy_version": event.policy_version,
                              "at": event.at.isoformat()}
    return out


def store_current(session: Session, person_id: uuid.UUID, consents: dict[str, dict[str, Any]]) -> None:
    """Rewrite the person's rows of currently given consents (what audiences join on)."""
    session.execute(delete(ConsentState).where(ConsentState.person_id == person_id))
    given = [{"person_id": person_id, "purpose": purpose, "event_id": uuid.UUID(c["id"])}
             for purpose, c in consents.items() if c["state"] == "given"]
    if given:
        session.execute(ConsentState.__table__.insert(), given)
