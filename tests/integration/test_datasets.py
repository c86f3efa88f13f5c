"""R-DSR-9: rights reach benVitaal's service databases, declared in the policy, on SQLite, PostgreSQL and MariaDB.

Every test body runs against each of the three: a fresh SQLite file, a fresh PostgreSQL database and a fresh
MariaDB database, filled with the demo schemas ``kluis demo`` creates. The person's rows are checked with
plain SQL beside the service, so what ``Datasets`` says is compared with what the database holds.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import os
import uuid
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Table, create_engine, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from typer.testing import CliRunner

from kluis import wiring
from kluis.audit.models import AuditEvent
from kluis.cli import app
from kluis.datasets.service import Datasets, DatasetUnavailable, audit_erasure, audit_rectification
from kluis.demo.datasets import benmobiel_schema, create_demo_schemas, webinars_schema
from kluis.kit.errors import Invalid
from kluis.policy.schemas import Dataset
from kluis.rights.packages.archive import write_access_package
from kluis.vault.models import Identifier
from kluis.vault.schemas import IdentifierIn, PersonIn

ANNA = "anna.devries@example.nl"
BOB = "bob.jansen@example.nl"
STORED_ANNA = "Anna.deVries@Example.NL"  # as a service stored it: found however it was typed
SERVERS = {
    "postgresql": os.environ.get("KLUIS_TEST_POSTGRES_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"),
    "mariadb": os.environ.get("KLUIS_TEST_MARIADB_URL", "mysql+pymysql://root@127.0.0.1:3306/"),
}
UNREACHABLE = {"postgresql": "postgresql+psycopg://kluis:geheim@127.0.0.1:1/benmobiel",
               "mariadb": "mysql+pymysql://kluis:geheim@127.0.0.1:1/benmobiel"}
TABLES = {name: table for schema in (benmobiel_schema(), webinars_schema()) for name, table in schema.tables.items()}
KEY = b"k" * 32


def digest(kind: str, value: str) -> str:
    return hmac.new(KEY, f"{kind}|{value}".encode(), hashlib.sha256).hexdigest()


@dataclass
class Backend:
    name: str
    urls: dict[str, str]

    def rows(self, table: str, where: str | None = None) -> list[tuple]:
        """Every row of a demo table (or those whose lower-cased e-mail is ``where``), in id order."""
        schema: Table = TABLES[table]
        query = select(schema).order_by(schema.c.id)
        if where is not None:
            query = query.where(func.lower(schema.c.email) == where)
        engine = create_engine(self.urls["benmobiel" if table in ("trips", "mobility_budgets") else "webinars"])
        try:
            with engine.connect() as conn:
                return [tuple(row) for row in conn.execute(query)]
        finally:
            engine.dispose()

    def everything(self) -> dict[str, list[tuple]]:
        return {name: self.rows(name) for name in TABLES}


def _server_database(kind: str) -> Iterator[str]:
    admin_url = make_url(SERVERS[kind])
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    name = f"kluis_ds_{uuid.uuid4().hex[:12]}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f"CREATE DATABASE {name}" + (" CHARACTER SET utf8mb4" if kind == "mariadb" else "")))
    except OperationalError as exc:
        admin.dispose()
        if os.environ.get("CI"):
            raise
        pytest.skip(f"{kind} server not reachable at {admin_url.render_as_string()}: {exc.orig}")
    try:
        yield admin_url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            force = " WITH (FORCE)" if kind == "postgresql" else ""
            conn.execute(text(f"DROP DATABASE IF EXISTS {name}{force}"))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql", "mariadb"])
def backend(request, tmp_path: Path, clock) -> Iterator[Backend]:
    """Both demo datasets filled for Anna and Bob: two SQLite files, or one fresh server database for both."""
    if request.param == "sqlite":
        urls = {name: f"sqlite:///{tmp_path / f'{name}.db'}" for name in ("benmobiel", "webinars")}
        create_demo_schemas(urls, [STORED_ANNA, BOB], clock.now())
        yield Backend("sqlite", urls)
        return
    database = _server_database(request.param)
    url = next(database)
    urls = {"benmobiel": url, "webinars": url}
    create_demo_schemas(urls, [STORED_ANNA, BOB], clock.now())
    yield Backend(request.param, urls)
    next(database, None)


@pytest.fixture
def datasets(backend: Backend, kluis) -> Iterator[Datasets]:
    service = Datasets(kluis.policy, backend.urls, digest)
    yield service
    service.close()


def anna(kind: str = "email") -> list[tuple[str, str | None, str]]:
    return [(kind, None, ANNA if kind == "email" else "+31612345678")]


def test_r_dsr_9_read_finds_exactly_the_persons_rows(backend, datasets, kluis) -> None:
    assert datasets.ids() == ["benmobiel", "webinars"]
    for dataset_id in datasets.ids():
        declared = kluis.policy.dataset(dataset_id)
        found = datasets.read(dataset_id, anna())
        assert [r.table for r in found] == [t.name for t in declared.tables]
        for rows, table in zip(found, declared.tables, strict=True):
            assert rows.columns == table.columns
            assert rows.rows, f"the demo gives Anna rows in {table.name}"
            assert len(rows.rows) == len(backend.rows(table.name, ANNA))
            assert {r["email"] for r in rows.rows} == {STORED_ANNA}
            assert all(set(r) == set(table.columns) for r in rows.rows)
    assert all(not r.rows for r in datasets.read("benmobiel", anna("phone")))


def test_r_dsr_9_erase_applies_each_tables_strategy(backend, datasets, kluis) -> None:
    before = backend.everything()
    bob_before = {name: backend.rows(name, BOB) for name in TABLES}
    trips = backend.rows("trips", ANNA)
    registrations = backend.rows("registrations", ANNA)

    mobility = datasets.erase("benmobiel", anna())
    webinars = datasets.erase("webinars", anna())

    done = {t.table: t for t in mobility.tables + webinars.tables}
    assert {name: str(t.strategy) for name, t in done.items()} == {
        "trips": "keyed_hash", "mobility_budgets": "keep", "registrations": "null_columns",
        "questions": "delete_row"}
    # delete_row: Anna's questions are gone.
    assert backend.rows("questions", ANNA) == []
    assert done["questions"].rows == len([r for r in before["questions"] if r[2] == STORED_ANNA])
    # null_columns: the registration stays for attendance counts, without who registered.
    after = {r[0]: r for r in backend.rows("registrations")}
    assert done["registrations"].rows == len(registrations) > 0
    for old in registrations:
        new = after[old[0]]
        assert (new[2], new[3], new[4]) == (None, None, None)
        assert (new[1], new[5], new[6]) == (old[1], old[5], old[6])
    # keyed_hash: the trip is kept for the mobility figures, under the keyed hash instead of the address.
    hashed = {r[0]: r for r in backend.rows("trips")}
    assert done["trips"].rows == len(trips) > 0
    for old in trips:
        new = hashed[old[0]]
        assert new[1] == digest("email", ANNA)
        assert (new[3], new[4]) == (None, None)
        assert (new[2], new[5], new[6]) == (old[2], old[5], old[6])
    assert backend.rows("trips", ANNA) == []
    assert all(not r.rows for r in datasets.read("benmobiel", anna()) if r.table == "trips")
    # keep: untouched, and reported with the legal obligation.
    assert backend.rows("mobility_budgets") == before["mobility_budgets"]
    kept = done["mobility_budgets"]
    assert kept.rows == len(backend.rows("mobility_budgets", ANNA)) > 0
    assert kept.kept_reason == kluis.policy.dataset("benmobiel").table("mobility_budgets").kept_reason
    assert mobility.kept == [kept]
    # Nobody else was touched.
    assert {name: backend.rows(name, BOB) for name in TABLES} == bob_before
    assert mobility.audit_details() == {"dataset": "benmobiel", "tables": {
        "trips": {"strategy": "keyed_hash", "rows": len(trips)},
        "mobility_budgets": {"strategy": "keep", "rows": kept.rows}}}


def test_r_dsr_9_erasing_twice_gives_the_same_state(backend, datasets) -> None:
    first = [datasets.erase(d, anna()) for d in datasets.ids()]
    state = backend.everything()
    second = [datasets.erase(d, anna()) for d in datasets.ids()]
    assert backend.everything() == state
    assert {t.table: t.rows for r in second for t in r.tables} == {
        t.table: (t.rows if str(t.strategy) == "keep" else 0) for r in first for t in r.tables}


def test_r_dsr_9_erasure_is_all_or_nothing_per_dataset(backend, kluis) -> None:
    """The second table names a column the database lacks: the first table's change is rolled back."""
    declared = kluis.policy.dataset("benmobiel").model_dump(mode="json")
    budgets = declared["tables"][1]
    budgets.update(strategy="null_columns", kept_reason=None,
                   columns=budgets["columns"] | {"iban": "financial"})
    drifted = kluis.policy.model_copy(update={"datasets": [Dataset.model_validate(declared)]})
    service = Datasets(drifted, backend.urls, digest)
    before = backend.everything()
    try:
        with pytest.raises(DatasetUnavailable) as caught:
            service.erase("benmobiel", anna())
    finally:
        service.close()
    assert caught.value.dataset_id == "benmobiel"
    assert caught.value.code == "dataset_unavailable"
    assert "table 'mobility_budgets'" in caught.value.message
    assert "nothing was changed" in caught.value.message
    assert ANNA not in caught.value.message.lower()
    assert backend.everything() == before


def test_r_dsr_9_rectify_updates_only_the_persons_rows(backend, datasets) -> None:
    bob = backend.rows("registrations", BOB)
    updated = datasets.rectify("webinars", anna(), {"company": "Nieuw Bedrijf BV", "full_name": "Anna de Vries"})
    assert updated == len(backend.rows("registrations", ANNA)) > 0
    assert {(r[3], r[4]) for r in backend.rows("registrations", ANNA)} == {("Anna de Vries", "Nieuw Bedrijf BV")}
    assert backend.rows("registrations", BOB) == bob
    # The identity column too: the person's new address, in every table that declares it.
    moved = datasets.rectify("benmobiel", anna(), {"email": "anna@nieuw.example"})
    assert moved == len(backend.rows("trips", "anna@nieuw.example")) + len(
        backend.rows("mobility_budgets", "anna@nieuw.example"))
    assert backend.rows("trips", ANNA) == [] and backend.rows("mobility_budgets", ANNA) == []


def test_r_dsr_9_rectify_refuses_undeclared_columns_and_writes_nothing(backend, datasets) -> None:
    before = backend.everything()
    with pytest.raises(Invalid) as caught:
        datasets.rectify("webinars", anna(), {"company": "Ander BV", "webinar": "Iets anders"})
    assert caught.value.code == "dataset_column_unknown"
    assert [p.path for p in caught.value.problems] == ["changes.webinar"]
    assert backend.everything() == before


def test_r_dsr_9_unconfigured_or_unreachable_dataset_is_unavailable(backend, kluis, tmp_path) -> None:
    before = backend.everything()
    unconfigured = Datasets(kluis.policy, {"webinars": backend.urls["webinars"]}, digest)
    with pytest.raises(DatasetUnavailable) as caught:
        unconfigured.erase("benmobiel", anna())
    assert caught.value.dataset_id == "benmobiel"
    assert "KLUIS_DATASET_URLS" in caught.value.message
    assert unconfigured.erase("webinars", anna()).tables  # the other dataset still works
    unconfigured.close()

    missing = tmp_path / "elders" / "benmobiel.db"
    down = UNREACHABLE.get(backend.name, f"sqlite:///{missing}")
    unreachable = Datasets(kluis.policy, {"benmobiel": down}, digest)
    try:
        for attempt in (lambda: unreachable.read("benmobiel", anna()),
                        lambda: unreachable.erase("benmobiel", anna()),
                        lambda: unreachable.rectify("benmobiel", anna(), {"full_name": "A"})):
            with pytest.raises(DatasetUnavailable) as caught:
                attempt()
            assert caught.value.dataset_id == "benmobiel"
            assert "geheim" not in caught.value.message
            assert ("cannot be reached" in caught.value.message if backend.name != "sqlite"
                    else "does not exist" in caught.value.message)
        # A person the dataset cannot name (no e-mail address) is not looked up there, so nothing waits.
        assert all(not r.rows for r in unreachable.read("benmobiel", anna("phone")))
        assert [t.rows for t in unreachable.erase("benmobiel", anna("phone")).tables] == [0, 0]
    finally:
        unreachable.close()
    assert not missing.exists()
    assert {k: v for k, v in backend.everything().items() if k in ("trips", "mobility_budgets")} == {
        k: v for k, v in before.items() if k in ("trips", "mobility_budgets")}


def _person(kluis, email: str) -> uuid.UUID:
    with kluis.db.transaction() as session:
        person = kluis.vault(session, "test").create_person(
            PersonIn(subject_types=["webinar_attendee"], identifiers=[IdentifierIn(kind="email", value=email)]))
        return person.id


def test_r_dsr_9_access_package_holds_the_dataset_rows(backend, kluis) -> None:
    kluis.use_dataset_urls(backend.urls)
    person_id = _person(kluis, "Anna.deVries@example.nl")
    out = io.BytesIO()
    with kluis.db.transaction() as session:
        write_access_package(kluis, session, person_id, "en", out)
    expected = {(r.dataset_id, r.table): r for d in kluis.datasets().ids()
                for r in kluis.datasets().read(d, anna())}
    with zipfile.ZipFile(out) as zf:
        names = set(zf.namelist())
        manifest = json.loads(zf.read("manifest.json"))
        report = zf.read("report.html").decode()
        for (dataset_id, table), rows in expected.items():
            data = json.loads(zf.read(f"datasets/{dataset_id}/{table}.json"))
            assert data["rows"] == rows.rows and rows.rows
            assert {c["column"]: c["category"] for c in data["columns"]} == rows.columns
            lines = zf.read(f"datasets/{dataset_id}/{table}.csv").decode().splitlines()
            assert lines[0] == ",".join(rows.columns) and len(lines) == len(rows.rows) + 1
            assert manifest["datasets"][dataset_id][table] == len(rows.rows)
    assert {f"datasets/benmobiel/trips.{ext}" for ext in ("json", "csv")} <= names
    assert "Data in our service systems" in report and "benMobiel trips and mobility budgets" in report


def test_r_dsr_9_access_package_waits_for_a_dataset_that_is_down(backend, kluis) -> None:
    kluis.use_dataset_urls({"webinars": backend.urls["webinars"],
                            "benmobiel": UNREACHABLE.get(backend.name, "sqlite:////nonexistent/benmobiel.db")})
    person_id = _person(kluis, ANNA)
    with kluis.db.sessions() as session:
        events = session.query(AuditEvent).count()
    out = io.BytesIO()
    with pytest.raises(DatasetUnavailable) as caught, kluis.db.transaction() as session:
        write_access_package(kluis, session, person_id, "nl", out)
    assert caught.value.dataset_id == "benmobiel"
    assert out.getvalue() == b""
    with kluis.db.sessions() as session:
        assert session.query(AuditEvent).count() == events


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


def test_r_dsr_9_demo_creates_and_configures_both_datasets(workdir) -> None:
    result = CliRunner().invoke(app, ["demo", "--subjects", "30", "--no-serve"])
    assert result.exit_code == 0, result.output
    files = {name: workdir / f"kluis-{name}.db" for name in ("benmobiel", "webinars")}
    assert all(path.is_file() for path in files.values())
    assert "demo dataset 'benmobiel'" in result.output
    kluis = wiring.for_cli()
    with kluis.db.sessions() as session:
        vault = kluis.vault(session, "test")
        first = session.scalars(select(Identifier).where(Identifier.kind == "email")
                                .order_by(Identifier.created_at, Identifier.id)).first()
        email = vault.identifier_value(first)
    for dataset_id in ("benmobiel", "webinars"):
        found = kluis.datasets().read(dataset_id, [("email", None, email)])
        assert all(r.rows for r in found), f"a seeded person has rows in every table of {dataset_id}"


def test_r_dsr_9_kluis_hashes_with_its_blind_index_key_in_a_domain_of_its_own(backend, kluis) -> None:
    kluis.use_dataset_urls(backend.urls)
    trips = backend.rows("trips", ANNA)
    kluis.datasets().erase("benmobiel", anna())
    stored = {r[1] for r in backend.rows("trips") if r[0] in {t[0] for t in trips}}
    assert stored == {kluis.keys.digest("dataset:email", "", ANNA).hex()}
    assert stored.isdisjoint({kluis.keys.digest("email", "", ANNA).hex(), digest("email", ANNA)})


def test_r_dsr_9_erasure_and_rectification_are_audited_without_values(backend, kluis) -> None:
    kluis.use_dataset_urls(backend.urls)
    person_id = _person(kluis, ANNA)
    with kluis.db.transaction() as session:
        result = kluis.datasets().erase("webinars", anna())
        audit_erasure(session, kluis.clock, actor="staff:test", person_id=person_id, result=result)
        rows = kluis.datasets().rectify("benmobiel", anna(), {"full_name": "Anna de Vries"})
        audit_rectification(session, kluis.clock, actor="staff:test", person_id=person_id, dataset_id="benmobiel",
                            columns=["full_name"], rows=rows)
    with kluis.db.sessions() as session:
        events = session.scalars(select(AuditEvent).where(AuditEvent.action.like("datasets.%")).order_by(AuditEvent.seq)
                                 .order_by(AuditEvent.seq)).all()
    assert [(e.action, e.object_ids) for e in events] == [("datasets.erased", [str(person_id)]),
                                                          ("datasets.rectified", [str(person_id)])]
    assert events[0].details["tables"]["questions"] == {"strategy": "delete_row", "rows": result.tables[1].rows}
    assert events[1].details == {"dataset": "benmobiel", "columns": ["full_name"], "rows": rows} and rows > 0
    assert "anna" not in json.dumps([e.details for e in events]).lower()


def test_r_dsr_9_datasets_check_compares_each_database_with_its_declaration(backend, kluis) -> None:
    kluis.use_dataset_urls(backend.urls)
    wiring.use_for_cli(kluis)
    try:
        ok = CliRunner().invoke(app, ["datasets", "check"])
        assert ok.exit_code == 0, ok.output
        assert "OK benmobiel" in ok.output and "OK webinars" in ok.output
        kluis.use_dataset_urls({"benmobiel": UNREACHABLE.get(backend.name, "sqlite:////nonexistent/benmobiel.db")})
        down = CliRunner().invoke(app, ["datasets", "check"])
        assert down.exit_code == 1
        assert "benmobiel" in down.output and "OK webinars" in down.output and "geheim" not in down.output
    finally:
        wiring.use_for_cli(None)
    declared = kluis.policy.dataset("webinars").model_dump(mode="json")
    declared["tables"][1]["columns"]["upvotes"] = "content"
    declared["tables"].append(declared["tables"][0] | {"name": "attendees"})
    drifted = Datasets(kluis.policy.model_copy(update={"datasets": [Dataset.model_validate(declared)]}),
                       backend.urls, digest)
    try:
        assert drifted.check("webinars") == ["table 'questions' has no column 'upvotes'",
                                             "table 'attendees' does not exist"]
    finally:
        drifted.close()
