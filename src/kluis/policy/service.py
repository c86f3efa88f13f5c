"""Register the policy's versions; the caller's transaction commits them with their audit event."""

from __future__ import annotations

from datetime import datetime, time
from pathlib import PurePath

from sqlalchemy import select
from sqlalchemy.orm import Session

from kluis.audit import service as audit
from kluis.kit.clock import AMSTERDAM, Clock, as_utc
from kluis.policy.models import PolicyVersion
from kluis.policy.schemas import Policy


def register_version(session: Session, clock: Clock, policy: Policy, *, source: str,
                     effective_from: datetime | None = None, actor: str = audit.SYSTEM) -> PolicyVersion:
    """The version for this policy's content: the latest one if unchanged, else a new one (audited).

    Without ``effective_from`` a new version takes effect on the date the policy states (at the start
    of that day in Amsterdam), but never before it was registered.
    """
    latest = current_version(session)
    content_hash = policy.content_hash
    if latest is not None and latest.content_hash == content_hash:
        return latest
    now = clock.now()
    if effective_from is None:
        stated = datetime.combine(policy.meta.effective_from, time.min, tzinfo=AMSTERDAM)
        effective_from = max(as_utc(stated), now)
    version = PolicyVersion(seq=(latest.seq if latest else 0) + 1, content_hash=content_hash,
                            effective_from=as_utc(effective_from), loaded_at=now,
                            source=PurePath(source).name[:255])
    session.add(version)
    session.flush()
    audit.append(session, clock, actor=actor, action="policy.version_added", object_type="policy_version",
                 object_ids=[str(version.seq)],
                 details={"content_hash": content_hash, "effective_from": version.effective_from.isoformat()})
    return version


def current_version(session: Session) -> PolicyVersion | None:
    """The most recently registered version."""
    return session.execute(select(PolicyVersion).order_by(PolicyVersion.seq.desc()).limit(1)).scalar_one_or_none()


def list_versions(session: Session) -> list[PolicyVersion]:
    """All versions, oldest first."""
    return list(session.execute(select(PolicyVersion).order_by(PolicyVersion.seq)).scalars())
