"""Encrypted ingest through the vault against a plain INSERT of the same rows, in the same run.

    python bench/ingest.py --people 100000 --backend postgresql

For each batch of generated people (demo data, about 9 records each) it times
  kluis: Vault.add_records (policy checks, content guard, per-person AES-256-GCM, insert, audit event, commit)
  plain: INSERT of the same rows with the content as plaintext JSON, no checks, no encryption (commit)
and prints sizes, rates, the ratio and the peak memory of the process.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import fresh_kluis, peak_rss_mb  # noqa: E402

from kluis.demo.seed import DemoPopulation  # noqa: E402
from kluis.kit.cli import progress  # noqa: E402
from kluis.kit.ids import new_id  # noqa: E402
from kluis.vault.schemas import BatchRecordIn  # noqa: E402
from kluis.vault.service import add_employer  # noqa: E402

PLAIN_TABLE = """CREATE TABLE bench_plain_record (
    id {uuid} PRIMARY KEY, person_id {uuid} NOT NULL, category VARCHAR(40) NOT NULL, purposes {json} NOT NULL,
    legal_basis VARCHAR(24) NOT NULL, source VARCHAR(24) NOT NULL, controller VARCHAR(12) NOT NULL,
    controller_employer_id {uuid}, content {json} NOT NULL, collected_at {ts} NOT NULL,
    last_activity_at {ts} NOT NULL, created_at {ts} NOT NULL)"""
PLAIN_INSERT = text("""INSERT INTO bench_plain_record (id, person_id, category, purposes, legal_basis, source,
    controller, controller_employer_id, content, collected_at, last_activity_at, created_at) VALUES (:id, :person_id,
    :category, :purposes, :legal_basis, :source, :controller, :controller_employer_id, :content, :collected_at,
    :last_activity_at, :created_at)""")


def run(backend: str, people: int, batch: int) -> dict[str, float]:
    with fresh_kluis(backend) as kluis:
        pg = kluis.db.dialect == "postgresql"
        with kluis.db.engine.begin() as conn:
            conn.execute(
                text(
                    PLAIN_TABLE.format(
                        uuid="UUID" if pg else "CHAR(32)",
                        json="JSONB" if pg else "TEXT",
                        ts="TIMESTAMPTZ" if pg else "DATETIME",
                    )
                )
            )
        population = DemoPopulation(7, kluis.clock.now())
        with kluis.db.transaction() as session:
            employers = [
                add_employer(session, kluis.clock, "bench", f"Werkgever {i}").id for i in range(max(3, people // 250))
            ]
        t_people = t_kluis = t_plain = 0.0
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
                items = [
                    BatchRecordIn(person_id=person.id, **rec)
                    for person, (_, recs) in zip(created, generated, strict=True)
                    for rec in recs
                ]
                for chunk in range(0, len(items), 10_000):
                    part = items[chunk : chunk + 10_000]
                    t0 = time.perf_counter()
                    with kluis.db.transaction() as session:
                        kluis.vault(session, "bench").add_records(None, part)
                    t_kluis += time.perf_counter() - t0
                    t0 = time.perf_counter()
                    now = kluis.clock.now()
                    rows = [
                        {
                            "id": new_id() if pg else new_id().hex,
                            "person_id": i.person_id if pg else i.person_id.hex,
                            "category": i.category,
                            "purposes": json.dumps(i.purposes),
                            "legal_basis": i.legal_basis,
                            "source": i.source,
                            "controller": i.controller,
                            "controller_employer_id": None,
                            "content": json.dumps(i.content),
                            "collected_at": i.collected_at,
                            "last_activity_at": i.last_activity_at,
                            "created_at": now,
                        }
                        for i in part
                    ]
                    with kluis.db.engine.begin() as conn:
                        conn.execute(PLAIN_INSERT, rows)
                    t_plain += time.perf_counter() - t0
                    records += len(part)
                step(n)
        return {
            "people": people,
            "records": records,
            "people_per_s": people / t_people,
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
    args = parser.parse_args()
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    for backend in backends:
        r = run(backend, args.people, args.batch)
        print(
            f"[{backend}] data: {r['people']:,} people, {r['records']:,} records "
            f"(batches of {args.batch} people, at most 10,000 records per call)"
        )
        print(f"[{backend}] encrypted ingest (kluis): {r['kluis_per_s']:,.0f} records/s")
        print(f"[{backend}] plain INSERT (baseline):  {r['plain_per_s']:,.0f} records/s")
        print(f"[{backend}] ratio kluis/plain:        {r['ratio']:.2f}")
        print(f"[{backend}] people created:           {r['people_per_s']:,.0f} people/s")
        print(f"[{backend}] peak memory (RSS):        {r['peak_rss_mb']:,.0f} MB")


if __name__ == "__main__":
    main()
