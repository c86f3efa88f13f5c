"""Rights benchmarks on PostgreSQL (issue: data-subject rights, §7), for one person among --people people
with --records records each, plus two service databases (the demo's benMobiel and webinar datasets, with
rows for every person):

- access: from a verified request to the package (JSON and CSV per category, datasets included) stored
  encrypted, as the worker builds it; its data collection step alone (decrypting the person's records and
  identifiers, reading the datasets) beside a raw SQL fetch of the same rows; the report's HTML and PDF
  rendering apart;
- erasure: from queued to certified, beside raw SQL DELETEs of the same rows for other people of the same
  size.

    python bench/rights.py --people 1000000 --records 10 --samples 200

The measured people are written through the vault (real keys, ciphertext, identifiers); the rest of
the population is bulk filler written with set-based SQL (see common.pg_filler).
"""

from __future__ import annotations

import argparse
import functools
import io
import secrets
import statistics
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import add_database_url, fresh_kluis, load_average, peak_rss_mb, pg_filler  # noqa: E402

from kluis.demo.datasets import create_demo_schemas  # noqa: E402
from kluis.erasure import service as erasure  # noqa: E402
from kluis.erasure.rules import JobState, Reason  # noqa: E402
from kluis.kit.cli import progress  # noqa: E402
from kluis.rights.packages.archive import write_access_package  # noqa: E402
from kluis.rights.packages.service import Packages  # noqa: E402
from kluis.rights.service import Rights  # noqa: E402
from kluis.vault.crypto import open_sealed  # noqa: E402
from kluis.vault.models import Record  # noqa: E402
from kluis.vault.schemas import IdentifierIn, PersonIn, RecordIn  # noqa: E402

CATEGORIES = [("basic", ["accounts"], "contract"), ("interests", ["lead_management"], "legitimate_interest"),
              ("content", ["community"], "legitimate_interest"), ("account", ["accounts"], "contract")]


def email(tag: str, i: int) -> str:
    return f"{tag}{i}@bench.example.nl"


def sample_people(kluis, count: int, records: int, tag: str) -> list:
    ids = []
    with kluis.db.transaction() as session:
        vault = kluis.vault(session, "bench")
        people = vault.create_people([PersonIn(subject_types=["lead"], identifiers=[
            IdentifierIn(kind="email", value=email(tag, i))]) for i in range(count)])
        for person in people:
            items = []
            for j in range(records):
                category, purposes, basis = CATEGORIES[j % len(CATEGORIES)]
                items.append(RecordIn(category=category, purposes=purposes, legal_basis=basis, source="direct",
                                      content={"n": j, "text": f"waarde {j} van {tag}"}))
            vault.add_records(person.id, items)
            ids.append(person.id)
    return ids


DATASET_TABLES = {"benmobiel": ("trips", "mobility_budgets"), "webinars": ("registrations", "questions")}
FILLER = {
    "trips": "INSERT INTO trips (email, started_at, from_place, to_place, distance_km, mode) "
             "SELECT 'filler' || g || '@bench.example.nl', now() - (g % 400) * interval '1 day', 'Maastricht', "
             "'Utrecht', 42.5, 'train' FROM generate_series(CAST(:lo AS integer), CAST(:hi AS integer)) g, "
             "generate_series(1, 2) k",
    "mobility_budgets": "INSERT INTO mobility_budgets (email, full_name, budget_year, budget_eur, claimed_eur) "
                        "SELECT 'filler' || g || '@bench.example.nl', 'Vul Ler', 2026, 1200, 300 "
                        "FROM generate_series(CAST(:lo AS integer), CAST(:hi AS integer)) g",
    "registrations": "INSERT INTO registrations (webinar, email, full_name, company, attended, registered_at) "
                     "SELECT 'Fiscaal slim belonen', 'filler' || g || '@bench.example.nl', 'Vul Ler', 'Techniek BV', "
                     "true, now() FROM generate_series(CAST(:lo AS integer), CAST(:hi AS integer)) g",
    "questions": "INSERT INTO questions (webinar, email, question, asked_at) SELECT 'Fiscaal slim belonen', "
                 "'filler' || g || '@bench.example.nl', 'Geldt dit ook voor parttimers?', now() "
                 "FROM generate_series(CAST(:lo AS integer), CAST(:hi AS integer)) g",
}


@contextmanager
def service_databases(pg_url: str, people: int, emails: list[str], now) -> Iterator[dict[str, str]]:
    """The two demo datasets as PostgreSQL databases: the measured people's rows, then filler rows for
    every other person (about five rows per person over four tables)."""
    admin = create_engine(pg_url, isolation_level="AUTOCOMMIT")
    names = {name: f"kluis_bench_{name}_{uuid.uuid4().hex[:8]}" for name in DATASET_TABLES}
    with admin.connect() as conn:
        for database in names.values():
            conn.execute(text(f'CREATE DATABASE "{database}"'))
    urls = {name: make_url(pg_url).set(database=db).render_as_string(False) for name, db in names.items()}
    try:
        create_demo_schemas(urls, emails, now)
        for name, url in urls.items():
            engine = create_engine(url)
            with engine.begin() as conn:
                for start in range(1, people + 1, 200_000):
                    for table in DATASET_TABLES[name]:
                        conn.execute(text(FILLER[table]), {"lo": start, "hi": min(start + 199_999, people)})
                for table in DATASET_TABLES[name]:
                    conn.execute(text(f"ANALYZE {table}"))
            engine.dispose()
        yield urls
    finally:
        with admin.connect() as conn:
            for database in names.values():
                conn.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
        admin.dispose()


def verified_requests(kluis, ids: list) -> list:
    """Access requests registered by staff with a verification: verifying queues each one's package."""
    made = []
    with kluis.db.transaction() as session:
        rights = Rights(session, kluis, "bench")
        for person_id in ids:
            made.append(rights.register_by_staff("access", kluis.clock.now(), "bench", person_id=person_id,
                                                 verification="bench").request.id)
    return made


def kluis_access(kluis, requests: list) -> list[float]:
    """The worker's two transactions per package: claim, then build + store + request done + mail queued."""
    builder = functools.partial(write_access_package, report=False)
    times = []
    for _ in requests:
        started = time.perf_counter()
        token = secrets.token_hex(16)
        with kluis.db.transaction() as session:
            claimed = Packages(session, kluis, "bench").claim(token)
        with kluis.db.transaction() as session:
            built = Packages(session, kluis, "bench").build(claimed[0].id, token, builder)
            Rights(session, kluis, "bench").package_ready(built)
        times.append((time.perf_counter() - started) * 1000)
    return times


def collection_times(kluis, ids: list, emails: list[str], urls: dict[str, str]) -> tuple[list[float], list[float]]:
    """Data collection by Kluis and the raw fetch of the same rows, person by person in turn (see ``erasure_times``)."""
    engines = {name: create_engine(url) for name, url in urls.items()}
    kluis_times, raw_times = [], []
    for n, (person_id, address) in enumerate(zip(ids, emails, strict=True)):
        if n % 2:  # each goes first half of the time: neither inherits the other's traces more often
            raw_times.append(raw_collect(kluis, engines, person_id, address))
        kluis_times.append(kluis_collect(kluis, person_id))
        if not n % 2:
            raw_times.append(raw_collect(kluis, engines, person_id, address))
    for engine in engines.values():
        engine.dispose()
    return kluis_times, raw_times


def kluis_collect(kluis, person_id) -> float:
    """Data collection alone: the person's records and identifiers decrypted, their dataset rows read."""
    started = time.perf_counter()
    with kluis.db.sessions() as session:
        vault = kluis.vault(session, "bench")
        dek = kluis.keystore.data_keys(session, [person_id])[person_id]
        records = [open_sealed(dek, r.person_id, r.id, r.category, r.ciphertext)
                   for r in session.scalars(select(Record).where(Record.person_id == person_id))]
        identities = [(i.kind, i.scope or None, vault.identifier_value(i)) for i in vault.identifiers_of(person_id)]
    rows = [t for dataset in kluis.datasets().ids() for t in kluis.datasets().read(dataset, identities)]
    elapsed = (time.perf_counter() - started) * 1000
    assert records and rows
    return elapsed


def raw_collect(kluis, engines, person_id, address: str) -> float:
    """The same rows fetched with plain SQL: records, identifiers, key, and each dataset table's rows."""
    started = time.perf_counter()
    with kluis.db.engine.connect() as conn:
        conn.execute(text("SELECT * FROM record WHERE person_id = :p"), {"p": person_id}).all()
        conn.execute(text("SELECT * FROM identifier WHERE person_id = :p"), {"p": person_id}).all()
        conn.execute(text("SELECT * FROM person_key WHERE person_id = :p"), {"p": person_id}).all()
    for name, engine in engines.items():
        with engine.connect() as conn:
            for table in DATASET_TABLES[name]:
                conn.execute(text(f"SELECT * FROM {table} WHERE lower(email) = :e"), {"e": address}).all()
    return (time.perf_counter() - started) * 1000


def report_rendering(kluis, person_id) -> list[float]:
    """The readable report (HTML and PDF) of one person, rendered apart."""
    times = []
    for _ in range(10):
        started = time.perf_counter()
        with kluis.db.sessions() as session:
            write_access_package(kluis, session, person_id, "nl", io.BytesIO())
        times.append((time.perf_counter() - started) * 1000)
    return times


def erasure_times(kluis, ours: list, theirs: list, emails: list[str],
             urls: dict[str, str]) -> tuple[list[float], list[float]]:
    """Kluis erasing ``ours`` (queued -> certified) and the same rows gone by raw SQL for ``theirs``, one of each in
    turn, so that whatever else the machine does meanwhile weighs on both alike."""
    runner = erasure.Runner(kluis, "bench")
    engines = {name: create_engine(url) for name, url in urls.items()}
    kluis_times, raw_times = [], []
    for n, (person_id, (other_id, email)) in enumerate(zip(ours, zip(theirs, emails, strict=True), strict=True)):
        if n % 2:  # each goes first half of the time (see ``collection_times``)
            raw_times.append(raw_erasure(kluis, engines, other_id, email))
        kluis_times.append(kluis_erasure(kluis, runner, person_id))
        if not n % 2:
            raw_times.append(raw_erasure(kluis, engines, other_id, email))
    for engine in engines.values():
        engine.dispose()
    return kluis_times, raw_times


def kluis_erasure(kluis, runner, person_id) -> float:
    started = time.perf_counter()
    with kluis.db.transaction() as session:
        job_id = erasure.queue(session, kluis, person_id, Reason.STAFF, "bench").id
    job = runner.run(job_id)
    elapsed = (time.perf_counter() - started) * 1000
    assert job.state == JobState.DONE, job.last_error
    return elapsed


def raw_erasure(kluis, engines, person_id, email: str) -> float:
    """The same rows gone by hand: the person's rows in each dataset, then their records, identifiers (and their
    blind-index rows) and key; one transaction per database, as Kluis does."""
    started = time.perf_counter()
    for name, engine in engines.items():
        with engine.begin() as conn:
            for table in DATASET_TABLES[name]:
                conn.execute(text(f"DELETE FROM {table} WHERE lower(email) = :e"), {"e": email})
    with kluis.db.engine.begin() as conn:
        conn.execute(text("DELETE FROM record WHERE person_id = :p"), {"p": person_id})
        conn.execute(text("DELETE FROM identifier_lookup WHERE digest IN "
                          "(SELECT digest FROM identifier WHERE person_id = :p)"), {"p": person_id})
        conn.execute(text("DELETE FROM identifier WHERE person_id = :p"), {"p": person_id})
        conn.execute(text("UPDATE person SET shredded_at = now() WHERE id = :p"), {"p": person_id})
    with kluis.db.key_engine.begin() as conn:
        conn.execute(text("DELETE FROM person_key WHERE person_id = :p"), {"p": person_id})
    return (time.perf_counter() - started) * 1000


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] if len(values) > 1 else values[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--records", type=int, default=10, help="records per person")
    parser.add_argument("--samples", type=int, default=200, help="people erased by each method")
    add_database_url(parser)
    args = parser.parse_args()
    emails_a = [email("a", i) for i in range(args.samples)]
    emails_b = [email("b", i) for i in range(args.samples)]
    with fresh_kluis("postgresql", args.database_url) as kluis, service_databases(
            args.database_url, args.people, emails_a + emails_b, kluis.clock.now()) as urls:
        kluis.use_dataset_urls(urls)
        filler = max(args.people - 2 * args.samples, 0)
        with progress("filler people", filler) as step:
            pg_filler(kluis, filler, args.records, on_batch=step)
        a = sample_people(kluis, args.samples, args.records, "a")
        b = sample_people(kluis, args.samples, args.records, "b")
        with kluis.db.engine.begin() as conn:
            conn.execute(text("ANALYZE"))
        print(f"PostgreSQL, {args.people:,} people x {args.records} records "
              f"({args.people * args.records:,} records) + 2 service databases (~5 rows per person); "
              f"{args.samples} people per measurement; {load_average()}")
        requests = verified_requests(kluis, a)
        access = kluis_access(kluis, requests)
        collect, raw_fetch = collection_times(kluis, a, emails_a, urls)
        rendering = report_rendering(kluis, a[0])
        show("access, verified -> JSON package stored", access)
        show("  data collection (decrypt + datasets)", collect)
        show("  raw SQL fetch of the same rows", raw_fetch)
        print(f"  ratio p50 collection / raw fetch: {statistics.median(collect) / statistics.median(raw_fetch):.2f}")
        show("report HTML + PDF (whole package, apart)", rendering)
        erasure_times(kluis, a[:3], b[:3], emails_b[:3], urls)  # warm-up: connections made, statements prepared
        ours, raw = erasure_times(kluis, a[3:], b[3:], emails_b[3:], urls)
        show("erasure, queued -> certified (Kluis)", ours)
        show("raw DELETEs, same rows", raw)
        print(f"  ratio p50 Kluis / raw: {statistics.median(ours) / statistics.median(raw):.2f}   "
              f"peak RSS {peak_rss_mb():.0f} MB")


def show(name: str, values: list[float]) -> None:
    print(f"  {name:42} p50 {statistics.median(values):7.2f} ms  p95 {pct(values, 95):7.2f} ms")


if __name__ == "__main__":
    main()
