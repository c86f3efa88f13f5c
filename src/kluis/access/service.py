"""Creating, checking and revoking service API keys (R-GATE-2)."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from kluis.access.models import ApiKey
from kluis.audit import service as audit
from kluis.db import changes_decisions
from kluis.kit.clock import Clock
from kluis.kit.errors import Invalid, NotAllowed, NotFound, Problem, Unauthenticated
from kluis.kit.ids import new_id
from kluis.policy.schemas import Policy

_SERVICE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,79}$")
_TOKEN = re.compile(r"^kluis_([A-Za-z0-9]{12})_([A-Za-z0-9_-]{43})$")


@dataclass(frozen=True)
class Caller:
    """An authenticated service and the purpose it named for this call."""

    key_id: str
    service: str
    purposes: tuple[str, ...]
    powers: tuple[str, ...] = ()

    @property
    def actor(self) -> str:
        return f"key:{self.key_id}"

    def require(self, purpose: str | None) -> str:
        if not purpose:
            raise NotAllowed("name the purpose of this call in the Kluis-Purpose header",
                             code="purpose_required")
        if purpose not in self.purposes:
            raise NotAllowed(f"this key may not be used for purpose {purpose!r}", code="purpose_not_allowed")
        return purpose

    def require_power(self, power: str) -> None:
        if power not in self.powers:
            raise NotAllowed(f"this key lacks the power {power!r} (kluis access create --power {power})",
                             code="power_required")


# Powers a key can be given besides its purposes. legal_holds: place, list and release legal holds, which
# stop erasure and the retention sweep (R-RET-3); a service key for ordinary processing never has it.
# person_account: the account page, passing on what the signed-in person decided themselves (withdrawing an
# objection, which only the person may do: R-GATE-1).
LEGAL_HOLDS = "legal_holds"
PERSON_ACCOUNT = "person_account"
# breach_report: register incidents and read the breach register; breach_decide: also decide on the risk, list the
# affected people, file with the AP and notify the people concerned (R-GOV-3), as the DPO does in the console.
BREACH_REPORT = "breach_report"
BREACH_DECIDE = "breach_decide"
# authority_orders: record authority orders and refused informal requests, and read their state (R-SHR-3); the
# decision stays with a DPO in the console or CLI, so a key never approves.
AUTHORITY_ORDERS = "authority_orders"
# complaints_register: register complaints that came by mail, phone or letter and read the queue (ids, dates,
# states); complaints_handle: also read the text, assign, link, note and answer (R-GOV-2). The key's tool names the
# staff member acting (``Kluis-Staff``), whose role and assignment decide further, as in the console.
COMPLAINTS_REGISTER = "complaints_register"
COMPLAINTS_HANDLE = "complaints_handle"
# employer_instructions: record an employer's instruction on a request forwarded to it (R-DSR-8), as the DPO does in
# the console; processors_register: read the processors register with its agreements' state (R-SHR-2).
EMPLOYER_INSTRUCTIONS = "employer_instructions"
PROCESSORS_REGISTER = "processors_register"
# requests_assign: give a request to a handler or back to the team (issue 19 §2), naming in ``Kluis-Staff`` the
# staff member acting, who must hold requests.assign (the DPO) as in the console.
REQUESTS_ASSIGN = "requests_assign"
POWERS = (LEGAL_HOLDS, PERSON_ACCOUNT, BREACH_REPORT, BREACH_DECIDE, AUTHORITY_ORDERS, COMPLAINTS_REGISTER,
          COMPLAINTS_HANDLE, EMPLOYER_INSTRUCTIONS, PROCESSORS_REGISTER, REQUESTS_ASSIGN)


def _hash(secret: str) -> str:
    # The secret carries 256 random bits, so a fast hash suffices (no password stretching needed).
    return hashlib.sha256(secret.encode()).hexdigest()


def create_key(session: Session, clock: Clock, policy: Policy, *, service: str, purposes: list[str],
               actor: str, powers: Sequence[str] = ()) -> tuple[ApiKey, str]:
    problems = []
    for i, power in enumerate(powers):
        if power not in POWERS:
            problems.append(Problem(f"powers[{i}]", "power_unknown", f"unknown power {power!r} (one of: "
                                    f"{', '.join(POWERS)})"))
    if not _SERVICE.match(service or ""):
        problems.append(Problem("service", "service_invalid",
                                "lower-case letters, digits, '.', '_' or '-', at most 80 characters"))
    if not purposes:
        problems.append(Problem("purposes", "purpose_required", "a key needs at least one purpose"))
    for i, purpose in enumerate(purposes):
        if purpose not in policy.purpose_ids:
            problems.append(Problem(f"purposes[{i}]", "purpose_unknown",
                                    f"unknown purpose {purpose!r} (one of: {', '.join(sorted(policy.purpose_ids))})"))
    if problems:
        raise Invalid("the key was not created", code="key_invalid", problems=problems)
    prefix = "".join(secrets.choice("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
                     for _ in range(12))
    secret = secrets.token_urlsafe(32)
    key = ApiKey(id=new_id(), prefix=prefix, secret_hash=_hash(secret), service=service,
                 purposes=sorted(set(purposes)), powers=sorted(set(powers)), created_at=clock.now())
    session.add(key)
    session.flush()
    changes_decisions(session)  # the key works at once, wherever decisions are read
    audit.append(session, clock, actor=actor, action="api_key.created", object_type="api_key",
                 object_ids=[key.id], details={"service": service, "purposes": key.purposes, "powers": key.powers})
    return key, f"kluis_{prefix}_{secret}"


def bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header (the scheme in any case, RFC 7235), else None:
    a bare token or another scheme is not a key. Every path that takes a key (the endpoints and both hot
    paths) reads the header through here."""
    scheme, _, token = (authorization or "").strip().partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def split_token(token: str | None) -> tuple[str, str] | None:
    """(prefix, hash of the secret) of a well-formed token, else None."""
    match = _TOKEN.match(token or "")
    return (match.group(1), _hash(match.group(2))) if match else None


def key_accepts(secret_hash: str, revoked: bool, presented_hash: str) -> bool:
    """A stored key accepts a presented secret while it is not revoked (compared in constant time)."""
    return not revoked and hmac.compare_digest(secret_hash, presented_hash)


def authenticate(session: Session, token: str | None) -> Caller:
    parts = split_token(token)
    key = session.scalars(select(ApiKey).where(ApiKey.prefix == parts[0])).one_or_none() if parts else None
    if key is None or parts is None or not key_accepts(key.secret_hash, key.revoked_at is not None, parts[1]):
        raise Unauthenticated("a valid API key is required (Authorization: Bearer kluis_…)", code="key_invalid")
    return Caller(key_id=str(key.id), service=key.service, purposes=tuple(key.purposes),
                  powers=tuple(key.powers or ()))


def revoke_key(session: Session, clock: Clock, prefix: str, actor: str) -> ApiKey:
    key = session.scalars(select(ApiKey).where(ApiKey.prefix == prefix)).one_or_none()
    if key is None:
        raise NotFound(f"no key with prefix {prefix!r}", code="key_not_found")
    if key.revoked_at is None:
        key.revoked_at = clock.now()
        changes_decisions(session)  # refused at once, wherever decisions are read
        audit.append(session, clock, actor=actor, action="api_key.revoked", object_type="api_key",
                     object_ids=[key.id])
    return key


def list_keys(session: Session) -> list[ApiKey]:
    return list(session.scalars(select(ApiKey).order_by(ApiKey.created_at)))
