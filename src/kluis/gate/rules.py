"""The decision itself: pure, from the policy and one person's current facts (R-GATE-1, R-DSR-7)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Any

from kluis.policy.schemas import Policy

# Objection scopes besides a single purpose id.
ALL_LEGITIMATE_INTEREST = "legitimate_interest"
MARKETING = "marketing"  # direct marketing incl. profiling: an absolute right (Art. 21(2)-(3))
MARKETING_GROUP = "marketing"
# In a person's current facts, an objection the DPO is still assessing (Art. 21(1)): "pending:<scope>".
PENDING = "pending:"
RELATION_KINDS = ("employment", "account", "order", "application")
NOTHING: frozenset[str] = frozenset()
EMPTY: Mapping[str, Any] = MappingProxyType({})


class Facts:
    """What is true of a person now, as far as the gate cares. Treated as read-only.

    Built from the stored row, it keeps the objections, consents and relations as the JSON text that was
    read and decodes each only when a decision first needs it: a purpose on a legal obligation needs none of
    them, one on consent only the consents, one on contract only the relations (a plain class with slots: a
    frozen dataclass costs several microseconds per instance, and the gate builds one per person asked about).
    """

    __slots__ = ("exists", "erased", "restricted", "_objections", "_consents", "_relations")

    def __init__(self, exists: bool = True, erased: bool = False, restricted: bool = False,
                 objections: frozenset[str] | str = frozenset(),
                 consents: Mapping[str, Mapping[str, Any]] | str = EMPTY,
                 relations: tuple[Mapping[str, Any], ...] | str = ()) -> None:
        self.exists, self.erased, self.restricted = exists, erased, restricted
        self._objections, self._consents, self._relations = objections, consents, relations

    # Each property below decodes its text once. mypy narrows the class test (``__class__ is str``, a quarter of
    # the cost of an isinstance here) only where it holds, not past it: hence the ignore on each return.
    @property
    def objections(self) -> frozenset[str]:
        if self._objections.__class__ is str:
            self._objections = frozenset(json.loads(self._objections)) if self._objections != "[]" else NOTHING
        return self._objections  # type: ignore[return-value]

    @property
    def consents(self) -> Mapping[str, Mapping[str, Any]]:
        if self._consents.__class__ is str:
            self._consents = json.loads(self._consents) if self._consents != "{}" else EMPTY
        return self._consents  # type: ignore[return-value]

    @property
    def relations(self) -> tuple[Mapping[str, Any], ...]:
        if self._relations.__class__ is str:
            self._relations = tuple(
                {**r, "starts_at": datetime.fromisoformat(r["starts_at"]),
                 "ends_at": datetime.fromisoformat(r["ends_at"]) if r["ends_at"] else None}
                for r in json.loads(self._relations)) if self._relations != "[]" else ()
        return self._relations  # type: ignore[return-value]

    def __repr__(self) -> str:
        return (f"Facts(exists={self.exists}, erased={self.erased}, restricted={self.restricted}, "
                f"objections={self.objections!r}, consents={self.consents!r}, relations={self.relations!r})")


@dataclass(slots=True)
class Decision:
    purpose: str
    allowed: bool
    reason: str
    basis: str | None = None
    role: str | None = None
    facts: Mapping[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"purpose": self.purpose, "allowed": self.allowed, "reason": self.reason, "basis": self.basis,
                "role": self.role, "facts": dict(self.facts)}


UNKNOWN_PERSON = Facts(exists=False)
# The facts of most decisions, shared read-only (one fewer object per decision).
NOT_RESTRICTED: Mapping[str, Any] = MappingProxyType({"restricted": False})
RESTRICTED: Mapping[str, Any] = MappingProxyType({"restricted": True})


def active(relation: Mapping[str, Any], now: datetime) -> bool:
    starts, ends = relation["starts_at"], relation.get("ends_at")
    return starts <= now and (ends is None or now < ends)


def objection_covers(scope: str, purpose_id: str, group: str, basis: str) -> bool:
    return (scope == purpose_id or (scope == ALL_LEGITIMATE_INTEREST and basis == "legitimate_interest")
            or (scope == MARKETING and group == MARKETING_GROUP))


def is_absolute(policy: Policy, scope: str) -> bool:
    """An objection to direct marketing or to a marketing purpose (profiling) needs no weighing: it holds at once
    and for good (Art. 21(2)-(3)). Any other objection to legitimate interest is weighed by the DPO (Art. 21(1))."""
    terms = policy.purpose_terms.get(scope)
    return scope == MARKETING or (terms is not None and terms[2] == MARKETING_GROUP)


def _objection(facts: Facts, purpose_id: str, group: str, basis: str) -> tuple[str, str] | None:
    """(reason, scope) of the objection that stops this purpose: one in force first, else one being assessed."""
    pending = None
    for entry in sorted(facts.objections):
        scope = entry.removeprefix(PENDING)
        if objection_covers(scope, purpose_id, group, basis):
            if scope == entry:
                return "objected", scope
            pending = pending or ("objection_pending", scope)
    return pending


def decide(policy: Policy, purpose_id: str, facts: Facts, now: datetime) -> Decision:
    terms = policy.purpose_terms.get(purpose_id)
    if terms is None:
        return Decision(purpose_id, False, "purpose_unknown")
    basis, role, group = terms
    if not facts.exists:
        return Decision(purpose_id, False, "person_unknown", basis, role)
    if facts.erased:
        return Decision(purpose_id, False, "person_erased", basis, role)
    restricted = RESTRICTED if facts.restricted else NOT_RESTRICTED
    if basis == "legal_obligation":
        # A legal duty (the employer's fiscal record keeping) holds whatever the person asked; it covers
        # only its own purpose, which is why it is a purpose of its own.
        return Decision(purpose_id, True, "legal_obligation", basis, role, restricted)
    if facts.restricted:
        return Decision(purpose_id, False, "restricted", basis, role, restricted)
    if (basis == "legitimate_interest" or group == MARKETING_GROUP) and facts.objections:
        objection = _objection(facts, purpose_id, group, basis)
        if objection is not None:
            return Decision(purpose_id, False, objection[0], basis, role, {**restricted, "objection": objection[1]})
    if role == "processor" and not any(r["kind"] == "employment" and r.get("employer_id") and active(r, now)
                                       for r in facts.relations):
        return Decision(purpose_id, False, "no_employer_instruction", basis, role, restricted)
    if basis == "consent":
        consent = facts.consents.get(purpose_id)
        if consent is None:
            return Decision(purpose_id, False, "no_consent", basis, role, restricted)
        if consent.get("state") != "given":
            return Decision(purpose_id, False, "consent_withdrawn", basis, role,
                            {**restricted, "consent_id": consent.get("id")})
        since = policy.consent_from.get(purpose_id)
        if since is not None and (consent.get("policy_version") or 0) < since:
            # A material change to the purpose asked consent again (R-GOV-4): the old consent does not cover it.
            return Decision(purpose_id, False, "consent_renewal_needed", basis, role,
                            {**restricted, "consent_id": consent.get("id"),
                             "consent_policy_version": consent.get("policy_version"), "consent_from_version": since})
        return Decision(purpose_id, True, "consent", basis, role,
                        {**restricted, "consent_id": consent.get("id"),
                         "consent_policy_version": consent.get("policy_version")})
    if basis == "contract":
        relation = next((r for r in facts.relations if active(r, now)
                         and (role != "processor" or r["kind"] == "employment")), None)
        if relation is None:
            return Decision(purpose_id, False, "no_active_relation", basis, role, restricted)
        return Decision(purpose_id, True, "contract", basis, role,
                        {**restricted, "relation": relation["kind"], "employer_id": relation.get("employer_id")})
    return Decision(purpose_id, True, "legitimate_interest", basis, role, restricted)
