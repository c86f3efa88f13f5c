"""Telling the people a version's material changes affect, before it takes effect (R-GOV-4).

Publishing a material change starts the announcement (``publish``); the worker then queues, one batch of people
per transaction, an administrative mail to each (so it also reaches people who opted out of marketing), in their
language, naming the changes that touch their data. Where consent is the basis of a changed purpose, the mail asks
for it again (the old consent no longer covers the purpose once the version is in force: ``gate.rules``). The
cursor moves in the batch's transaction, so a worker that stops resumes after the last committed batch and nobody
is mailed twice; an erased person is skipped and counted, never looked up in any other way.
"""

from __future__ import annotations

import logging
from collections.abc import Set
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from kluis.audit import service as audit
from kluis.changes import repository as repo
from kluis.changes.mail import TEMPLATE
from kluis.mail import service as mail
from kluis.policy.diff import Change, diff, material
from kluis.policy.models import PolicyAnnouncement

if TYPE_CHECKING:
    from kluis.wiring import Kluis

log = logging.getLogger("kluis.policy")

@dataclass(frozen=True)
class Reach:
    """A version's material changes, and whom they reach: people with data of ``categories`` or a given consent
    for ``purposes`` (those whose consent is asked again)."""

    changes: tuple[Change, ...]
    categories: tuple[str, ...]
    purposes: tuple[str, ...]

    def of(self, held: Set[str], consented: Set[str]) -> tuple[list[Change], list[str]]:
        """The changes that touch one person, and the purposes whose consent they are asked for again: those
        they consented to, and a purpose that moves to consent (processing that goes on only with it)."""
        mine = [c for c in self.changes if held & set(c.categories) or consented & set(c.renew)]
        renew = sorted({p for c in mine for p in c.renew if p in consented or c.kind == "basis_changed"})
        return mine, renew


def reach(kluis: Kluis, seq: int) -> Reach | None:
    """None when version ``seq`` (or the one it follows) cannot be read: nothing can be said about it."""
    now = kluis.clock.now()
    version = kluis.timeline.version(seq, now)
    before = kluis.policy_of(version.previous) if version is not None and version.previous else None
    if version is None or version.policy is None or before is None:
        return None
    changes = material(diff(before, version.policy))
    return Reach(changes, tuple(dict.fromkeys(c for change in changes for c in change.categories)),
                 tuple(dict.fromkeys(p for change in changes for p in change.renew)))


def progress(session: Session) -> dict[int, PolicyAnnouncement]:
    """Every announcement by version: its state and counts."""
    return repo.announcements(session)


def announce_next(session: Session, kluis: Kluis, actor: str, batch: int = repo.PAGE) -> int:
    """Queue the mails of the next batch of people of one announcement under way; how many people it handled
    (0: none under way). The run ends, audited with its counts, when no one is left after its cursor."""
    run = repo.running(session)
    if run is None:
        return 0
    now = kluis.clock.now()
    found = reach(kluis, run.seq)
    if found is None:
        log.error("policy version %s cannot be read: its announcement waits", run.seq)
        return 0
    page = repo.affected_page(session, found.categories, found.purposes, run.after, batch)
    if not page:
        version = kluis.timeline.version(run.seq, now)
        run.state, run.done_at = "done", now
        _audit(session, kluis, actor, run, "policy.announcement_done", mailed=run.mailed, renewals=run.renewals,
               skipped=run.skipped, unreachable=run.unreachable,
               after_effect=version is not None and now >= version.effective_from)
        return 1
    live = [person_id for person_id, erased in page if not erased]
    held = repo.categories_of(session, live, found.categories)
    consented = repo.consents_of(session, live, found.purposes)
    addressed = repo.reachable(session, live)
    langs = repo.languages(session, live)
    mailed = renewals = unreachable = 0
    for person_id in live:
        mine, renew = found.of(held.get(person_id, set()), consented.get(person_id, set()))
        if not mine:
            continue
        if person_id not in addressed:
            unreachable += 1
            continue
        mail.enqueue(session, kluis.clock, template=TEMPLATE, person_id=person_id, lang=langs.get(person_id, "nl"),
                     actor=actor, context={"version": run.seq, "changes": [c.key for c in mine], "renew": renew})
        mailed, renewals = mailed + 1, renewals + bool(renew)
    run.mailed, run.renewals = run.mailed + mailed, run.renewals + renewals
    run.skipped, run.unreachable = run.skipped + len(page) - len(live), run.unreachable + unreachable
    run.after = page[-1][0]
    _audit(session, kluis, actor, run, "policy.announced", people=len(page), mailed=mailed, renewals=renewals,
           skipped=len(page) - len(live), unreachable=unreachable)
    return len(page)


def _audit(session: Session, kluis: Kluis, actor: str, run: PolicyAnnouncement, action: str, **details: Any) -> None:
    audit.append(session, kluis.clock, actor=actor, action=action, object_type="policy_version",
                 object_ids=[str(run.seq)], details=details)
