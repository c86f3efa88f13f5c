"""Operator commands: init, keys, seed, demo (R-VLT-1, R-GATE-2, R-POL-3)."""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select
from tests.helpers import sealed_log
from typer.testing import CliRunner

from kluis import wiring
from kluis.access.models import ApiKey
from kluis.audit.models import AuditEvent
from kluis.cli import app
from kluis.demo.seed import DemoPopulation
from kluis.vault.models import Identifier, Person, PersonKey, Record

runner = CliRunner()


@pytest.fixture
def cli_kluis(kluis):
    wiring.use_for_cli(kluis)
    yield kluis
    wiring.use_for_cli(None)


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    for name in [n for n in os.environ if n.startswith("KLUIS_")]:
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    wiring.use_for_cli(None)
    yield tmp_path
    if wiring._cli_instance is not None:
        wiring._cli_instance.close()
    wiring.use_for_cli(None)


def test_r_vlt_1_init_generates_local_keys_once_and_says_where(workdir):
    first = runner.invoke(app, ["init"])
    assert first.exit_code == 0, first.output
    secrets = workdir / ".kluis" / "secrets.env"
    assert str(secrets.resolve()) in first.output.replace("\n", "")
    assert oct(secrets.stat().st_mode & 0o777) == "0o600"
    content = secrets.read_text()
    assert re.search(r"^KLUIS_MASTER_KEY=\S{43}$", content, re.M)
    wiring._cli_instance.close()
    wiring.use_for_cli(None)
    again = runner.invoke(app, ["init"])
    assert again.exit_code == 0 and secrets.read_text() == content
    assert (workdir / "kluis.db").exists() and (workdir / "kluis-keys.db").exists()


def test_r_vlt_1_refuses_to_start_against_postgresql_without_a_master_key(workdir, monkeypatch):
    monkeypatch.setenv("KLUIS_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
    result = runner.invoke(app, ["init"])
    assert result.exit_code == 1 and "KLUIS_MASTER_KEY" in result.output and "refuses" in result.output
    assert not (workdir / ".kluis").exists()
    result = runner.invoke(app, ["keys", "list"])
    assert result.exit_code == 1 and "keys_missing" in result.output


def test_r_gate_2_keys_create_shows_secret_once_stores_only_a_hash_and_revokes(cli_kluis):
    created = runner.invoke(app, ["keys", "create", "--service", "benmobiel", "--purpose", "accounts",
                                  "--purpose", "expense_claims"])
    assert created.exit_code == 0, created.output
    token = re.search(r"kluis_\w{12}_[\w-]{43}", created.output).group()
    with cli_kluis.db.sessions() as session:
        key = session.scalars(select(ApiKey)).one()
    assert token.split("_", 2)[2] not in key.secret_hash and key.purposes == ["accounts", "expense_claims"]
    listed = runner.invoke(app, ["keys", "list"])
    assert key.prefix in listed.output and token not in listed.output
    bad = runner.invoke(app, ["keys", "create", "--service", "x", "--purpose", "acounts"])
    assert bad.exit_code == 1 and "acounts" in bad.output
    assert runner.invoke(app, ["keys", "revoke", key.prefix]).exit_code == 0
    assert "revoked" in runner.invoke(app, ["keys", "list"]).output


def test_r_vlt_1_keys_rotate_command_is_idempotent_and_audited(cli_kluis):
    result = runner.invoke(app, ["seed", "--subjects", "12"])
    assert result.exit_code == 0, result.output
    rotated = runner.invoke(app, ["keys", "rotate"])  # every key is already under the current master key
    assert rotated.exit_code == 0 and "0 keys re-wrapped and 0 sealed values" in rotated.output
    with cli_kluis.db.sessions() as session:
        assert session.scalars(select(AuditEvent.action).order_by(AuditEvent.seq.desc())).first() == "keys.rotated"
    assert sealed_log(cli_kluis).ok


def test_seed_writes_realistic_people_about_ten_records_each(cli_kluis):
    result = runner.invoke(app, ["seed", "--subjects", "60", "--seed", "3"])
    assert result.exit_code == 0, result.output
    with cli_kluis.db.sessions() as session:
        people = session.scalar(select(func.count()).select_from(Person))
        records = session.scalar(select(func.count()).select_from(Record))
        kinds = {t for p in session.scalars(select(Person)) for t in p.subject_types}
        phones = session.scalar(select(func.count()).select_from(Identifier).where(Identifier.kind == "phone"))
        with cli_kluis.db.key_sessions() as keys:
            assert keys.scalar(select(func.count()).select_from(PersonKey)) == 60
    assert people == 60 and 7 * 60 <= records <= 12 * 60
    assert {"employee", "lead"} <= kinds and phones > 0


def test_seed_population_is_reproducible_and_phone_numbers_valid():
    import phonenumbers

    at = datetime(2026, 1, 1, tzinfo=UTC)
    a, b = DemoPopulation(5, at), DemoPopulation(5, at)
    seen: set[str] = set()
    for _ in range(5000):
        pa, ra = a.person(a.subject_type(), None)
        pb, rb = b.person(b.subject_type(), None)
        assert pa == pb and ra == rb
        for ident in pa.identifiers:
            assert (ident.kind, ident.value) not in seen, "identifiers must be unique across the population"
            seen.add((ident.kind, ident.value))
            if ident.kind == "phone":
                assert phonenumbers.is_valid_number(phonenumbers.parse(ident.value, "NL"))


def test_r_pol_3_demo_prepares_everything_in_one_command(workdir):
    result = runner.invoke(app, ["demo", "--subjects", "30", "--no-serve"])
    assert result.exit_code == 0, result.output
    out = result.output.replace("\n", " ")
    for needle in ("/privacy", "/docs", "/health", "/console/login", "kluis_", "console login"):
        assert needle in out
    from fastapi.testclient import TestClient

    from kluis.app import create_app

    with TestClient(create_app(wiring.for_cli())) as client:
        assert "benVitaal" in client.get("/privacy").text
        assert client.get("/health").json()["status"] == "ok"
    assert Path("kluis.db").exists()


@pytest.mark.plain_schema
def test_serve_and_worker_refuse_an_outdated_schema_with_a_clear_message(cli_kluis):
    from alembic import command

    from kluis.schema import alembic_config

    with cli_kluis.db.engine.begin() as conn:
        config = alembic_config(str(cli_kluis.db.engine.url), "data")
        config.attributes["connection"] = conn
        command.downgrade(config, "0001_data")
    for args in (["serve", "--port", "1"], ["worker", "--once"]):
        result = runner.invoke(app, args)
        assert result.exit_code == 1 and "kluis migrate" in result.output, args
    assert runner.invoke(app, ["migrate"]).exit_code == 0
    assert runner.invoke(app, ["worker", "--once"]).exit_code == 0
