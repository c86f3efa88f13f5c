"""The privacy centre's public intake (R-DSR-1): its rate limits, and the lapse of requests never verified.

Two limits hold for each submit of the form and each new code: one per client network (an IPv4 address, or
the /64 of an IPv6 address: one connection usually owns a whole /64) and one per target address, whoever
sends. Both are counted in the database (``intake_limit``), so every ``serve`` process shares them, under a
keyed digest (the blind-index key in its own domain): neither an IP address nor an e-mail address is stored.
The per-address limit is the same for every address, known to the vault or not, so hitting it tells nothing
about who is held.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from kluis import jobs
from kluis.audit import service as audit
from kluis.db import rowcount
from kluis.kit.errors import DomainError
from kluis.mail.models import Outbox
from kluis.rights import mail as rights_mail
from kluis.rights import rules
from kluis.rights.models import DataSubjectRequest, IntakeLimit, VerificationCode
from kluis.rights.rules import Channel, State, Window
from kluis.vault.identifiers import normalise

if TYPE_CHECKING:
    from kluis.config import Settings
    from kluis.wiring import Kluis

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass
class RateLimited(DomainError):
    code: str = "intake_rate_limited"
    status: int = 429
    retry_after: int = 60


@dataclass(frozen=True)
class Bucket:
    key: str  # hex keyed digest
    window: Window


def _networks(entries: Iterable[str]) -> list[Network]:
    return [ipaddress.ip_network(entry.strip(), strict=False) for entry in entries if entry.strip()]


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        found = ipaddress.ip_address(text.strip())
    except ValueError:
        return None
    if isinstance(found, ipaddress.IPv6Address) and found.ipv4_mapped is not None:
        return found.ipv4_mapped
    return found


def client_of(peer: str | None, forwarded_for: str | None, trusted_proxies: Sequence[str]) -> str:
    """The client a request counts against. The peer address, unless the peer is a trusted proxy: then the
    nearest address in X-Forwarded-For that is not itself a trusted proxy. IPv6 counts by its /64."""
    trusted = _networks(trusted_proxies)

    def is_trusted(address: ipaddress.IPv4Address | ipaddress.IPv6Address | None) -> bool:
        return address is not None and any(address in network for network in trusted)

    client = _address(peer or "")
    if client is not None and is_trusted(client) and forwarded_for:
        for hop in reversed(forwarded_for.split(",")):
            address = _address(hop)
            if address is None:
                break  # a hop that is no address: stop at the last one believed
            client = address
            if not is_trusted(address):
                break
    if client is None:
        return f"host:{(peer or '-').strip()[:200]}"
    if isinstance(client, ipaddress.IPv6Address):
        return str(ipaddress.ip_network(f"{client}/64", strict=False))
    return str(client)


def address_key(kluis: Kluis, email: str) -> str:
    """The keyed digest of a normalised e-mail address, in the intake's own domain (never a vault digest)."""
    normalised = normalise("email", email, None, "email")
    value = normalised[0] if isinstance(normalised, tuple) else email.strip().casefold()
    return kluis.keys.digest("intake:address", "", value).hex()


def client_key(kluis: Kluis, client: str) -> str:
    return kluis.keys.digest("intake:client", "", client).hex()


def client_bucket(kluis: Kluis, client: str) -> Bucket:
    settings: Settings = kluis.settings
    return Bucket(client_key(kluis, client), Window(settings.intake_per_client,
                                                    timedelta(minutes=settings.intake_client_window_minutes)))


def address_bucket(kluis: Kluis, key: str) -> Bucket:
    settings: Settings = kluis.settings
    return Bucket(key, Window(settings.intake_per_address, timedelta(hours=settings.intake_address_window_hours)))


def _ensure_row(session: Session, key: str, now: datetime) -> None:
    dialect = session.get_bind().dialect.name
    row = {"key": key, "last_hit": now, "hits": []}
    if dialect == "postgresql":
        session.execute(postgresql.insert(IntakeLimit).values(row).on_conflict_do_nothing(index_elements=["key"]))
    elif dialect == "sqlite":
        session.execute(sqlite.insert(IntakeLimit).values(row).on_conflict_do_nothing(index_elements=["key"]))
    elif session.get(IntakeLimit, key) is None:
        session.add(IntakeLimit(key=key, last_hit=now, hits=[]))
        session.flush()


def hit(session: Session, now: datetime, buckets: Sequence[Bucket]) -> None:
    """Count one submit against every bucket, or raise ``RateLimited`` (with the longest wait) if any is full:
    at most a bucket's limit of hits in any period of its window's length (a sliding log of hit times).
    Counts go in the caller's transaction: a refused or failed submit rolls them back, so it writes nothing.
    Rows are locked in key order, so two processes counting the same keys cannot deadlock."""
    waits: list[int] = []
    for bucket in sorted(buckets, key=lambda b: b.key):
        _ensure_row(session, bucket.key, now)
        row = session.scalars(select(IntakeLimit).where(IntakeLimit.key == bucket.key).with_for_update()
                              .execution_options(populate_existing=True)).one()
        log, wait = bucket.window.admit([datetime.fromisoformat(h) for h in row.hits or []], now)
        if wait is not None:
            waits.append(wait)
            continue
        row.hits, row.last_hit = [h.isoformat() for h in log], log[-1]
    if waits:
        raise RateLimited("too many requests from here or for this address; try again later",
                          retry_after=max(waits))
    session.flush()


def prune(session: Session, kluis: Kluis, now: datetime) -> int:
    """Delete the logs whose last hit has left the longest window; how many."""
    longest = max(timedelta(minutes=kluis.settings.intake_client_window_minutes),
                  timedelta(hours=kluis.settings.intake_address_window_hours))
    result = session.execute(delete(IntakeLimit).where(IntakeLimit.last_hit <= now - longest))
    return rowcount(result)


def expire_unverified(session: Session, kluis: Kluis, actor: str, batch: int = 500,
                      dry_run: bool = False) -> int:
    """R-DSR-1: close one batch of privacy-centre requests that were not verified within
    ``KLUIS_UNVERIFIED_REQUEST_DAYS`` calendar days of receipt, and delete what tied them to an address:
    the claimed person, the intake's address digest, the codes and the code mail in the outbox. Nobody
    is told (the address never proved itself); one audit event holds the count. Requests registered by
    staff and verified requests are never touched. Returns how many it closed (0: none left)."""
    now, days = kluis.clock.now(), kluis.settings.unverified_request_days
    # Receipt plus N calendar days in Amsterdam is N x 24 hours give or take the one DST hour: fetch with
    # that hour to spare, oldest first, then decide each exactly.
    candidates = list(session.scalars(jobs.unclaimed(
        select(DataSubjectRequest).where(
            DataSubjectRequest.state == State.RECEIVED, DataSubjectRequest.channel == Channel.PRIVACY_CENTRE,
            DataSubjectRequest.received_at <= now - timedelta(days=days) + timedelta(hours=1))
        .order_by(DataSubjectRequest.received_at, DataSubjectRequest.id).limit(batch))))
    due = [r for r in candidates if rules.unverified_expired(r.received_at, now, days)]
    if dry_run or not due:
        return len(due)
    ids = [r.id for r in due]
    codes = session.execute(delete(VerificationCode).where(VerificationCode.request_id.in_(ids)))
    mails = 0
    for request in due:
        mails += _drop_code_mail(session, request)
        rules.check_transition(request.state, State.EXPIRED)
        request.state, request.closed_at, request.updated_at = State.EXPIRED, now, now
        request.claimed_person_id = request.address_key = None
    audit.append(session, kluis.clock, actor=actor, action="request.unverified_expired",
                 object_type="request", details={"requests": len(due), "codes": rowcount(codes),
                                                 "mails": mails, "days": days})
    return len(due)


def _drop_code_mail(session: Session, request: DataSubjectRequest) -> int:
    """The outbox rows of this request's code mail (queued or sent): they tie it to the person."""
    if request.claimed_person_id is None:
        return 0
    rows = [o for o in session.scalars(select(Outbox).where(
        Outbox.person_id == request.claimed_person_id, Outbox.template == rights_mail.CODE_TEMPLATE))
        if (o.context or {}).get("request_id") == str(request.id)]
    for row in rows:
        session.delete(row)
    return len(rows)
