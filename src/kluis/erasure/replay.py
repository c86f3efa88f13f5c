"""Bringing a restored backup back in line with the erasure log (R-VLT-5, docs/restore.md).

A data database restored from a backup holds the people erased since as they were then (records, profile, and the
identifiers whose blind-index entries confirm that an address was known) and lacks the suppression entries added
since; a key store restored from a backup holds keys destroyed since. ``replay`` re-applies what the erasure log
(``kluis.vault.erasure_log``: the key store's entries and the operator's copy) records:

1. Entries of the copy that the key store lacks are put back in it.
2. Per logged key, in one transaction of the data database (a key store of its own commits its side first, as
   every key change does): the key store's side (a destroyed key that is back goes again, a replaced
   one is replaced again); then, when the key was a person's, the data's side: every record no key of theirs opens
   any more, their identifiers and interest profile go, and mail queued for them is cancelled; with no key left
   they are marked shredded, else erased and restricted to what a legal obligation keeps. One audit event per
   person changed.
3. The suppression list: each digest as the last logged change left it.
4. One audit event with the totals.

Each step is safe to repeat: a second replay changes nothing. Service databases (docs/datasets.md) are not
restored by Kluis and not touched here.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from kluis.audit import service as audit
from kluis.consent.marketing import suppression
from kluis.consent.marketing.service import delete_profile
from kluis.erasure import notices, repository
from kluis.erasure.vault_step import BATCH, restrict_kept
from kluis.retention import keep as retention_keep
from kluis.vault import erasure_log
from kluis.vault.crypto import Unreadable, open_sealed
from kluis.vault.erasure_log import Entry
from kluis.vault.keystore import RESTORE
from kluis.vault.models import Person

if TYPE_CHECKING:
    from kluis.wiring import Kluis

_person = Person.__table__
_LOCK_PERSON = (select(_person.c.id, _person.c.erased_at, _person.c.shredded_at)
                .where(_person.c.id == bindparam("person_id")).with_for_update())
_KEY_ACTIONS = (erasure_log.KEY_DESTROYED, erasure_log.KEY_REPLACED)


@dataclass
class Plan:
    """What a replay goes through: the log's entries from ``since`` on (key store and copy, in order), and the
    copy's entries the key store lacks."""

    entries: list[Entry]
    lacking: list[Entry]
    since: datetime | None
    copy: Path | None

    def keys(self) -> dict[uuid.UUID, list[Entry]]:
        """Each logged key's entries, keys in the order of their first entry."""
        found: dict[uuid.UUID, list[Entry]] = {}
        for entry in self.entries:
            if entry.action in _KEY_ACTIONS and entry.key_id is not None:
                found.setdefault(entry.key_id, []).append(entry)
        return found

    def suppression(self) -> dict[tuple[bytes, str], tuple[str, str]]:
        """Each (digest, list) the log changed: its last change, as (action, route)."""
        last: dict[tuple[bytes, str], tuple[str, str]] = {}
        for entry in self.entries:
            if entry.action in (erasure_log.SUPPRESSED, erasure_log.UNSUPPRESSED) and entry.list_id:
                for digest in entry.digests:
                    last[(bytes.fromhex(digest), entry.list_id)] = (entry.action, entry.reason)
        return last


@dataclass
class PersonReplayed:
    """The data's side of one person's replay."""

    records: int = 0  # records no key of theirs opens any more, deleted
    records_kept: int = 0  # records a key of theirs still opens: what a legal obligation keeps
    identifiers: int = 0
    interest_profile: bool = False
    marked_erased: bool = False
    restricted: bool = False
    # The erasure kept records by law, but the restore brought them back sealed under the key it destroyed: they
    # cannot be read, so nothing of the person is left (a fresh key of theirs goes too).
    kept_lost: bool = False
    keys_destroyed: int = 0

    def changed(self) -> bool:
        return bool(self.records or self.identifiers or self.interest_profile or self.marked_erased
                    or self.restricted or self.keys_destroyed)


@dataclass
class Outcome:
    """What a replay changed (all zero when there was nothing to bring back in line)."""

    entries: int = 0
    imported: int = 0
    people: int = 0
    keys_destroyed: int = 0
    records: int = 0
    identifiers: int = 0
    suppressed: int = 0
    unsuppressed: int = 0
    kept_lost: int = 0
    people_ids: list[uuid.UUID] = field(default_factory=list)

    def totals(self) -> dict[str, int]:
        return {k: v for k, v in asdict(self).items() if k != "people_ids"}

    def count(self, person_id: uuid.UUID, person: PersonReplayed) -> None:
        self.people += 1
        self.people_ids.append(person_id)
        self.records += person.records
        self.identifiers += person.identifiers
        self.kept_lost += person.kept_lost


def plan(kluis: Kluis, since: datetime | None = None, copy: Path | None = None) -> Plan:
    """The entries to replay: the key store's from ``since`` on, with the copy's (a file the operator kept, see
    ``KLUIS_ERASURE_LOG_FILE``) that the key store lacks."""
    stored, known = kluis.keystore.logged(since)
    lacking = erasure_log.lacking(known, erasure_log.read_file(copy)) if copy is not None else []
    extra = [e for e in lacking if since is None or e.at >= since]
    return Plan(entries=erasure_log.in_order(stored + extra), lacking=lacking, since=since, copy=copy)


def replay(kluis: Kluis, chosen: Plan, actor: str, step: Callable[[int], None] | None = None) -> Outcome:
    """Re-apply the plan's entries (see the module's text); ``step`` is told of each key done."""
    outcome = Outcome(entries=len(chosen.entries), imported=len(chosen.lacking))
    if chosen.lacking:
        with kluis.db.transaction() as session:
            kluis.keystore.take_into_log(session, chosen.lacking)
    for key_id, entries in chosen.keys().items():
        with kluis.db.transaction() as session:
            keys_gone = sum(kluis.keystore.bring_in_line(session, entry) for entry in entries)
            replaced = any(e.action == erasure_log.KEY_REPLACED for e in entries)
            person = _erase_restored(session, kluis, actor, key_id, entries[-1], replaced)
            if person is not None:
                person.keys_destroyed += keys_gone
                if person.changed():
                    outcome.count(key_id, person)
                    audit.append(session, kluis.clock, actor=actor, action="restore.erasure_replayed",
                                 object_type="person",
                                 object_ids=[key_id, *dict.fromkeys(e.job_id for e in entries if e.job_id)],
                                 details={**asdict(person), "erased_at": entries[-1].at.isoformat(),
                                          "reason": entries[-1].reason})
                keys_gone = person.keys_destroyed
            outcome.keys_destroyed += keys_gone
        if step is not None:
            step(1)
    with kluis.db.transaction() as session:
        outcome.suppressed, outcome.unsuppressed = suppression.bring_in_line(session, kluis.clock.now(),
                                                                             chosen.suppression())
        audit.append(session, kluis.clock, actor=actor, action="restore.replayed", object_type="restore",
                     details={**outcome.totals(), "since": chosen.since.isoformat() if chosen.since else None,
                              "copy": chosen.copy is not None})
    return outcome


def _erase_restored(session: Session, kluis: Kluis, actor: str, person_id: uuid.UUID, last: Entry,
                    replaced: bool) -> PersonReplayed | None:
    """The data's side for one person (``replaced``: their erasure kept records under a fresh key); None when the
    key was not a person's, or the person is not in this database (they came after the backup)."""
    person = session.execute(_LOCK_PERSON, {"person_id": person_id}).one_or_none()
    if person is None:
        return None
    done = PersonReplayed()
    key = kluis.keystore.data_keys(session, [person_id]).get(person_id)
    keep_until: datetime | None = None
    after: uuid.UUID | None = None
    while True:  # a page at a time, as the erasure does
        page = repository.record_page(session, person_id, after, BATCH)
        unreadable = []
        for row in page:
            if _opens(key, person_id, row):
                done.records_kept += 1
                keep_until = retention_keep.widen(keep_until, row.due_at)
            else:
                unreadable.append(row.id)
        if unreadable:
            repository.delete_records(session, person_id, unreadable)
            done.records += len(unreadable)
        if len(page) < BATCH:
            break
        after = page[-1].id
    done.identifiers = len(repository.delete_identifiers(session, person_id))
    done.interest_profile = delete_profile(session, person_id)
    notices.seal_pending_mail(session, kluis, person_id, lambda: None)  # no address is left to seal it to
    if key is not None and done.records and not done.records_kept:  # the key protects nothing any more
        done.keys_destroyed = kluis.keystore.destroy(session, [person_id], reason=RESTORE)
        key = None
    done.kept_lost = replaced and bool(done.records) and not done.records_kept
    if key is None and person.shredded_at is None:
        repository.mark_erased(session, person_id, last.at, None, shredded=True)
        done.marked_erased = True
    elif key is not None and person.erased_at is None:
        repository.mark_erased(session, person_id, last.at, keep_until, shredded=False)
        done.marked_erased = True
    if key is not None:
        done.restricted = restrict_kept(session, kluis, actor, person_id, "staff", "restore replay")
    return done


def _opens(key: bytes | None, person_id: uuid.UUID, row: Any) -> bool:
    """Whether the person's key opens the record: one sealed under a key destroyed since can never be read again."""
    if key is None:
        return False
    try:
        open_sealed(key, person_id, row.id, row.category, row.ciphertext)
    except Unreadable:
        return False
    return True
