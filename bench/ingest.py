"""Encrypted ingest through the vault against the fastest plain write of the same rows, in the same run.

    python bench/ingest.py --people 100000 --backend postgresql

For each batch of generated people (demo data, about 9 records each), from the same generated objects, it times
  kluis: building the BatchRecordIn items, then Vault.add_records (policy checks, content guard, per-person
         AES-256-GCM, COPY on PostgreSQL, audit event, commit), at most 10,000 records a call;
  plain: building plaintext rows (content as JSON), then COPY of them through psycopg on PostgreSQL (one
         executemany of a prepared INSERT in one transaction on SQLite, which has no COPY), no checks, no
         encryption, commit; the same chunks;
and the same for the people (Vault.create_people: blind index and encrypted identifiers; plain: the person and
identifier rows in plaintext, written the same plain way). Prints sizes, rates, the ratios and the peak memory.

Once Kluis is built, the process settles its heap as `kluis serve` and `kluis worker` do (kluis.kit.heap): both
sides then run as in a long-lived Kluis process.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import uuid
from pathlib import Path

from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import add_database_url, fresh_kluis, load_average, peak_rss_mb  # noqa: E402

from kluis.demo.seed import DemoPopulation  # noqa: E402
from kluis.kit import heap  # noqa: E402
from kluis.kit.cli import progress  # noqa: E402
from kluis.vault.schemas import BatchRecordIn  # noqa: E402
from kluis.vault.service import add_employer  # noqa: E402

PLAIN_TABLES = ("""CREATE TABLE bench_plain_person (
    id {uuid} PRIMARY KEY, subject_types {json} NOT NULL, employer_id {uuid}, created_at {ts} NOT NULL)""",
    """CREATE TABLE bench_plain_identifier (
    id {uuid} PRIMARY KEY, person_id {uuid} NOT NULL REFERENCES bench_plain_person (id), kind VARCHAR(24) NOT NULL,
    scope VARCHAR(64) NOT NULL, value VARCHAR(320) NOT NULL, created_at {ts} NOT NULL)""",
    """CREATE TABLE bench_plain_record (
    id {uuid} PRIMARY KEY, person_id {uuid} NOT NULL REFERENCES bench_plain_person (id),
    category VARCHAR(40) NOT NULL, purposes {json} NOT NULL, legal_basis VARCHAR(24) NOT NULL,
    source VARCHAR(24) NOT NULL, controller VARCHAR(12) NOT NULL, controller_employer_id {uuid},
    content {json} NOT NULL, collected_at {ts} NOT NULL, last_activity_at {ts} NOT NULL, created_at {ts} NOT NULL)""")
COLUMNS = {
    "bench_plain_person": "id, subject_types, employer_id, created_at",
    "bench_plain_identifier": "id, person_id, kind, scope, value, created_at",
    "bench_plain_record": "id, person_id, category, purposes, legal_basis, source, controller, controller_employer_id, "
                          "content, collected_at, last_activity_at, created_at",
}


def plain_write(raw, pg: bool, table: str, rows: list[tuple]) -> None:
    """The fastest plain way to store rows, on the driver, committed: COPY on PostgreSQL; on SQLite (which has no
    COPY) one executemany of a prepared INSERT in one transaction."""
    columns = COLUMNS[table]
    if pg:
        with raw.cursor() as cursor, cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        raw.commit()
        return
    raw.execute("BEGIN")
    raw.executemany(f"INSERT INTO {table} ({columns}) VALUES ({', '.join('?' * len(columns.split(',')))})", rows)
    raw.execute("COMMIT")


def plain_people(raw, pg: bool, generated: list, now) -> list:
    """People and their identifiers as plaintext rows, from the same PersonIn objects Kluis is given."""
    ids = [uuid.uuid4() for _ in generated]
    key = (lambda u: u) if pg else (lambda u: u.hex)
    people = [(key(pid), json.dumps(p.subject_types), key(p.employer_id) if p.employer_id else None, now)
              for pid, (p, _) in zip(ids, generated, strict=True)]
    identifiers = [(key(uuid.uuid4()), key(pid), i.kind, i.scope or "", i.value, now)
                   for pid, (p, _) in zip(ids, generated, strict=True) for i in p.identifiers]
    plain_write(raw, pg, "bench_plain_person", people)
    plain_write(raw, pg, "bench_plain_identifier", identifiers)
    return ids


def plain_records(raw, pg: bool, part: list[tuple], now) -> None:
    """The same records as plaintext rows (content as JSON), from the same generated dicts Kluis's input is built
    from: no checks, no encryption."""
    key = (lambda u: u) if pg else (lambda u: u.hex)
    rows = [(key(uuid.uuid4()), key(person_id), r["category"], json.dumps(r["purposes"]), r["legal_basis"],
             r["source"], r["controller"], None, json.dumps(r["content"]), r["collected_at"], r["last_activity_at"],
             now) for person_id, r in part]
    plain_write(raw, pg, "bench_plain_record", rows)


def run(backend: str, people: int, batch: int, database_url: str) -> dict[str, float]:
    """Both sides start from the same generated people (PersonIn) and record dicts, and each side's time covers
    building its own input from them, writing and committing."""
    with fresh_kluis(backend, database_url) as kluis:
        pg = kluis.db.dialect == "postgresql"
        with kluis.db.engine.begin() as conn:
            for table in PLAIN_TABLES:
                conn.execute(text(table.format(uuid="UUID" if pg else "CHAR(32)", json="JSONB" if pg else "TEXT",
                                               ts="TIMESTAMPTZ" if pg else "DATETIME")))
        population = DemoPopulation(7, kluis.clock.now())
        with kluis.db.transaction() as session:
            employers = [
                add_employer(session, kluis.clock, "bench", f"Werkgever {i}").id for i in range(max(3, people // 250))
            ]
        pooled = kluis.db.engine.raw_connection()
        raw = pooled.driver_connection
        heap.settle()  # as a server or worker process does once it is built
        t_people = t_plain_people = t_kluis = t_plain = 0.0
        records = 0
        with progress(f"ingest on {backend}", people) as step:
            for start in range(0, people, batch):
                n = min(batch, people - start)
                generated = [
                    population.person(population.subject_type(), population.rng.choice(employers)) for _ in range(n)
                ]
                t0 = time.perf_counter()
                with kluis.db.transaction() as session:
                    created = kluis.vault(session, "bench").create_people([p for p, _ in generated])
                t_people += time.perf_counter() - t0
                t0 = time.perf_counter()
                plain_ids = plain_people(raw, pg, generated, kluis.clock.now())
                t_plain_people += time.perf_counter() - t0
                ours = [(person.id, rec) for person, (_, recs) in zip(created, generated, strict=True) for rec in recs]
                theirs = [(pid, rec) for pid, (_, recs) in zip(plain_ids, generated, strict=True) for rec in recs]
                for chunk in range(0, len(ours), 10_000):
                    t0 = time.perf_counter()
                    items = [BatchRecordIn(person_id=person_id, **rec) for person_id, rec in ours[chunk:chunk + 10_000]]
                    with kluis.db.transaction() as session:
                        kluis.vault(session, "bench").add_records(None, items)
                    t_kluis += time.perf_counter() - t0
                    t0 = time.perf_counter()
                    plain_records(raw, pg, theirs[chunk:chunk + 10_000], kluis.clock.now())
                    t_plain += time.perf_counter() - t0
                    records += len(items)
                step(n)
        pooled.close()
        return {
            "people": people,
            "records": records,
            "people_per_s": people / t_people,
            "plain_people_per_s": people / t_plain_people,
            "kluis_per_s": records / t_kluis,
            "plain_per_s": records / t_plain,
            "ratio": t_plain / t_kluis,
            "peak_rss_mb": peak_rss_mb(),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--people", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=1000, help="people per transaction")
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    add_database_url(parser)
    args = parser.parse_args()
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    for backend in backends:
        r = run(backend, args.people, args.batch, args.database_url)
        plain = "COPY" if backend == "postgresql" else "executemany INSERT"
        print(
            f"[{backend}] data: {r['people']:,} people, {r['records']:,} records "
            f"(batches of {args.batch} people, at most 10,000 records per call); {load_average()}"
        )
        print(f"[{backend}] encrypted ingest (kluis): {r['kluis_per_s']:,.0f} records/s")
        print(f"[{backend}] plain {plain} (baseline): {r['plain_per_s']:,.0f} records/s")
        print(f"[{backend}] ratio kluis/plain:        {r['ratio']:.2f} (target >= 0.5 on PostgreSQL)")
        print(f"[{backend}] people created (kluis):   {r['people_per_s']:,.0f} people/s; plain {plain} of the same "
              f"people and identifiers: {r['plain_people_per_s']:,.0f} people/s; ratio "
              f"{r['people_per_s'] / r['plain_people_per_s']:.2f}")
        print(f"[{backend}] peak memory (RSS):        {r['peak_rss_mb']:,.0f} MB")


if __name__ == "__main__":
    main()
