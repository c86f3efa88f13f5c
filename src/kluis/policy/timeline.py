"""Which version of the policy is in force, decided by the clock (R-POL-3, R-GOV-4).

The stored versions are read from the database and kept, with each one's window: from its ``effective_from``
until a later version takes effect. Every process (server, worker, CLI) asks ``in_force(now)`` with its own
clock, so a version published for T is enforced from T everywhere, without a restart. The list is read again
at most ``REFRESH`` after the last reading (or when this process published), and a version must be published
at least ``publish.MIN_LEAD`` ahead, which is longer: every process knows it before its moment comes.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select

from kluis.kit.clock import as_utc
from kluis.policy.diff import diff, material
from kluis.policy.loader import stored_policy
from kluis.policy.models import PolicyVersion
from kluis.policy.schemas import Policy, version_label

if TYPE_CHECKING:
    from kluis.db import Database

REFRESH = timedelta(seconds=30)
MISS_INTERVAL = 1.0  # seconds (monotonic): how often a question for an unknown version reads the list again


@dataclass(frozen=True)
class Version:
    """A stored version as the running system uses it. ``policy`` is None for a version stored before its
    content was (0024) whose content is not the loaded file's: it cannot be enforced or shown."""

    seq: int
    content_hash: str
    effective_from: datetime
    until: datetime | None  # when a later version takes effect (None: in force until one is published)
    published_at: datetime
    published_by: str | None
    policy: Policy | None
    previous: int | None = None  # the version it follows and is compared with

    @property
    def label(self) -> str:
        return version_label(self.content_hash, self.seq)

    def in_force_at(self, now: datetime) -> bool:
        return self.effective_from <= now and (self.until is None or now < self.until)


@dataclass(frozen=True)
class _Row:
    seq: int
    content_hash: str
    effective_from: datetime
    loaded_at: datetime
    published_by: str | None


def build(rows: Sequence[_Row], policies: Mapping[int, Policy]) -> list[Version]:
    """The versions in order with their windows and, on each policy, the consents its changes renew. Pure.

    A version is in force from its moment until the first later version's moment (a later version that takes
    effect earlier leaves it never in force). Consent asked again for a purpose by version N (a material change
    with ``renew``) must date from N or later, in every version after N too, until a newer change asks again.
    """
    ordered = sorted(rows, key=lambda r: r.seq)
    versions: list[Version] = []
    renewals: dict[str, int] = {}
    previous: tuple[int, Policy] | None = None
    for index, row in enumerate(ordered):
        policy = policies.get(row.seq)
        if policy is not None and previous is not None:
            for change in material(diff(previous[1], policy)):
                renewals.update(dict.fromkeys(change.renew, row.seq))
        later = [as_utc(r.effective_from) for r in ordered[index + 1:]]
        versions.append(Version(
            seq=row.seq, content_hash=row.content_hash, effective_from=as_utc(row.effective_from),
            until=min(later) if later else None, published_at=as_utc(row.loaded_at), published_by=row.published_by,
            policy=policy.with_consent_from(renewals) if policy is not None else None,
            previous=previous[0] if previous is not None and policy is not None else None))
        if policy is not None:
            previous = (row.seq, policy)
    return versions


@dataclass
class Timeline:
    """The stored versions of one database, read again every ``REFRESH`` (by the caller's clock); ``loaded`` is
    the configured file's policy, enforced while no stored version is in force."""

    db: Database
    loaded: Policy
    _versions: list[Version] = field(default_factory=list)
    _read_at: datetime | None = None
    _parsed: dict[int, Policy] = field(default_factory=dict)
    _current: Version | None = None
    _missed_at: float = -MISS_INTERVAL
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def in_force(self, now: datetime) -> Version | None:
        """The version in force at ``now``; None when none is stored (or none readable is in force yet)."""
        current = self._current
        if current is not None and current.in_force_at(now) and self._fresh(now):
            return current
        versions = self.versions(now)
        found = next((v for v in reversed(versions) if v.policy is not None and v.in_force_at(now)), None)
        self._current = found
        return found

    def policy(self, now: datetime) -> Policy:
        found = self.in_force(now)
        return found.policy if found is not None and found.policy is not None else self.loaded

    def versions(self, now: datetime) -> list[Version]:
        """Every stored version, oldest first."""
        if not self._fresh(now):
            self._read(now)
        return self._versions

    def version(self, seq: int, now: datetime) -> Version | None:
        """Stored version ``seq``. One this process has not read yet (another just published it: the worker
        announcing it, a mail about it) is read at once; a number that does not exist at most once a second."""
        found = next((v for v in self.versions(now) if v.seq == seq), None)
        if found is None and time.monotonic() - self._missed_at >= MISS_INTERVAL:
            self._missed_at = time.monotonic()
            self.forget()
            found = next((v for v in self.versions(now) if v.seq == seq), None)
        return found

    def upcoming(self, now: datetime) -> Version | None:
        """The next version that will take effect after ``now``, if one is published."""
        return next((v for v in self.versions(now) if v.effective_from > now and v.policy is not None), None)

    def forget(self) -> None:
        """Read the versions again at the next question (this process just published one)."""
        self._read_at, self._current = None, None

    def _fresh(self, now: datetime) -> bool:
        read_at = self._read_at
        return read_at is not None and read_at <= now < read_at + REFRESH

    def _read(self, now: datetime) -> None:
        with self._lock:
            if self._fresh(now):
                return
            with self.db.sessions() as session:
                rows = [_Row(*r) for r in session.execute(select(
                    PolicyVersion.seq, PolicyVersion.content_hash, PolicyVersion.effective_from,
                    PolicyVersion.loaded_at, PolicyVersion.published_by).order_by(PolicyVersion.seq))]
                wanted = [r.seq for r in rows if r.seq not in self._parsed]
                if wanted:
                    for seq, content_hash, content in session.execute(select(
                            PolicyVersion.seq, PolicyVersion.content_hash, PolicyVersion.content)
                            .where(PolicyVersion.seq.in_(wanted))):
                        if content is not None:
                            self._parsed[seq] = stored_policy(content, content_hash)
                        elif content_hash == self.loaded.content_hash:
                            self._parsed[seq] = self.loaded
            self._versions = build(rows, self._parsed)
            self._current, self._read_at = None, now
