"""Register the policy's versions; the caller's transaction commits them with their audit event."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, time
from pathlib import PurePath

from sqlalchemy import select
from sqlalchemy.orm import Session

from kluis.audit import service as audit
from kluis.kit.clock import AMSTERDAM, Clock, as_utc
from kluis.kit.errors import Conflict, Invalid, NotFound, Problem
from kluis.policy.diff import describe, diff, material
from kluis.policy.loader import stored_policy
from kluis.policy.models import PolicyVersion
from kluis.policy.records import Records, derive
from kluis.policy.schemas import Lang, Policy, version_label


def register_version(session: Session, clock: Clock, policy: Policy, *, source: str,
                     effective_from: datetime | None = None, actor: str = audit.SYSTEM) -> PolicyVersion:
    """The version for this policy's content (the configured file at start-up): the stored one with the same
    content if there is one, else a new one (audited), stored with its content.

    A new version takes effect on the date the policy states (at the start of that day in Amsterdam), but
    never before it was registered, unless ``effective_from`` is given. A change that must be announced is
    refused here (``kluis policy publish`` gives it its moment): a material one (R-GOV-4), and any while a
    published version waits for its moment, which a version registered now would overtake.
    """
    same = session.execute(select(PolicyVersion).where(PolicyVersion.content_hash == policy.content_hash)
                           .order_by(PolicyVersion.seq.desc()).limit(1)).scalar_one_or_none()
    if same is not None:
        if same.content is None:  # stored before contents were: keep it now that it is at hand
            same.content = policy.canonical_json()
        return same
    latest = current_version(session)
    now = clock.now()
    if latest is not None:
        _refuse_unannounced(latest, policy, now)
    if effective_from is None:
        stated = datetime.combine(policy.meta.effective_from, time.min, tzinfo=AMSTERDAM)
        effective_from = max(as_utc(stated), now)
    version = PolicyVersion(seq=(latest.seq if latest else 0) + 1, content_hash=policy.content_hash,
                            effective_from=as_utc(effective_from), loaded_at=now,
                            source=PurePath(source).name[:255], content=policy.canonical_json())
    session.add(version)
    session.flush()
    audit.append(session, clock, actor=actor, action="policy.version_added", object_type="policy_version",
                 object_ids=[str(version.seq)],
                 details={"content_hash": policy.content_hash, "effective_from": version.effective_from.isoformat()})
    return version


def _refuse_unannounced(latest: PolicyVersion, policy: Policy, now: datetime) -> None:
    if as_utc(latest.effective_from) > now:
        raise Conflict(f"Policy version {latest.seq} is published to take effect at "
                       f"{as_utc(latest.effective_from).isoformat()}, and this policy file is neither it nor an "
                       f"earlier version: publish the change after it (kluis policy publish FILE --effective-at T).",
                       code="policy_version_scheduled")
    if latest.content is None:
        return  # stored before contents were: nothing to compare with
    base = stored_policy(latest.content, latest.content_hash)
    changes = material(diff(base, policy))
    if changes:
        said = [describe(c, base, policy, "en") for c in changes]
        listed = "; ".join(text.rstrip(".") for text in said)
        raise Conflict(f"The policy file changes version {latest.seq} materially ({listed}). A material "
                       f"change is published ahead, so that the people it affects are told first: kluis policy "
                       f"publish FILE --effective-at T (at least {base.changes.notice_days} days ahead).",
                       code="material_change_unpublished",
                       problems=[Problem("policy", c.key, text) for c, text in zip(changes, said, strict=True)])


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

    ``policy`` is the policy the records are made of (callers give version ``seq``'s stored content, or its
    file); a policy whose content is not that version is refused.
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
