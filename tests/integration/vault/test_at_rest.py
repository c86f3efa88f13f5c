"""Nothing personal in plaintext at rest; shredding makes every copy unreadable; key rotation (R-VLT-1, R-VLT-5)."""

from __future__ import annotations

import shutil
import subprocess
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

from kluis import schema
from kluis.config import Settings
from kluis.db import Database
from kluis.kit.secrets import new_secret, parse_secret
from kluis.vault.crypto import Unreadable, open_sealed
from kluis.vault.models import PersonKey, Record
from kluis.vault.schemas import IdentifierIn, PersonIn, RecordIn
from kluis.wiring import build

KNOWN = {"name": "Wilhelmina Zwartkruis", "street": "Kloosterweg 417", "email": "w.zwartkruis@voorbeeldmail.nl",
         "phone": "+31687654321", "city": "Oostermeerdijk"}


def _store_known_person(kluis):
    with kluis.db.transaction() as session:
        vault = kluis.vault(session, actor="test")
        person = vault.create_person(PersonIn(subject_types=["lead"], identifiers=[
            IdentifierIn(kind="email", value=KNOWN["email"]), IdentifierIn(kind="phone", value="06 87654321")]))
        vault.add_records(person.id, [RecordIn(
            category="basic", purposes=["lead_management"], legal_basis="legitimate_interest", source="aggregator",
            content={"name": KNOWN["name"], "address": {"street": KNOWN["street"], "city": KNOWN["city"]}})])
    return person.id


def _raw_dumps(kluis, tmp_path: Path) -> list[bytes]:
    if kluis.db.dialect == "sqlite":
        kluis.db.dispose()
        return [f.read_bytes() for f in tmp_path.iterdir() if f.name.startswith("kluis")]
    dumps = []
    for engine in {kluis.db.engine, kluis.db.key_engine}:
        url = engine.url
        dumps.append(subprocess.run(["pg_dump", "-h", url.host or "127.0.0.1", "-p", str(url.port or 5432),
                                     "-U", url.username or "postgres", url.database or ""],
                                    check=True, capture_output=True).stdout)
    return dumps


def test_r_vlt_1_no_plaintext_personal_data_in_the_stored_files(kluis, tmp_path):
    _store_known_person(kluis)
    dumps = _raw_dumps(kluis, tmp_path)
    assert dumps and all(dumps)
    needles = [v.encode() for v in KNOWN.values()] + [KNOWN["email"].upper().encode(), b"0687654321",
                                                      b"Zwartkruis", "Zwartkruis".encode("utf-16-le")]
    for blob in dumps:
        for needle in needles:
            assert needle not in blob, needle


def _copy_database(kluis, tmp_path: Path) -> str:
    """A backup of the data database only, taken now: a file copy (SQLite) or a copy of the database (server)."""
    if kluis.db.dialect == "sqlite":
        kluis.db.dispose()
        copy = tmp_path / f"backup-{uuid.uuid4().hex}.db"
        shutil.copyfile(kluis.db.engine.url.database, copy)
        return f"sqlite:///{copy}"
    url = kluis.db.engine.url
    name = f"{url.database}_backup"
    kluis.db.dispose()
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        # A copy needs the source to itself: the test fixtures keep a connection to it between tests.
        conn.execute(text("SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity WHERE datname = :name"),
                     {"name": url.database})
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{url.database}"'))
    admin.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


def _drop_copy(url: str) -> None:
    parsed = make_url(url)
    if parsed.get_backend_name() == "postgresql":
        admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)'))
        admin.dispose()


def test_r_vlt_5_shredding_makes_records_unreadable_even_in_a_backup_taken_before(kluis, tmp_path):
    person_id = _store_known_person(kluis)
    other = _store_other(kluis)
    backup_url = _copy_database(kluis, tmp_path)
    try:
        with kluis.db.transaction() as session:
            assert kluis.vault(session, actor="test").shred([person_id], reason="erasure request") == 1
        restored = Database(backup_url, kluis.settings.resolved_keystore_url())
        with restored.sessions() as session:
            rows = session.scalars(select(Record).where(Record.person_id == person_id)).all()
            assert rows, "the backup still holds the ciphertext"
            with restored.key_sessions() as keys:
                assert keys.get(PersonKey, person_id) is None
        restored.dispose()
        with kluis.db.sessions() as session:  # nobody else was touched
            vault = kluis.vault(session, actor="test")
            assert vault.read_records(other, "lead_management")[0].content == {"name": "Piet"}
    finally:
        _drop_copy(backup_url)


def _store_other(kluis):
    with kluis.db.transaction() as session:
        vault = kluis.vault(session, actor="test")
        person = vault.create_person(PersonIn(subject_types=["lead"]))
        vault.add_records(person.id, [RecordIn(category="basic", purposes=["lead_management"],
                                               legal_basis="legitimate_interest", source="direct",
                                               content={"name": "Piet"})])
    return person.id


def test_r_vlt_1_record_ciphertext_moved_to_another_row_does_not_open(kluis):
    """Associated data binds a ciphertext to its person, record and category: copied elsewhere it fails."""
    person_id = _store_known_person(kluis)
    with kluis.db.sessions() as session, kluis.db.key_sessions() as keys:
        record = session.scalars(select(Record).where(Record.person_id == person_id)).first()
        wrapped = keys.get(PersonKey, person_id)
        dek = kluis.keys.unwrap(person_id, wrapped.wrapped, wrapped.kek_id)
        with pytest.raises(Unreadable):
            open_sealed(dek, person_id, uuid.uuid4(), record.category, record.ciphertext)


def test_r_vlt_1_rotation_rewraps_every_key_resumably_and_records_stay_readable(kluis, settings, clock):
    ids = [_store_other(kluis) for _ in range(5)]
    new_settings = Settings(_env_file=None, **(settings.model_dump() | {
        "master_key": new_secret(), "previous_master_keys": settings.master_key.get_secret_value()}))
    rotated = build(new_settings, clock=clock)
    assert rotated.keystore.outdated() == 5
    calls = []

    def stop_after_first(n):
        calls.append(n)
        raise KeyboardInterrupt  # the operator pressed ^C after the first batch committed

    with pytest.raises(KeyboardInterrupt):
        rotated.keystore.rotate(batch=2, on_batch=stop_after_first)
    assert rotated.keystore.outdated() == 3
    assert rotated.keystore.rotate(batch=2) == 3 and rotated.keystore.outdated() == 0
    with rotated.db.key_sessions() as keys:
        assert {k.kek_id for k in keys.scalars(select(PersonKey))} == {rotated.keys.master_id}
    without_old = build(Settings(_env_file=None, **(new_settings.model_dump() | {"previous_master_keys": None})),
                        clock=clock)
    with without_old.db.sessions() as session:
        assert [r.content for r in without_old.vault(session, "t").read_records(ids[0], "lead_management")] == [
            {"name": "Piet"}]
    assert parse_secret("k", new_settings.master_key.get_secret_value()) == rotated.keys.master
    rotated.close()
    without_old.close()


def test_r_vlt_5_a_key_destroyed_in_a_transaction_is_not_served_again_from_its_reads(settings, clock):
    """R-VLT-5: with the key store in the data database (PostgreSQL's default), keys read in a transaction are
    not read twice; but a key destroyed in that transaction is gone for the rest of it too: nothing opens the
    person's data after the shredding."""
    kluis = build(settings.model_copy(update={"keystore_url": settings.database_url}), clock=clock)
    try:
        schema.upgrade(kluis.db)
        assert kluis.db.key_engine is kluis.db.engine
        person_id = _store_known_person(kluis)
        with kluis.db.transaction() as session:
            assert person_id in kluis.keystore.data_keys(session, [person_id])
            assert kluis.keystore.destroy(session, [person_id], reason="test") == 1
            assert kluis.keystore.data_keys(session, [person_id]) == {}
        with kluis.db.transaction() as session:
            assert kluis.keystore.data_keys(session, [person_id]) == {}
    finally:
        kluis.close()
