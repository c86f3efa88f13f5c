"""Campaign audience over a large population: Kluis's streamed audience against a hand-written raw SQL
query selecting the same people, in the same run; the two sets must be equal.

    python bench/audience.py --people 1000000

Builds the population with COPY straight into the tables the services write (person, e-mail identifier
with its blind-index digest, current consent, objections, restrictions, suppression) — writing a million
consents one by one through the API would measure the seeding, not the audience.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import add_database_url, fresh_kluis, load_average, peak_rss_mb  # noqa: E402

from kluis.consent.marketing.service import LIST, Marketing  # noqa: E402
from kluis.kit.cli import progress  # noqa: E402

RAW = f"""
SELECT c.person_id FROM consent_state c
JOIN person p ON p.id = c.person_id AND p.shredded_at IS NULL
WHERE c.purpose = '{LIST}'
  AND NOT EXISTS (SELECT 1 FROM restriction r WHERE r.person_id = c.person_id AND r.lifted_at IS NULL)
  AND NOT EXISTS (SELECT 1 FROM objection o WHERE o.person_id = c.person_id AND o.lifted_at IS NULL
                  AND o.scope IN ('marketing', '{LIST}'))
  AND EXISTS (SELECT 1 FROM identifier i WHERE i.person_id = c.person_id AND i.kind = 'email'
              AND NOT EXISTS (SELECT 1 FROM suppression s WHERE s.digest = i.digest AND s.list_id = '{LIST}'))
"""


def populate(kluis, people: int, seed: int = 5) -> None:
    rng = random.Random(seed)
    now = datetime(2026, 11, 1, tzinfo=UTC)
    raw = kluis.db.engine.raw_connection()
    try:
        cur = raw.cursor()
        with progress("writing the population", people) as step:
            for start in range(0, people, 50_000):
                n = min(50_000, people - start)
                rows = [(uuid.uuid4(), rng.random()) for _ in range(n)]
                with cur.copy("COPY person (id, subject_types, created_at, updated_at) FROM STDIN") as copy:
                    for pid, _ in rows:
                        copy.write_row((pid, '["lead"]', now, now))
                digests = {}
                with cur.copy("COPY identifier (id, person_id, kind, scope, digest, ciphertext, created_at) "
                              "FROM STDIN") as copy:
                    for pid, _ in rows:
                        digest = kluis.keys.digest("email", "", f"{pid.hex}@example.nl")
                        digests[pid] = digest
                        copy.write_row((uuid.uuid4(), pid, "email", "", digest, b"\x01sealed", now))
                with cur.copy("COPY identifier_lookup (digest, kind, scope, person_id) FROM STDIN") as copy:
                    for pid, digest in digests.items():
                        copy.write_row((digest, "email", "", pid))
                with cur.copy("COPY consent_state (person_id, purpose, event_id) FROM STDIN") as copy:
                    for pid, roll in rows:
                        if roll < 0.4:
                            copy.write_row((pid, LIST, uuid.uuid4()))
                with cur.copy("COPY objection (id, person_id, scope, recorded_by, on_behalf_of, at) FROM STDIN") as c:
                    for pid, roll in rows:
                        if 0.38 < roll < 0.40:
                            c.write_row((uuid.uuid4(), pid, "marketing", "bench", "person", now))
                restriction = "COPY restriction (id, person_id, reason, recorded_by, on_behalf_of, at) FROM STDIN"
                with cur.copy(restriction) as c:
                    for pid, roll in rows:
                        if 0.36 < roll < 0.37:
                            c.write_row((uuid.uuid4(), pid, "accuracy_contested", "bench", "person", now))
                with cur.copy("COPY suppression (digest, list_id, route, created_at) FROM STDIN") as copy:
                    for pid, roll in rows:
                        if 0.30 < roll < 0.33:
                            copy.write_row((digests[pid], LIST, "unsubscribe_link", now))
                raw.commit()
                step(n)
        cur.execute("ANALYZE")
        raw.commit()
    finally:
        raw.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--people", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    add_database_url(parser)
    args = parser.parse_args()
    with fresh_kluis("postgresql", args.database_url) as kluis:
        populate(kluis, args.people)
        with kluis.db.transaction() as session:
            Marketing(session, kluis, "bench").add_campaign("bench", "Nieuws", "Tekst")
        best_kluis = best_raw = float("inf")
        for _ in range(args.rounds):
            t0 = time.perf_counter()
            with kluis.db.sessions() as session:
                ours = set(Marketing(session, kluis, "bench").audience("bench"))
            best_kluis = min(best_kluis, time.perf_counter() - t0)
            raw = kluis.db.engine.raw_connection()
            try:
                t0 = time.perf_counter()
                cur = raw.cursor()  # a plain query: the database may plan it in parallel
                cur.execute(RAW)
                theirs = {row[0] for row in cur.fetchall()}
                best_raw = min(best_raw, time.perf_counter() - t0)
                raw.rollback()
            finally:
                raw.close()
            assert ours == theirs, "the audience differs from the hand-written query"
        print(f"[postgresql] data: {args.people:,} people; audience {len(ours):,} (sets equal); {load_average()}")
        print(f"[postgresql] kluis audience (streamed):   {best_kluis:.2f} s")
        print(f"[postgresql] raw SQL (all rows at once):  {best_raw:.2f} s")
        print(f"[postgresql] ratio kluis/raw:             {best_kluis / best_raw:.2f}")
        print(f"[postgresql] peak memory (RSS):           {peak_rss_mb():,.0f} MB (both sets held to compare)")


if __name__ == "__main__":
    main()
