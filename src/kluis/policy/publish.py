"""Publishing a new version of the policy to take effect at a given moment (R-POL-3, R-GOV-4).

The version is stored with its content now and enforced from ``effective_at`` on by every process (see
``timeline``). Compared with the version it follows, a material change needs the notice period that version
promised (``changes.notice_days``); its announcement starts in the same transaction, so the people it affects
are mailed before it takes effect (``announcements``). Bad input writes nothing. The caller commits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import PurePath

from sqlalchemy import select
from sqlalchemy.orm import Session

from kluis.audit import service as audit
from kluis.kit.clock import Clock, as_utc
from kluis.kit.errors import Conflict, Invalid, Problem
from kluis.kit.i18n import N_
from kluis.policy.diff import Change, describe, diff, material
from kluis.policy.loader import stored_policy
from kluis.policy.models import PolicyAnnouncement, PolicyVersion
from kluis.policy.schemas import Policy

# Longer than the timeline's REFRESH: every running process has read a version before its moment comes.
MIN_LEAD = timedelta(minutes=1)



@dataclass(frozen=True)
class Published:
    version: PolicyVersion
    changes: tuple[Change, ...]  # compared with the version it follows; none for the first

    @property
    def announced(self) -> bool:
        return bool(material(self.changes))


def publish(session: Session, clock: Clock, policy: Policy, *, effective_at: datetime, actor: str,
            source: str) -> Published:
    """Store ``policy`` as the next version, in force from ``effective_at`` (with its time zone)."""
    now = clock.now()
    at = _moment(effective_at, now)
    latest = session.execute(select(PolicyVersion).order_by(PolicyVersion.seq.desc()).limit(1)
                             .with_for_update()).scalar_one_or_none()
    base = _base(latest, policy, at)
    changes = diff(base, policy) if base is not None else ()
    significant = material(changes)
    if significant and base is not None:
        _notice(base, policy, significant, at, now)
    version = PolicyVersion(seq=(latest.seq if latest else 0) + 1, content_hash=policy.content_hash,
                            effective_from=at, loaded_at=now, source=PurePath(source).name[:255],
                            content=policy.canonical_json(), published_by=actor[:120])
    session.add(version)
    session.flush()
    audit.append(session, clock, actor=actor, action="policy.version_published", object_type="policy_version",
                 object_ids=[str(version.seq)],
                 details={"content_hash": policy.content_hash, "effective_from": at.isoformat(),
                          "follows": latest.seq if latest else None, "changes": [c.key for c in changes],
                          "material": [c.key for c in significant]})
    if significant:
        session.add(PolicyAnnouncement(seq=version.seq, state="running", after=None, mailed=0, renewals=0, skipped=0,
                                       unreachable=0, started_at=now))
        session.flush()
        audit.append(session, clock, actor=actor, action="policy.announcement_started",
                     object_type="policy_version", object_ids=[str(version.seq)],
                     details={"material": [c.key for c in significant], "effective_from": at.isoformat()})
    return Published(version, changes)


def _moment(effective_at: datetime, now: datetime) -> datetime:
    if effective_at.tzinfo is None or effective_at.utcoffset() is None:
        raise Invalid(N_("Give the moment the version takes effect with its time zone, e.g. 2027-01-01T00:00+01:00."),
                      code="effective_at_without_zone",
                      problems=[Problem("effective_at", "timezone_required", N_("a date and time with its offset"))])
    at = as_utc(effective_at)
    if at <= now:
        raise Invalid(N_("%(at)s lies in the past: a new version takes effect from a moment still to come.",
                         at=effective_at.isoformat()), code="effective_at_past",
                      problems=[Problem("effective_at", "in_past", N_("after %(at)s", at=now.isoformat()))])
    if at < now + MIN_LEAD:
        raise Invalid(N_("%(at)s is too soon: publish at least a minute ahead, so that every running server and "
                         "worker switches at that moment.", at=effective_at.isoformat()), code="effective_at_too_soon",
                      problems=[Problem("effective_at", "too_soon",
                                        N_("at or after %(at)s", at=(now + MIN_LEAD).isoformat()))])
    return at


def _base(latest: PolicyVersion | None, policy: Policy, at: datetime) -> Policy | None:
    """The policy of the version this one follows (None for the first version)."""
    if latest is None:
        return None
    if latest.content_hash == policy.content_hash:
        raise Conflict(N_("This policy is already version %(seq)s: nothing to publish.", seq=latest.seq),
                       code="policy_unchanged")
    if at <= as_utc(latest.effective_from):
        raise Invalid(N_("Version %(seq)s takes effect at %(at)s; a newer version takes effect after it.",
                         seq=latest.seq, at=as_utc(latest.effective_from).isoformat()),
                      code="effective_at_before_latest",
                      problems=[Problem("effective_at", "before_latest",
                                        N_("after %(at)s", at=as_utc(latest.effective_from).isoformat()))])
    if latest.content is None:
        raise Conflict(N_("Version %(seq)s was stored before Kluis kept each version's content, so the change "
                          "cannot be compared with it: start Kluis once with that version's policy file (kluis "
                          "init), then publish.", seq=latest.seq), code="policy_version_unreadable")
    return stored_policy(latest.content, latest.content_hash)


def _notice(base: Policy, policy: Policy, significant: tuple[Change, ...], at: datetime, now: datetime) -> None:
    """A material change takes effect no sooner than the notice period the version in force promised."""
    days = base.changes.notice_days
    earliest = now + timedelta(days=days)
    if at >= earliest:
        return
    said = [describe(c, base, policy, "en") for c in significant]
    raise Invalid(N_("A material change takes effect at least %(days)s days after it is published, so that the "
                     "people it affects are told first: take effect at or after %(at)s. Material: %(material)s",
                     days=days, at=earliest.isoformat(), material="; ".join(said)), code="notice_too_short",
                  problems=[Problem("effective_at", "notice_too_short",
                                    N_("at or after %(at)s", at=earliest.isoformat())),
                            *(Problem("policy", c.key, text) for c, text in zip(significant, said, strict=True))])
