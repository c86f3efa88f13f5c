"""Register the policy's versions; the caller's transaction commits them with their audit event."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, time
from pathlib import PurePath

from sqlalchemy import select
from sqlalchemy.orm import Session

from kluis.audit import service as audit
from kluis.kit.clock import AMSTERDAM, Clock, as_utc
from kluis.kit.errors import Invalid, NotFound, Problem
from kluis.policy.models import PolicyVersion
from kluis.policy.records import Records, derive
from kluis.policy.schemas import Lang, Policy, version_label


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


def records_of_processing(session: Session, clock: Clock, policy: Policy, *, lang: Lang, fmt: str, actor: str,
                          seq: int | None = None, employers: Sequence[str] | None = None) -> Records:
    """The Art. 30 records (R-GOV-5) of ``policy``, labelled with its stored version; the export is audited.
    ``employers``: the client employers in the vault by name (``vault.service.employer_names``), for a 30(2)
    register that names each; without them it says "each client employer".

    Only a version's hash is stored, not its text: records of an older version ``seq`` are generated from
    that version's policy file, and a file whose content is not that version is refused.
    """
    version = _stored_version(session, policy, seq)
    label = version_label(policy.content_hash, version.seq if version else None)
    records = derive(policy, lang, label, employers=employers or ())
    audit.append(session, clock, actor=actor, action="policy.records_exported", object_type="policy_version",
                 object_ids=[str(version.seq)] if version else [],
                 details={"format": fmt, "lang": lang, "content_hash": policy.content_hash,
                          "per_employer": employers is not None,
                          "rows": {name: len(rows) for name, rows in records.registers().items()}})
    return records


def _stored_version(session: Session, policy: Policy, seq: int | None) -> PolicyVersion | None:
    if seq is None:
        same = select(PolicyVersion).where(PolicyVersion.content_hash == policy.content_hash)
        return session.execute(same.order_by(PolicyVersion.seq.desc()).limit(1)).scalar_one_or_none()
    version = session.get(PolicyVersion, seq)
    if version is None:
        known = ", ".join(str(v.seq) for v in list_versions(session)) or "none"
        raise NotFound(f"There is no policy version {seq} (stored: {known}).", code="policy_version_not_found",
                       problems=[Problem("version", "unknown", f"one of: {known}")])
    if version.content_hash != policy.content_hash:
        raise Invalid(f"Policy version {version.label} is not the content of this policy file "
                      f"({version_label(policy.content_hash)}): give that version's file.",
                      code="policy_version_mismatch",
                      problems=[Problem("version", "mismatch", "the policy file of that version")])
    return version
