"""Re-dating the vault's records when a version that changes retention takes effect (R-POL-3 with R-RET-1).

A record carries the rule that keeps it and its due date, worked out when it is written. Once a version whose
retention rules (or what counts as the person's own activity) differ takes effect, the worker works them out again
under the version in force, a batch of records per transaction with its cursor on the version
(``retention.service.stamp_existing``), so the sweep keeps the new promise without a restart.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from kluis.audit import service as audit
from kluis.policy.diff import redates
from kluis.policy.models import PolicyVersion
from kluis.retention import service as retention

if TYPE_CHECKING:
    from kluis.wiring import Kluis

BATCH = 2000


def restamp_next(session: Session, kluis: Kluis, actor: str, batch: int = BATCH) -> int:
    """One step for the oldest version in force (or past) not yet followed: mark one that changes no due date,
    or re-date the next batch of records; 0 when there is nothing to do."""
    now = kluis.clock.now()
    in_force = kluis.timeline.in_force(now)
    if in_force is None or in_force.policy is None:
        return 0
    row = session.scalars(select(PolicyVersion).where(
        PolicyVersion.seq <= in_force.seq, PolicyVersion.restamped_at.is_(None), PolicyVersion.effective_from <= now)
        .order_by(PolicyVersion.seq).limit(1).with_for_update(skip_locked=True)).first()
    if row is None:
        return 0
    version = kluis.timeline.version(row.seq, now)
    before = kluis.policy_of(version.previous) if version is not None and version.previous else None
    if version is None or version.policy is None or before is None or not redates(before, version.policy):
        row.restamped_at = now
        return 1
    stamped, last = retention.stamp_existing(session, kluis.clock, in_force.policy, actor, row.restamp_after, batch,
                                             restamp=True)
    if last is None:
        row.restamped_at = now
        audit.append(session, kluis.clock, actor=actor, action="policy.records_redated", object_type="policy_version",
                     object_ids=[str(row.seq)], details={"under_version": in_force.seq})
        return 1
    row.restamp_after = last
    return max(stamped, 1)
