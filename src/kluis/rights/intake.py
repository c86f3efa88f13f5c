"""Rate limits of the privacy centre's public intake (R-DSR-1: "rate-limited").

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
from sqlalchemy.orm import Session

from kluis.kit.errors import DomainError
from kluis.rights.models import IntakeLimit
from kluis.rights.rules import Window
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
    if dialect in ("postgresql", "sqlite"):
        if dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert
        session.execute(insert(IntakeLimit).values(key=key, window_start=now, count=0)
                        .on_conflict_do_nothing(index_elements=["key"]))
    elif session.get(IntakeLimit, key) is None:
        session.add(IntakeLimit(key=key, window_start=now, count=0))
        session.flush()


def hit(session: Session, now: datetime, buckets: Sequence[Bucket]) -> None:
    """Count one submit against every bucket, or raise ``RateLimited`` (with the longest wait) if any is full.
    Counts go in the caller's transaction: a refused or failed submit rolls them back, so it writes nothing.
    Rows are locked in key order, so two processes counting the same keys cannot deadlock."""
    waits: list[int] = []
    for bucket in sorted(buckets, key=lambda b: b.key):
        _ensure_row(session, bucket.key, now)
        row = session.scalars(select(IntakeLimit).where(IntakeLimit.key == bucket.key).with_for_update()
                              .execution_options(populate_existing=True)).one()
        started, count = bucket.window.current(row.window_start, row.count, now)
        if count >= bucket.window.limit:
            waits.append(bucket.window.retry_after(started, now))
            continue
        row.window_start, row.count = started, count + 1
    if waits:
        raise RateLimited("too many requests from here or for this address; try again later",
                          retry_after=max(waits))
    session.flush()


def prune(session: Session, kluis: Kluis, now: datetime) -> int:
    """Delete the windows that have passed (the longest window decides); how many."""
    longest = max(timedelta(minutes=kluis.settings.intake_client_window_minutes),
                  timedelta(hours=kluis.settings.intake_address_window_hours))
    result = session.execute(delete(IntakeLimit).where(IntakeLimit.window_start <= now - longest))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
