"""Restore drill (R-VLT-5): back up, erase, restore the backup, replay the erasure log; the people erased since
the backup stay erased, down to the blind-index entry that would confirm their address was known. On SQLite and
PostgreSQL."""

from __future__ import annotations

import json
import shutil
from datetime import timedelta

import pytest
from sqlalchemy import select
from tests.integration.erasure.erasure_support import person_with_everything, readable, records_of
from tests.integration.erasure.restore_support import (
    Backup,
    blind_index_entries,
    digest_of,
    erase,
    events,
    look_up,
    shredded,
    state,
    suppressed,
)
from tests.integration.retention.retention_support import ams
from tests.integration.retention.retention_support import person as retained_person

from kluis import schema
from kluis.consent.marketing import suppression
from kluis.consent.marketing.service import Marketing
from kluis.erasure import replay
from kluis.retention import sweep
from kluis.vault import erasure_log
from kluis.vault.models import ErasureLogEntry
from kluis.wiring import build

EMAIL = "wissen@example.nl"
LATER = "later@example.nl"


def run_replay(kluis, since=None, copy=None):
    return replay.replay(kluis, replay.plan(kluis, since, copy), "test")


@pytest.fixture
def shared(settings, clock, empty_datasets, tmp_path):
    """Data and key store in one database (PostgreSQL's default set-up), with the operator's copy of the log."""
    instance = build(settings.model_copy(update={"keystore_url": settings.database_url,
                                                 "erasure_log_file": tmp_path / "erasure-log.jsonl"}), clock=clock)
    schema.upgrade(instance.db)
    for name, url in settings.dataset_urls.items():
        shutil.copyfile(empty_datasets[name], url.get_secret_value().removeprefix("sqlite:///"))
    yield instance
    instance.close()


def test_r_vlt_5_a_restored_data_backup_forgets_the_people_erased_since(kluis, clock, tmp_path):
    """R-VLT-5: the data database is restored from a backup taken before an erasure; the replay erases the person
    again (records, blind-index entries, profile), puts back the suppression entries made since (also of someone
    who came and went after the backup), leaves everyone else alone, audits it, and a second replay changes
    nothing."""
    erased_id, _ = person_with_everything(kluis, claims=0)
    bystander, _ = person_with_everything(kluis, email="blijft@example.nl", phone="06 87654321", claims=0)
    before = readable(kluis, bystander)
    backup = Backup(kluis.db.engine, tmp_path, "data")
    backup.take()
    backup_at = clock.now()
    clock.advance(timedelta(hours=1))
    erase(kluis, erased_id)
    later, _ = person_with_everything(kluis, email=LATER, phone="06 11112222", claims=0)
    erase(kluis, later)
    assert look_up(kluis, EMAIL) is None and suppressed(kluis, EMAIL)

    backup.restore()
    assert look_up(kluis, EMAIL) == erased_id  # the restore brought them back
    assert not suppressed(kluis, EMAIL) and not suppressed(kluis, LATER)

    done = run_replay(kluis, since=backup_at)
    assert done.people_ids == [erased_id] and done.records == 2 and done.identifiers == 2
    assert look_up(kluis, EMAIL) is None and blind_index_entries(kluis, EMAIL) == 0
    assert records_of(kluis, erased_id) == [] and shredded(kluis, erased_id)
    assert suppressed(kluis, EMAIL) and suppressed(kluis, LATER) and done.suppressed == 2
    assert readable(kluis, bystander) == before and look_up(kluis, "blijft@example.nl") == bystander
    [person_event] = events(kluis, "restore.erasure_replayed")
    assert person_event.object_ids[0] == str(erased_id) and person_event.details["records"] == 2
    assert person_event.details["identifiers"] == 2 and person_event.details["marked_erased"] is True
    [summary] = events(kluis, "restore.replayed")
    assert summary.details["people"] == 1 and summary.details["suppressed"] == 2
    assert summary.details["since"] == backup_at.isoformat()
    assert EMAIL not in json.dumps([person_event.details, summary.details])

    settled = state(kluis)
    again = run_replay(kluis)  # every entry this time: those whose effects are present change nothing
    assert (again.people, again.records, again.identifiers, again.keys_destroyed, again.suppressed,
            again.unsuppressed) == (0, 0, 0, 0, 0, 0)
    assert state(kluis) == settled
    assert len(events(kluis, "restore.erasure_replayed")) == 1 and len(events(kluis, "restore.replayed")) == 2


def test_r_vlt_5_a_database_with_its_key_store_restored_is_brought_in_line_from_the_operators_copy(shared, clock,
                                                                                                  tmp_path):
    """R-VLT-5 with the key store in the data database: the restore brings back the person's old key and an erasure
    log as old as the backup. From the operator's copy (KLUIS_ERASURE_LOG_FILE) the replay takes the entries made
    since back into the key store, destroys the old key again, erases what it sealed (the claims the erasure kept
    were sealed under it in the backup: lost, and said so), and puts back an opt-out made since."""
    kluis = shared
    erased_id, _ = person_with_everything(kluis, claims=2)
    subscriber, _ = person_with_everything(kluis, email="afmelder@example.nl", phone="06 33334444", claims=0)
    backup = Backup(kluis.db.engine, tmp_path, "shared")
    backup.take()
    logged_at_backup = state(kluis)["erasure_log"]
    clock.advance(timedelta(hours=1))
    erase(kluis, erased_id)
    with kluis.db.transaction() as session:
        Marketing(session, kluis, "test").opt_out(subscriber, "account")

    backup.restore()
    with kluis.db.sessions() as session:
        assert kluis.keystore.data_keys(session, [erased_id])  # the destroyed key is back
    assert state(kluis)["erasure_log"] == logged_at_backup

    done = run_replay(kluis, copy=kluis.settings.erasure_log_file)
    assert done.imported >= 3 and done.people_ids == [erased_id] and done.kept_lost == 1
    with kluis.db.sessions() as session:
        assert kluis.keystore.data_keys(session, [erased_id]) == {}
    assert look_up(kluis, EMAIL) is None and records_of(kluis, erased_id) == [] and shredded(kluis, erased_id)
    assert suppressed(kluis, EMAIL) and suppressed(kluis, "afmelder@example.nl")
    with kluis.db.sessions() as session:
        assert Marketing(session, kluis, "t").suppressed(subscriber)
    [person_event] = events(kluis, "restore.erasure_replayed")
    assert person_event.details["kept_lost"] is True and person_event.details["keys_destroyed"] == 1

    settled = state(kluis)
    again = run_replay(kluis, copy=kluis.settings.erasure_log_file)
    assert (again.imported, again.people, again.keys_destroyed, again.suppressed) == (0, 0, 0, 0)
    assert state(kluis) == settled


def test_r_vlt_5_a_key_store_restored_alone_loses_the_keys_destroyed_since_again(settings, clock, empty_datasets,
                                                                                 tmp_path):
    """R-VLT-5: only the key store is restored (within its backup window), bringing back a key an erasure
    destroyed since; the replay, from the operator's copy, destroys it again and audits it."""
    kluis = build(settings.model_copy(update={"erasure_log_file": tmp_path / "erasure-log.jsonl"}), clock=clock)
    try:
        for name, url in settings.dataset_urls.items():
            shutil.copyfile(empty_datasets[name], url.get_secret_value().removeprefix("sqlite:///"))
        erased_id, _ = person_with_everything(kluis, claims=0)
        backup = Backup(kluis.db.key_engine, tmp_path, "keys")
        backup.take()
        clock.advance(timedelta(hours=1))
        job_id = erase(kluis, erased_id)
        backup.restore()
        with kluis.db.sessions() as session:
            assert kluis.keystore.data_keys(session, [erased_id])
        done = run_replay(kluis, copy=kluis.settings.erasure_log_file)
        assert done.keys_destroyed == 1 and done.people_ids == [erased_id] and done.records == 0
        with kluis.db.sessions() as session:
            assert kluis.keystore.data_keys(session, [erased_id]) == {}
        [person_event] = events(kluis, "restore.erasure_replayed")
        assert person_event.object_ids == [str(erased_id), str(job_id)]
        assert run_replay(kluis, copy=kluis.settings.erasure_log_file).keys_destroyed == 0
    finally:
        kluis.close()


def test_r_vlt_5_every_key_destroyed_and_every_suppression_change_is_logged_without_plaintext(shared, clock):
    """R-VLT-5: the erasure job (key destroyed, or replaced when records are kept), the retention sweep's shredding
    and the suppression list's changes (erasure, opt-out, opting in again) each leave an entry, in the key store
    and in the operator's copy alike; entries name ids and keyed digests, never an address."""
    kluis = shared
    today = clock.now()
    clock.set(ams(2024, 2, 29, 18))  # a marketing contact whose 36 months run out before the sweep below
    swept, _ = retained_person(kluis, "marketing", email="oud@example.nl", last_activity=ams(2024, 2, 29, 9))
    with kluis.db.transaction() as session:
        kluis.consents(session, "test").give(swept, "marketing_email", method="form", notice_text="Ja", lang="nl")
    clock.set(today)
    plain, _ = person_with_everything(kluis, claims=0)
    keeper, _ = person_with_everything(kluis, email="bewaard@example.nl", phone="06 55556666", claims=1)
    subscriber, _ = person_with_everything(kluis, email="afmelder@example.nl", phone="06 33334444", claims=0)
    plain_job = erase(kluis, plain)
    keeper_job = erase(kluis, keeper)
    with kluis.db.transaction() as session:
        Marketing(session, kluis, "test").opt_out(subscriber, "account")
    with kluis.db.transaction() as session:
        assert suppression.remove(session, kluis.keystore, "marketing_email", [digest_of(kluis, "afmelder@example.nl")],
                                  "opt_in") == 1
    clock.set(ams(2027, 2, 28, 0))
    sweep.sweep(kluis)

    with kluis.db.key_sessions() as session:
        rows = list(session.scalars(select(ErasureLogEntry).order_by(ErasureLogEntry.seq)))
    facts = [(r.action, r.key_id, r.job_id, r.reason) for r in rows]
    assert ("key_destroyed", plain, plain_job, "erasure") in facts
    assert ("key_replaced", keeper, keeper_job, "erasure") in facts
    assert ("key_destroyed", swept, None, "retention") in facts
    changes = [(r.action, r.reason, r.digests) for r in rows if r.digests]
    for address, action, route in ((EMAIL, "suppressed", "erasure"), ("bewaard@example.nl", "suppressed", "erasure"),
                                   ("afmelder@example.nl", "suppressed", "account"),
                                   ("afmelder@example.nl", "unsuppressed", "opt_in"),
                                   ("oud@example.nl", "suppressed", "erasure")):
        assert (action, route, [digest_of(kluis, address).hex()]) in changes, address
    copied = list(erasure_log.read_file(kluis.settings.erasure_log_file))
    assert [e.id for e in copied] == [r.id for r in rows]
    text = kluis.settings.erasure_log_file.read_text() + repr(facts) + repr(changes)
    for word in ("example.nl", "wissen", "bewaard", "afmelder", "oud@"):
        assert word not in text
    assert oct(kluis.settings.erasure_log_file.stat().st_mode & 0o777) == "0o600"


def test_r_vlt_5_claims_kept_by_law_survive_a_replay_unless_the_backup_holds_them_under_a_destroyed_key(kluis, clock,
                                                                                                      tmp_path):
    """R-VLT-5 / R-RET-3: someone erased before the backup keeps their fiscal claims, readable and restricted,
    through the replay; someone erased after it comes back with their claims sealed under the key the erasure
    destroyed: unreadable, so the replay erases them, destroys the fresh key that now protects nothing, and says
    the kept records were lost."""
    earlier, _ = person_with_everything(kluis, claims=2)
    erase(kluis, earlier)
    clock.advance(timedelta(hours=1))
    since_backup, _ = person_with_everything(kluis, email="later@example.nl", phone="06 11112222", claims=2)
    backup = Backup(kluis.db.engine, tmp_path, "data")
    backup.take()
    backup_at = clock.now()
    clock.advance(timedelta(hours=1))
    erase(kluis, since_backup)
    backup.restore()

    done = run_replay(kluis)
    assert done.people_ids == [since_backup] and done.kept_lost == 1 and done.records == 4
    assert len(readable(kluis, earlier)) == 2 and not shredded(kluis, earlier)
    assert records_of(kluis, since_backup) == [] and shredded(kluis, since_backup)
    with kluis.db.sessions() as session:
        assert kluis.keystore.data_keys(session, [since_backup]) == {}
    [person_event] = events(kluis, "restore.erasure_replayed")
    assert person_event.details["kept_lost"] is True and person_event.details["keys_destroyed"] == 1
    assert run_replay(kluis, since=backup_at).people == 0
