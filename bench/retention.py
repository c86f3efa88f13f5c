"""The retention sweep against a raw DELETE of the same due rows, in the same run.

    python bench/retention.py --people 100000 --backend postgresql

Seeds people (each with a key in the key store) and 10 records per person directly with SQL (plain
columns, random bytes as ciphertext): web traffic, marketing contacts, accounts and claims. About a
tenth of the records are due: one record of most people, and every record of one person in fifty (so
those people are erased entirely). Then, in each round, on the same rows (put back after each):
  raw:   DELETE FROM record WHERE due_at <= now (one statement, committed): the target's measure;
  raw, same work: that DELETE, then the people left with nothing erased in plain SQL (marked erased, their
         identifiers and keys deleted), each its one statement: the fastest plain way to the sweep's end state
         without its guarantees (no batches, locks given up on, holds re-checked, audit or erasure log);
  kluis: the sweep (batches walked by key, giving up on locked rows on PostgreSQL, people left with nothing
         shredded, an audit event per batch and the run's summary);
  and, on PostgreSQL, for reference: the bare batched DELETE the sweep is built on (the same batches
  by key, one commit each, nothing else).
Before the timed rounds the rows are deleted and put back once, so that every timed round of each
runs on the same physical layout.
Prints the data's size (people, records, due records, the record table's size on disk), the best rate of each,
the ratios and the process's memory before and after the sweeps.
"""

from __future__ import annotations

import argparse
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path

from sqlalchemy import bindparam, text

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import add_database_url, fresh_kluis, load_average, peak_rss_mb  # noqa: E402

from kluis.kit.cli import progress  # noqa: E402
from kluis.retention import keep, sweep  # noqa: E402
from kluis.wiring import Kluis  # noqa: E402

RECORDS_PER_PERSON = 10
# Per record number j: category, purposes, legal basis, source, retention rule.
KINDS = [("web_traffic", '["security"]', "legitimate_interest", "cookies", "web_traffic")] * 3 + [
    ("basic", '["marketing_email"]', "consent", "direct", "marketing_contacts")] * 3 + [
    ("account", '["accounts"]', "contract", "direct", "accounts")] * 2 + [
    ("financial", '["expense_claims"]', "contract", "employer", "expense_claims")] * 2
CHUNK = 50_000  # people per seeding statement


def _due(i: int, j: int) -> bool:
    return i % 50 == 0 or (j == 0 and i % 5 != 0)


def seed_postgresql(kluis: Kluis, people: int) -> None:
    now = kluis.clock.now()
    kinds = list(zip(*KINDS, strict=True))
    arrays = ", ".join(f"ARRAY{list(column)}::text[] AS k{n}" for n, column in enumerate(kinds))
    with progress("seeding people", people) as step:
        for start in range(0, people, CHUNK):
            n = min(CHUNK, people - start)
            with kluis.db.engine.begin() as conn:
                conn.execute(text("CREATE TEMP TABLE bp ON COMMIT DROP AS SELECT i, gen_random_uuid() AS id "
                                  "FROM generate_series(CAST(:a AS int), CAST(:b AS int)) AS i"),
                             {"a": start, "b": start + n - 1})
                conn.execute(text("INSERT INTO person (id, subject_types, employer_id, created_at, updated_at) "
                                  "SELECT id, '[\"employee\"]', NULL, :now, :now FROM bp"), {"now": now})
                conn.execute(text("INSERT INTO person_key (person_id, wrapped, kek_id, created_at) "
                                  "SELECT id, decode(md5(id::text) || md5(i::text), 'hex'), 'bench', :now FROM bp"),
                             {"now": now})
                conn.execute(text(f"""
                    INSERT INTO record (id, person_id, category, purposes, legal_basis, source, controller,
                        content_kind, ciphertext, collected_at, last_activity_at, created_at, updated_at, rule_id,
                        due_at)
                    SELECT gen_random_uuid(), bp.id, k.k0[j + 1], k.k1[j + 1]::json, k.k2[j + 1], k.k3[j + 1],
                        'benvitaal', 'json', decode(repeat(md5(bp.i::text || '/' || j::text), 6), 'hex'),
                        :now - interval '400 days', :now - interval '400 days', :now, :now, k.k4[j + 1],
                        CASE WHEN bp.i % 50 = 0 OR (j = 0 AND bp.i % 5 <> 0)
                             THEN :now - make_interval(days => 1 + (bp.i + j) % 365)
                             WHEN j >= 6 AND bp.i % 2 = 0 THEN NULL
                             ELSE :now + make_interval(days => 1 + (bp.i + j) % 2000) END
                    FROM bp CROSS JOIN generate_series(0, {RECORDS_PER_PERSON - 1}) AS j CROSS JOIN (SELECT {arrays}) k
                    """), {"now": now})
                _keep_until(conn, "person.id IN (SELECT id FROM bp)")
            step(n)
    with kluis.db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))


def seed_sqlite(kluis: Kluis, people: int) -> None:
    now = kluis.clock.now().replace(tzinfo=None)
    with progress("seeding people", people) as step:
        for start in range(0, people, CHUNK // 5):
            ids = [(i, uuid.uuid4()) for i in range(start, min(people, start + CHUNK // 5))]
            persons = [{"id": pid.hex, "now": now} for _, pid in ids]
            records = []
            for i, pid in ids:
                for j, (category, purposes, basis, source, rule) in enumerate(KINDS):
                    due = (now - timedelta(days=1 + (i + j) % 365) if _due(i, j)
                           else None if j >= 6 and i % 2 == 0 else now + timedelta(days=1 + (i + j) % 2000))
                    records.append({"id": uuid.uuid4().hex, "p": pid.hex, "c": category, "u": purposes, "b": basis,
                                    "s": source, "x": uuid.uuid4().bytes * 6, "t": now - timedelta(days=400),
                                    "now": now, "r": rule, "d": due})
            with kluis.db.engine.begin() as conn:
                conn.execute(text("INSERT INTO person (id, subject_types, created_at, updated_at) "
                                  "VALUES (:id, '[\"employee\"]', :now, :now)"), persons)
                conn.execute(text("INSERT INTO record (id, person_id, category, purposes, legal_basis, source, "
                                  "controller, content_kind, ciphertext, collected_at, last_activity_at, created_at, "
                                  "updated_at, rule_id, due_at) VALUES (:id, :p, :c, :u, :b, :s, 'benvitaal', 'json', "
                                  ":x, :t, :t, :now, :now, :r, :d)"), records)
                _keep_until(conn, "person.id IN (SELECT person_id FROM record)")
            with kluis.db.key_engine.begin() as conn:
                conn.execute(text("INSERT INTO person_key (person_id, wrapped, kek_id, created_at) "
                                  "VALUES (:id, :w, 'bench', :now)"),
                             [{"id": pid.hex, "w": pid.bytes * 2, "now": now} for _, pid in ids])
            step(len(ids))


def _keep_until(conn, which: str) -> None:
    """Each person's ``keep_until`` as Kluis keeps it (kluis.retention.keep): the latest due date of their
    records, or the far-future mark while any has none."""
    conn.execute(text(f"UPDATE person SET keep_until = (SELECT CASE WHEN count(*) > count(due_at) THEN :open "
                      f"ELSE max(due_at) END FROM record WHERE record.person_id = person.id) WHERE {which}"),
                 {"open": keep.OPEN if conn.dialect.name != "sqlite" else keep.OPEN.replace(tzinfo=None)})


def _restore(kluis: Kluis, pg: bool) -> None:
    """Put the due rows back, and undo the erasure of people left with nothing, for the next round."""
    with kluis.db.engine.begin() as conn:
        conn.execute(text("INSERT INTO record SELECT * FROM bench_due"))
        _keep_until(conn, "shredded_at IS NOT NULL")
        conn.execute(text("UPDATE person SET shredded_at = NULL WHERE shredded_at IS NOT NULL"))
    with kluis.db.key_engine.begin() as conn:
        conn.execute(text("INSERT INTO person_key SELECT * FROM bench_key k WHERE NOT EXISTS "
                          "(SELECT 1 FROM person_key p WHERE p.person_id = k.person_id)"))
    if pg:
        with kluis.db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE record"))
            conn.execute(text("VACUUM ANALYZE person_key"))


def _raw_same_work(kluis: Kluis, at: object, pg: bool) -> tuple[float, int, int]:
    """Seconds for the sweep's end state in plain SQL, with how many records and people went: the due records
    deleted, then the people with no record left whose every record was due marked erased, their identifiers
    deleted and (in the key store) their keys."""
    t0 = time.perf_counter()
    with kluis.db.engine.begin() as conn:
        deleted = conn.execute(text("DELETE FROM record WHERE due_at <= :now"), {"now": at}).rowcount
        ids = list(conn.execute(text(
            "UPDATE person SET shredded_at = :now, updated_at = :now, keep_until = NULL WHERE keep_until <= :now "
            "AND shredded_at IS NULL AND NOT EXISTS (SELECT 1 FROM record WHERE record.person_id = person.id) "
            "RETURNING id"), {"now": at}).scalars())
        conn.execute(_among("DELETE FROM identifier WHERE person_id", pg), {"ids": ids})
    with kluis.db.key_engine.begin() as conn:
        conn.execute(_among("DELETE FROM person_key WHERE person_id", pg), {"ids": ids})
    return time.perf_counter() - t0, deleted, len(ids)


def _among(statement: str, pg: bool):  # type: ignore[no-untyped-def]
    """``statement`` followed by "among :ids": one array on PostgreSQL, an expanded IN list on SQLite."""
    if pg:
        return text(f"{statement} = ANY(:ids)")
    return text(f"{statement} IN :ids").bindparams(bindparam("ids", expanding=True))


def _raw_batches(kluis: Kluis, at: object, batch: int, due: int) -> float:
    """Seconds for the bare batched DELETE the sweep is built on (PostgreSQL): the key of the ``batch``-th due
    row in (due_at, person_id, id) order after the last one taken, then the walk's stretch up to it deleted,
    giving up on locked rows (lock_timeout), one commit each; no counts per rule, no holds, no people, no audit."""
    t0, deleted, last = time.perf_counter(), 0, None
    while True:
        after = "" if last is None else "AND due_at >= :d AND (due_at, person_id, id) > (:d, :p, :i)"
        params = {"now": at, "n": batch - 1, **(dict(zip("dpi", last, strict=True)) if last else {})}
        with kluis.db.engine.begin() as conn:
            bound = conn.execute(text(f"SELECT due_at, person_id, id FROM record WHERE due_at <= :now {after} "
                                      f"ORDER BY due_at, person_id, id OFFSET :n LIMIT 1"), params).first()
            upto = "" if bound is None else "AND due_at <= :bd AND (due_at, person_id, id) <= (:bd, :bp, :bi)"
            conn.execute(text("SET LOCAL lock_timeout = '1ms'"))
            deleted += conn.execute(text(f"DELETE FROM record WHERE due_at <= :now {after} {upto}"),
                                    {**params, **(dict(zip(("bd", "bp", "bi"), bound, strict=True)) if bound
                                                  else {})}).rowcount
        if bound is None:
            break
        last = tuple(bound)
    assert deleted == due
    return time.perf_counter() - t0


def run(backend: str, people: int, batch: int, rounds: int, database_url: str) -> dict[str, float]:
    """Each round times the raw DELETE and the sweep on the same rows (restored in between); the best
    round of each counts, since other work on a shared machine only ever slows a round down."""
    with fresh_kluis(backend, database_url) as kluis:
        pg = kluis.db.dialect == "postgresql"
        (seed_postgresql if pg else seed_sqlite)(kluis, people)
        now = kluis.clock.now()
        at = now if pg else now.replace(tzinfo=None)
        with kluis.db.engine.begin() as conn:
            records = conn.execute(text("SELECT count(*) FROM record")).scalar_one()
            conn.execute(text("CREATE TABLE bench_due AS SELECT * FROM record WHERE due_at <= :now"), {"now": at})
            due = conn.execute(text("SELECT count(*) FROM bench_due")).scalar_one()
        with kluis.db.key_engine.begin() as conn:
            conn.execute(text("CREATE TABLE bench_key AS SELECT * FROM person_key"))
        with kluis.db.sessions() as session:
            planned = sweep.plan(session, now)
        # Once untimed: after it, every timed round of both runs on the same physical layout (the
        # restored rows), not the first raw DELETE alone on the freshly seeded one.
        with kluis.db.engine.begin() as conn:
            conn.execute(text("DELETE FROM record WHERE due_at <= :now"), {"now": at})
        _restore(kluis, pg)
        t_raw = t_sweep = t_batched = t_same = float("inf")
        rss_before = peak_rss_mb()
        erased = 0
        for _ in range(rounds):
            t0 = time.perf_counter()
            with kluis.db.engine.begin() as conn:
                deleted = conn.execute(text("DELETE FROM record WHERE due_at <= :now"), {"now": at}).rowcount
            t_raw = min(t_raw, time.perf_counter() - t0)
            assert deleted == due
            _restore(kluis, pg)
            t_once, deleted, people_gone = _raw_same_work(kluis, at, pg)
            t_same = min(t_same, t_once)
            assert deleted == due and people_gone == planned.people
            _restore(kluis, pg)
            if pg:
                t_batched = min(t_batched, _raw_batches(kluis, at, batch, due))
                _restore(kluis, pg)
            t0 = time.perf_counter()
            with progress(f"sweep on {backend}", due) as step:
                report = sweep.sweep(kluis, actor="bench", batch=batch, on_batch=step, now=now)
            t_sweep = min(t_sweep, time.perf_counter() - t0)
            assert report.records == due and report.rules_dict() == planned.rules_dict(), "the sweep missed rows"
            assert report.people == planned.people
            erased = report.people
            _restore(kluis, pg)
        with kluis.db.engine.connect() as conn:
            size = (conn.execute(text("SELECT pg_total_relation_size('record'), pg_relation_size('record')")).one()
                    if pg else None)
        return {"people": people, "records": records, "due": due, "people_erased": erased, "size": size,
                "same_per_s": due / t_same, "same_ratio": t_same / t_sweep, "t_same": t_same,
                "kluis_per_s": due / t_sweep, "raw_per_s": due / t_raw,
                "batched_per_s": due / t_batched if pg else None, "ratio": t_raw / t_sweep,
                "t_sweep": t_sweep, "t_raw": t_raw, "rss_before": rss_before, "rss_peak": peak_rss_mb()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--people", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=sweep.BATCH, help="records per sweep transaction")
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds of each; the best counts")
    add_database_url(parser)
    args = parser.parse_args()
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    for backend in backends:
        r = run(backend, args.people, args.batch, args.rounds, args.database_url)
        print(f"[{backend}] data: {r['people']:,} people, {r['records']:,} records; due: {r['due']:,} records "
              f"({r['people_erased']:,} people left with nothing, erased entirely); batches of {args.batch:,}; "
              f"best of {args.rounds} rounds; {load_average()}")
        if r["size"]:
            print(f"[{backend}] record table: {r['size'][1] / 2**20:,.0f} MB, {r['size'][0] / 2**20:,.0f} MB with its "
                  f"indexes")
        print(f"[{backend}] sweep (kluis):          {r['kluis_per_s']:,.0f} records/s ({r['t_sweep']:.2f} s)")
        print(f"[{backend}] raw DELETE (baseline):  {r['raw_per_s']:,.0f} records/s ({r['t_raw']:.2f} s)")
        print(f"[{backend}] raw, same work:         {r['same_per_s']:,.0f} records/s ({r['t_same']:.2f} s; the "
              f"DELETE, then the people left with nothing erased in plain SQL)")
        if r["batched_per_s"]:
            print(f"[{backend}] bare batched DELETE:    {r['batched_per_s']:,.0f} records/s (batches of "
                  f"{args.batch:,} by key, nothing else; for reference)")
        print(f"[{backend}] ratio kluis/raw:        {r['ratio']:.2f} (the target's measure)")
        print(f"[{backend}] ratio kluis/same work:  {r['same_ratio']:.2f}")
        print(f"[{backend}] memory (RSS):           {r['rss_before']:,.0f} MB before the sweep, "
              f"{r['rss_peak']:,.0f} MB peak")


if __name__ == "__main__":
    main()
