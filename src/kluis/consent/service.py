"""Giving and withdrawing consent with proof (R-CONS-1); the gate sees the change at once."""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

import kluis.gate.service as gate_service
from kluis.audit import service as audit
from kluis.config import Settings
from kluis.consent import rules
from kluis.consent.models import ConsentEvent, ConsentNotice, ConsentState
from kluis.kit.clock import Clock
from kluis.kit.errors import Invalid, Problem
from kluis.kit.ids import new_id
from kluis.policy.schemas import Policy
from kluis.vault.crypto import KeyRing, open_sealed, seal
from kluis.vault.keystore import KeyStore
from kluis.vault.service import live_person


class Running(Protocol):
    """What consent uses of the running Kluis (``kluis.wiring.Kluis``, which is built above this domain)."""

    settings: Settings
    keys: KeyRing
    clock: Clock

    @property
    def policy(self) -> Policy: ...

    @property
    def policy_version(self) -> int | None: ...

    def policy_of(self, seq: int) -> Policy | None: ...

    @property
    def keystore(self) -> KeyStore: ...

    def gate(self, session: Session, actor: str) -> gate_service.Gate: ...

    def consents(self, session: Session, actor: str) -> Consents: ...


@dataclass
class Consents:
    session: Session
    kluis: Running
    actor: str

    def give(self, person_id: uuid.UUID, purpose: str, *, method: str, notice_text: str, lang: str,
             ip: str | None = None, reference: str | None = None, received_at: datetime | None = None,
             policy_version: int | None = None) -> ConsentEvent:
        """``policy_version``: the stored version whose terms the notice showed, when it is not the one in force
        (consent asked again for a change published to take effect later, R-GOV-4)."""
        return self._record(person_id, purpose, "given", method, notice_text, lang, ip, reference, received_at,
                            policy_version)

    def withdraw(self, person_id: uuid.UUID, purpose: str, *, method: str, notice_text: str | None = None,
                 lang: str | None = None, ip: str | None = None, reference: str | None = None,
                 received_at: datetime | None = None) -> ConsentEvent:
        """One action, whatever the route; withdrawing what was never given is recorded too (it is harmless
        and proves the wish), so nobody learns from the answer whether consent existed. Without a language
        the person's own (that of their latest consent) is kept. A message to the DPO counts from
        ``received_at``, when it reached benVitaal, not from when staff register it."""
        return self._record(person_id, purpose, "withdrawn", method, notice_text,
                            lang or self.language(person_id, purpose), ip, reference, received_at)

    def language(self, person_id: uuid.UUID, purpose: str) -> str:
        """The language the person last used for this purpose (their notice's), Dutch when none is known."""
        found = self.session.scalar(select(ConsentEvent.lang).where(
            ConsentEvent.person_id == person_id, ConsentEvent.purpose == purpose, ConsentEvent.lang.is_not(None))
            .order_by(ConsentEvent.seq.desc()).limit(1))
        return found or "nl"

    def history(self, person_id: uuid.UUID) -> list[dict[str, Any]]:
        """Every consent event of the person with its proof (R-CONS-1): when it took effect and was recorded,
        how (route), under which statement version, the notice text shown, its language, the truncated IP."""
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
                        "method": event.method, "at": event.at.isoformat(),
                        "recorded_at": event.recorded_at.isoformat() if event.recorded_at else None,
                        "policy_version": event.policy_version, "notice_text": text, "lang": event.lang,
                        "reference": event.reference, "ip_network": proof.get("ip")})
        return out

    def _record(self, person_id: uuid.UUID, purpose: str, action: str, method: str, notice_text: str | None,
                lang: str, ip: str | None, reference: str | None, received_at: datetime | None,
                shown_version: int | None = None) -> ConsentEvent:
        live_person(self.session, person_id)
        problems = []
        policy = self.kluis.policy if shown_version is None else self.kluis.policy_of(shown_version)
        if policy is None:
            raise Invalid("the consent was not given", code="consent_invalid",
                          problems=[Problem("policy_version", "unknown", "a stored version of the policy")])
        version = shown_version or self.kluis.policy_version
        now = self.kluis.clock.now()
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
        if method in rules.MESSAGE_METHODS and not reference:
            problems.append(Problem("reference", "required", "staff record the reference of the person's message"))
        if reference is not None and len(reference) > 80:
            problems.append(Problem("reference", "too_long", "at most 80 characters"))
        problems += rules.check_received_at(method, received_at, now)
        if received_at is not None and not problems:
            problems += self._not_overtaken(person_id, purpose, received_at)
        network = None
        if ip:
            try:
                network = rules.truncate_ip(ip)
            except ValueError:
                problems.append(Problem("ip", "ip_invalid", "not an IP address"))
        if problems:
            raise Invalid(f"the consent was not {action}", code="consent_invalid", problems=problems)
        notice_hash = self._notice(notice_text, lang) if notice_text else None
        event_id = new_id()
        proof = None
        if network:
            dek = self.kluis.keystore.data_keys(self.session, [person_id])[person_id]
            proof = seal(dek, person_id, event_id, "consent_proof", json.dumps({"ip": network}).encode())
        event = ConsentEvent(id=event_id, person_id=person_id, purpose=purpose, action=action, method=method,
                             at=received_at or now, recorded_at=now, lang=lang,
                             policy_version=version, notice_hash=notice_hash,
                             recorded_by=self.actor, reference=reference, proof=proof)
        self.session.add(event)
        self.session.flush()
        consents = current_consents(self.session, person_id)
        store_current(self.session, person_id, consents)
        gate_service.Gate(self.session, policy, self.kluis.clock, self.actor).refresh(person_id, consents)
        audit.append(self.session, self.kluis.clock, actor=self.actor, action=f"consent.{action}",
                     object_type="consent_event", object_ids=[event.id, person_id],
                     details={"purpose": purpose, "method": method, "lang": lang,
                              "policy_version": version})
        return event

    def _not_overtaken(self, person_id: uuid.UUID, purpose: str, received_at: datetime) -> list[Problem]:
        """A message that arrived before the person's latest change for this purpose would undo a newer wish."""
        latest = self.session.scalar(select(ConsentEvent.at).where(
            ConsentEvent.person_id == person_id, ConsentEvent.purpose == purpose)
            .order_by(ConsentEvent.seq.desc()).limit(1))
        if latest is not None and latest > received_at:
            return [Problem("received_at", "received_before_latest_change",
                            "the person changed this consent after the message arrived; ask them what they want now")]
        return []

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
