"""Rights benchmarks on PostgreSQL (issue: data-subject rights, §7): erasure of one person among
--people people with --records records each, from queued to certified, beside raw SQL DELETEs of the
same kind of rows for other people of the same size in the same run.

    python bench/rights.py --people 1000000 --records 10 --samples 200

The measured people are written through the vault (real keys, ciphertext, identifiers); the rest of
the population is bulk filler written with set-based SQL (see common.pg_filler).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import fresh_kluis, peak_rss_mb, pg_filler  # noqa: E402

from kluis.erasure import service as erasure  # noqa: E402
from kluis.erasure.rules import JobState, Reason  # noqa: E402
from kluis.kit.cli import progress  # noqa: E402
from kluis.vault.schemas import IdentifierIn, PersonIn, RecordIn  # noqa: E402

CATEGORIES = [("basic", ["accounts"], "contract"), ("interests", ["lead_management"], "legitimate_interest"),
              ("content", ["community"], "legitimate_interest"), ("account", ["accounts"], "contract")]


def sample_people(kluis, count: int, records: int, tag: str) -> list:
    ids = []
    with kluis.db.transaction() as session:
        vault = kluis.vault(session, "bench")
        people = vault.create_people([PersonIn(subject_types=["lead"], identifiers=[
            IdentifierIn(kind="email", value=f"{tag}{i}@bench.example.nl")]) for i in range(count)])
        for person in people:
            items = []
            for j in range(records):
                category, purposes, basis = CATEGORIES[j % len(CATEGORIES)]
                items.append(RecordIn(category=category, purposes=purposes, legal_basis=basis, source="direct",
                                      content={"n": j, "text": f"waarde {j} van {tag}"}))
            vault.add_records(person.id, items)
            ids.append(person.id)
    return ids


def kluis_erasure(kluis, ids: list) -> list[float]:
    times = []
    runner = erasure.Runner(kluis, "bench")
    for person_id in ids:
        started = time.perf_counter()
        with kluis.db.transaction() as session:
            job_id = erasure.queue(session, kluis, person_id, Reason.STAFF, "bench").id
        job = runner.run(job_id)
        times.append((time.perf_counter() - started) * 1000)
        assert job.state == JobState.DONE, job.last_error
    return times


def raw_erasure(kluis, ids: list) -> list[float]:
    """The same rows gone by hand: the person's records, identifiers and key, one transaction."""
    times = []
    for person_id in ids:
        started = time.perf_counter()
        with kluis.db.engine.begin() as conn:
            conn.execute(text("DELETE FROM record WHERE person_id = :p"), {"p": person_id})
            conn.execute(text("DELETE FROM identifier WHERE person_id = :p"), {"p": person_id})
            conn.execute(text("UPDATE person SET shredded_at = now() WHERE id = :p"), {"p": person_id})
        with kluis.db.key_engine.begin() as conn:
            conn.execute(text("DELETE FROM person_key WHERE person_id = :p"), {"p": person_id})
        times.append((time.perf_counter() - started) * 1000)
    return times


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] if len(values) > 1 else values[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--records", type=int, default=10, help="records per person")
    parser.add_argument("--samples", type=int, default=200, help="people erased by each method")
    args = parser.parse_args()
    with fresh_kluis("postgresql") as kluis:
        filler = max(args.people - 2 * args.samples, 0)
        with progress("filler people", filler) as step:
            pg_filler(kluis, filler, args.records, on_batch=step)
        a = sample_people(kluis, args.samples, args.records, "a")
        b = sample_people(kluis, args.samples, args.records, "b")
        with kluis.db.engine.begin() as conn:
            conn.execute(text("ANALYZE"))
        ours, raw = kluis_erasure(kluis, a), raw_erasure(kluis, b)
        print(f"PostgreSQL, {args.people:,} people x {args.records} records "
              f"({args.people * args.records:,} records); {args.samples} people erased by each method")
        for name, values in (("erasure, queued -> certified (Kluis)", ours), ("raw DELETEs, same rows", raw)):
            print(f"  {name:38} p50 {statistics.median(values):7.2f} ms  p95 {pct(values, 95):7.2f} ms")
        print(f"  ratio p50 Kluis / raw: {statistics.median(ours) / statistics.median(raw):.2f}   "
              f"peak RSS {peak_rss_mb():.0f} MB")


if __name__ == "__main__":
    main()
