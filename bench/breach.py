"""Affected-people selection of the breach register (R-GOV-3) against the same selection as one raw statement.

    python bench/breach.py --people 1000000

Seeds, with set-based SQL on PostgreSQL, people of 20 employers (four in five employees, the rest leads), each
with three records (basic, web traffic and, for employees, financial) collected over the past two years. The
breach concerns financial data of employees of 5 employers, held during a period ending 30 days ago: about a
fifth of everyone. Then times, each with the process's peak RSS after it:
  count:  Breaches.count_affected (one aggregate);
  stream: Breaches.stream_affected, every id through one statement read 1,000 at a time (a server-side cursor);
  page:   one keyset page of 1,000 ids (GET /api/v1/breaches/{id}/affected), from the middle of the selection;
  freeze: the DPO's decision, which writes the snapshot with INSERT ... SELECT;
  raw:    the same selection as one hand-written SELECT on the driver: counted, read through a server-side
          cursor 1,000 at a time (what keeps memory flat, as the stream does), one keyset page of 1,000 ids from the
          same middle, and inserted into the snapshot table of a second breach.
Each Kluis step is followed by its baseline and the ratio (Kluis time / baseline time).
"""

from __future__ import annotations

import argparse
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path

from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import add_database_url, fresh_kluis, load_average, peak_rss_mb  # noqa: E402

from kluis.breaches.service import Breaches, IncidentIn  # noqa: E402
from kluis.kit.cli import progress  # noqa: E402
from kluis.wiring import Kluis  # noqa: E402

CHUNK = 100_000
EMPLOYERS = 20
HIT_EMPLOYERS = 5

RAW_PG = """
SELECT p.id FROM person p
WHERE p.erased_at IS NULL AND p.employer_id = ANY(CAST(%(employers)s AS uuid[]))
  AND CAST(p.subject_types AS text) LIKE '%%"employee"%%'
  AND EXISTS (SELECT 1 FROM record r WHERE r.person_id = p.id AND r.category = 'financial'
              AND r.collected_at <= %(until)s)
"""
RAW = """
SELECT p.id FROM person p
WHERE p.erased_at IS NULL AND p.employer_id = ANY(CAST(:employers AS uuid[]))
  AND CAST(p.subject_types AS text) LIKE '%"employee"%'
  AND EXISTS (SELECT 1 FROM record r WHERE r.person_id = p.id AND r.category = 'financial'
              AND r.collected_at <= :until)
"""


def seed(kluis: Kluis, people: int) -> list[str]:
    now = kluis.clock.now()
    with kluis.db.engine.begin() as conn:
        employers = [str(row[0]) for row in conn.execute(text(
            "INSERT INTO employer (id, name, created_at) SELECT gen_random_uuid(), 'Werkgever ' || i, :now "
            "FROM generate_series(1, :n) AS i RETURNING id"), {"now": now, "n": EMPLOYERS})]
    with progress("seeding people", people) as step:
        for start in range(0, people, CHUNK):
            n = min(CHUNK, people - start)
            with kluis.db.engine.begin() as conn:
                conn.execute(text("CREATE TEMP TABLE bp ON COMMIT DROP AS SELECT i, gen_random_uuid() AS id, "
                                  "(CAST(:employers AS uuid[]))[1 + i % :e] AS employer_id "
                                  "FROM generate_series(CAST(:a AS int), CAST(:b AS int)) AS i"),
                             {"a": start, "b": start + n - 1, "employers": employers, "e": EMPLOYERS})
                conn.execute(text(
                    "INSERT INTO person (id, subject_types, employer_id, created_at, updated_at) "
                    "SELECT id, CASE WHEN i % 5 = 0 THEN '[\"lead\"]' ELSE '[\"employee\"]' END::json, employer_id, "
                    ":now, :now FROM bp"), {"now": now})
                conn.execute(text("""
                    INSERT INTO record (id, person_id, category, purposes, legal_basis, source, controller,
                        content_kind, ciphertext, collected_at, last_activity_at, created_at, updated_at)
                    SELECT gen_random_uuid(), bp.id, c.category, c.purposes::json, 'contract', 'employer', 'benvitaal',
                        'json', decode(md5(bp.i::text || c.category), 'hex'),
                        :now - make_interval(days => (bp.i * 7 + length(c.category)) % 730),
                        :now - make_interval(days => (bp.i * 7) % 30), :now, :now
                    FROM bp CROSS JOIN (VALUES ('basic', '["service_delivery"]'), ('web_traffic', '["security"]'),
                                               ('financial', '["expense_claims"]')) AS c(category, purposes)
                    WHERE c.category <> 'financial' OR bp.i % 5 <> 0
                    """), {"now": now})
            step(n)
    with kluis.db.engine.begin() as conn:
        conn.execute(text("ANALYZE person"))
        conn.execute(text("ANALYZE record"))
    return employers


def timed(label: str, run, against: float | None = None) -> float:  # type: ignore[no-untyped-def]
    """Runs one step and prints its time, result and the process's peak RSS; with ``against`` (the Kluis step's
    time) also the ratio Kluis / this baseline. Returns the time."""
    started = time.perf_counter()
    result = run()
    seconds = time.perf_counter() - started
    ratio = f"   ratio kluis/raw {against / seconds:.2f}" if against is not None else ""
    print(f"{label:<8} {seconds:8.2f} s   result {result:>9,}   peak RSS {peak_rss_mb():7.1f} MB{ratio}", flush=True)
    return seconds


def raw_stream(kluis: Kluis, params: dict) -> int:
    """The selection through a server-side cursor of the driver, 1,000 rows a fetch: no SQLAlchemy in between."""
    connection = kluis.db.engine.raw_connection()
    try:
        with connection.driver_connection.cursor(name="raw_breach") as cursor:
            cursor.itersize = 1000
            cursor.execute(RAW_PG, params)
            seen = 0
            while rows := cursor.fetchmany(1000):
                seen += len(rows)
        connection.rollback()
        return seen
    finally:
        connection.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--people", type=int, default=100_000)
    add_database_url(parser)
    args = parser.parse_args()
    with fresh_kluis("postgresql", args.database_url) as kluis:
        employers = seed(kluis, args.people)
        now = kluis.clock.now()
        until = now - timedelta(days=30)
        with kluis.db.transaction() as session:
            breach = Breaches(session, kluis, "bench").report(IncidentIn(
                aware_at=now - timedelta(hours=1), happened_from=until - timedelta(days=2), happened_until=until,
                nature=["confidentiality"], categories=["financial"], subject_types=["employee"],
                summary="bench", employer_ids=[uuid.UUID(e) for e in employers[:HIT_EMPLOYERS]]))
            twin = Breaches(session, kluis, "bench").report(IncidentIn(
                aware_at=now - timedelta(hours=1), happened_from=until - timedelta(days=2), happened_until=until,
                nature=["confidentiality"], categories=["financial"], subject_types=["employee"], summary="raw"))
        print(f"{args.people:,} people on PostgreSQL; peak RSS after seeding {peak_rss_mb():.1f} MB; {load_average()}",
              flush=True)
        params = {"employers": employers[:HIT_EMPLOYERS], "until": until}
        with kluis.db.transaction() as session:
            breaches = Breaches(session, kluis, "bench")
            found = breaches.get(breach.id)
            ours = timed("count", lambda: breaches.count_affected(found))
            with kluis.db.engine.connect() as conn:
                timed("raw cnt", lambda: conn.execute(text(f"SELECT count(*) FROM ({RAW}) s"), params).scalar_one(),
                      ours)
            ours = timed("stream", lambda: sum(1 for _ in breaches.stream_affected(found)))
            timed("raw", lambda: raw_stream(kluis, params), ours)
            middle = uuid.UUID(int=1 << 127)
            ours = timed("page", lambda: len(breaches.affected_page(found, middle, 1000)))
            with kluis.db.engine.connect() as conn:
                timed("raw page", lambda: len(conn.execute(text(f"{RAW} AND p.id > :after ORDER BY p.id LIMIT 1000"),
                                                           params | {"after": middle}).all()), ours)
        with kluis.db.transaction() as session:
            breaches = Breaches(session, kluis, "bench")
            ours = timed("freeze", lambda: breaches.decide(breach.id, "risk", "bench").affected)
        with kluis.db.engine.begin() as conn:
            timed("raw ins", lambda: conn.execute(text(
                f"INSERT INTO breach_person (breach_id, person_id) SELECT CAST(:breach AS uuid), s.id FROM ({RAW}) s"),
                params | {"breach": str(twin.id)}).rowcount, ours)


if __name__ == "__main__":
    main()
