"""Selecting the people a material policy change affects (R-GOV-4), against one plain SELECT streaming the same rows.

    python bench/policy.py --people 1000000

Seeds, with set-based SQL on PostgreSQL, people with an e-mail address: one in four has only web traffic (not touched
by the change), the others a record of basic data and one of interests; one in three of those
gave consent for marketing e-mail (consent in English for one in ten). Version 2 keeps marketing contacts (basic,
interests, account) longer: material, on consent, so consent for marketing e-mail is asked again. Then times, each
with the process's peak RSS after it (and after a tenth of each walk, to show it stays flat):
  raw:     one SELECT of the same people (records of those categories UNION current consents), read through a
           server-side cursor of the driver 1,000 at a time (what keeps memory flat, as the walk does): the
           baseline of the two walks, each printed with its ratio to it;
  keyset:  the announcement's selection, ``repository.affected_page``, 500 at a time from a cursor, to the end;
  batches: the same walk with everything a batch reads to address its mails (the categories and consents of the
           page's people, who has an address, their language), without queueing;
  mail:    the whole job (``announce_next``: queue one mail and its audit event per person) for ``--mail`` people
           (no plain baseline: nothing plain queues a mail with its audit event).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import add_database_url, fresh_kluis, load_average, peak_rss_mb  # noqa: E402

from kluis.changes import repository as repo  # noqa: E402
from kluis.changes.announcements import announce_next, reach  # noqa: E402
from kluis.kit.cli import progress  # noqa: E402
from kluis.policy.publish import publish  # noqa: E402
from kluis.policy.schemas import Term  # noqa: E402
from kluis.wiring import Kluis  # noqa: E402

CHUNK = 100_000
RAW = """
SELECT person_id FROM record WHERE category IN ('basic', 'interests', 'account')
UNION SELECT person_id FROM consent_state WHERE purpose = 'marketing_email'
"""


def seed(kluis: Kluis, people: int) -> None:
    with progress("seeding people", people) as step:
        for start in range(0, people, CHUNK):
            n = min(CHUNK, people - start)
            with kluis.db.engine.begin() as conn:
                conn.execute(text("CREATE TEMP TABLE bp ON COMMIT DROP AS SELECT i, gen_random_uuid() AS id, "
                                  "gen_random_uuid() AS event FROM generate_series(CAST(:a AS int), CAST(:b AS int)) "
                                  "AS i"), {"a": start, "b": start + n - 1})
                conn.execute(text("INSERT INTO person (id, subject_types, created_at, updated_at) "
                                  "SELECT id, '[\"lead\"]'::json, now(), now() FROM bp"))
                conn.execute(text("INSERT INTO identifier (id, person_id, kind, scope, digest, ciphertext, created_at) "
                                  "SELECT gen_random_uuid(), id, 'email', '', sha256(id::text::bytea), "
                                  "sha256(('c' || id::text)::bytea), now() FROM bp"))
                conn.execute(text("INSERT INTO identifier_lookup (digest, kind, scope, person_id) "
                                  "SELECT sha256(id::text::bytea), 'email', '', id FROM bp"))
                conn.execute(text("""
                    INSERT INTO record (id, person_id, category, purposes, legal_basis, source, controller,
                        content_kind, ciphertext, collected_at, last_activity_at, created_at, updated_at)
                    SELECT gen_random_uuid(), bp.id, c.category, c.purposes::json, 'legitimate_interest', 'direct',
                        'benvitaal', 'json', sha256((bp.i::text || c.category)::bytea), now(), now(), now(), now()
                    FROM bp CROSS JOIN (VALUES (0, 'web_traffic', '["security"]'), (1, 'basic', '["lead_management"]'),
                                               (1, 'interests', '["lead_management"]')) AS c(hit, category, purposes)
                    WHERE (bp.i % 4 <> 0) = (c.hit = 1)
                    """))
                conn.execute(text("""
                    INSERT INTO consent_event (id, person_id, purpose, action, method, at, recorded_at, lang,
                        policy_version, recorded_by)
                    SELECT event, id, 'marketing_email', 'given', 'form', now(), now(),
                        CASE WHEN i % 10 = 1 THEN 'en' ELSE 'nl' END, 1, 'bench'
                    FROM bp WHERE i % 4 <> 0 AND i % 3 = 1"""))
                conn.execute(text("INSERT INTO consent_state (person_id, purpose, event_id) "
                                  "SELECT id, 'marketing_email', event FROM bp WHERE i % 4 <> 0 AND i % 3 = 1"))
            step(n)
    # As autovacuum leaves a table that is not being written: statistics, and the visibility map that lets the
    # keyset pages read the indexes alone.
    with kluis.db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for table in ("person", "identifier", "record", "consent_event", "consent_state"):
            conn.execute(text(f"VACUUM (ANALYZE) {table}"))


def timed(label: str, run: Callable[[], int], baseline: float | None = None) -> float:
    """Runs one step, prints its time, people and peak RSS (and with ``baseline``, the raw time, the ratio to
    it); returns the time."""
    started = time.perf_counter()
    result = run()
    seconds = time.perf_counter() - started
    ratio = f"   ratio kluis/raw {seconds / baseline:.2f}" if baseline else ""
    print(f"{label:<8} {seconds:8.2f} s   people {result:>9,}   peak RSS {peak_rss_mb():7.1f} MB{ratio}", flush=True)
    return seconds


def walk(kluis: Kluis, people: int, with_reads: bool) -> int:
    found = reach(kluis, 2)
    assert found is not None
    seen, after, tenth = 0, None, max(1, people // 10)
    with kluis.db.sessions() as session:
        while True:
            page = repo.affected_page(session, found.categories, found.purposes, after)
            if not page:
                return seen
            if with_reads:
                live = [person_id for person_id, erased in page if not erased]
                repo.categories_of(session, live, found.categories)
                repo.consents_of(session, live, found.purposes)
                repo.reachable(session, live)
                repo.languages(session, live)
            seen, after = seen + len(page), page[-1][0]
            if seen // tenth != (seen - len(page)) // tenth and seen <= tenth + len(page):
                print(f"         after {seen:,} people: peak RSS {peak_rss_mb():.1f} MB", flush=True)
            session.expunge_all()


def raw(kluis: Kluis, people: int) -> int:
    seen, tenth = 0, max(1, people // 10)
    connection = kluis.db.engine.raw_connection()
    try:
        with connection.driver_connection.cursor(name="raw_policy") as cursor:
            cursor.itersize = 1000
            cursor.execute(RAW)
            while partition := cursor.fetchmany(1000):
                seen += len(partition)
                if seen // tenth != (seen - len(partition)) // tenth and seen <= tenth + len(partition):
                    print(f"         after {seen:,} people: peak RSS {peak_rss_mb():.1f} MB", flush=True)
        connection.rollback()
    finally:
        connection.close()
    return seen


def mail(kluis: Kluis, limit: int) -> int:
    done = 0
    while done < limit:
        with kluis.db.transaction() as session:
            handled = announce_next(session, kluis, "bench")
        if handled <= 1:
            break
        done += handled
    return done


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--mail", type=int, default=10_000, help="people the whole job mails (0: skip)")
    add_database_url(parser)
    args = parser.parse_args()
    with fresh_kluis("postgresql", args.database_url) as kluis:
        seed(kluis, args.people)
        policy = kluis.policy
        longer = policy.model_copy(update={"retention": [
            r.model_copy(update={"term": Term(months=48)}) if r.id == "marketing_contacts" else r
            for r in policy.retention]})
        with kluis.db.transaction() as session:
            publish(session, kluis.clock, longer, effective_at=kluis.clock.now() + timedelta(days=31),
                    actor="bench", source="bench")
        kluis.timeline.forget()
        print(f"{args.people:,} people on PostgreSQL; peak RSS after seeding {peak_rss_mb():.1f} MB; {load_average()}",
              flush=True)
        baseline = timed("raw", lambda: raw(kluis, args.people))
        timed("keyset", lambda: walk(kluis, args.people, with_reads=False), baseline)
        timed("batches", lambda: walk(kluis, args.people, with_reads=True), baseline)
        if args.mail:
            timed("mail", lambda: mail(kluis, args.mail))


if __name__ == "__main__":
    main()
