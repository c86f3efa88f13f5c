"""One console person page (GET /console/people/{id}, issue 18 §6, issue 19 §2), in process: the time of the whole
request through the application (session check, reads, gate, audit event committed, page rendered; no socket) and
the SQL statements it runs, for a person with a realistic history.

    PYTHONPATH=src python bench/console_person.py --backend postgresql --renders 200
    PYTHONPATH=src python bench/console_person.py --backend sqlite --profile 30

The person: --records records (a third held for an employer), --records/10 times consent given and withdrawn, three
requests, --records/3 disclosures and two legal holds. --profile N prints cProfile's N costliest functions
(cumulative) over the renders.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pyotp
from fastapi import Request
from fastapi.testclient import TestClient

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import add_database_url, fresh_kluis, load_average  # noqa: E402

from kluis.app import create_app  # noqa: E402
from kluis.disclosures.models import Disclosure  # noqa: E402
from kluis.kit import i18n  # noqa: E402
from kluis.kit.ids import new_id  # noqa: E402
from kluis.kit.statements import statements_run  # noqa: E402
from kluis.retention import holds  # noqa: E402
from kluis.rights.service import Rights  # noqa: E402
from kluis.staff.console import person_page  # noqa: E402
from kluis.staff.service import add_staff, login  # noqa: E402
from kluis.vault.schemas import IdentifierIn, PersonIn, RecordIn  # noqa: E402
from kluis.vault.service import add_employer  # noqa: E402
from kluis.wiring import Kluis  # noqa: E402

STAFF_EMAIL = "person-page@bench.example.nl"
STAFF_PASSWORD = "a long bench password 42"


def person_with_history(kluis: Kluis, records: int) -> str:
    """A person with ``records`` records and the rest of a history the page shows; returns the id."""
    now = kluis.clock.now()
    with kluis.db.transaction() as session:
        vault = kluis.vault(session, "bench")
        employer = add_employer(session, kluis.clock, "bench", "Werkgever BV")
        person = vault.create_person(
            PersonIn(
                subject_types=["employee"],
                employer_id=employer.id,
                identifiers=[
                    IdentifierIn(kind="email", value="inge.bench@example.nl"),
                    IdentifierIn(kind="phone", value="+31612345678"),
                ],
            )
        )
        vault.add_records(
            person.id,
            [
                RecordIn(
                    category="financial",
                    purposes=["expense_claims"],
                    legal_basis="contract",
                    source="employer",
                    controller="employer",
                    controller_employer_id=employer.id,
                    content={"amount": f"{n}.50"},
                )
                if n % 3 == 0
                else RecordIn(
                    category="basic",
                    purposes=["marketing_email"],
                    legal_basis="consent",
                    source="direct",
                    controller="benvitaal",
                    content={"n": n, "text": f"waarde {n}"},
                )
                for n in range(records)
            ],
        )
        consents = kluis.consents(session, "bench")
        for _ in range(max(1, records // 10)):
            consents.give(person.id, "marketing_email", method="form", notice_text="Ja graag.", lang="nl")
            consents.withdraw(person.id, "marketing_email", method="unsubscribe_link")
        rights = Rights(session, kluis, "bench")
        for kind in ("access", "rectification", "portability"):
            rights.register_by_staff(
                kind, now - timedelta(days=2), f"Brief {kind}", person_id=person.id, verification="checked by phone"
            )
        holds.place(
            session,
            kluis.clock,
            kluis.policy,
            "staff:bench",
            scope="person",
            reason="litigation",
            person_id=person.id,
            reference="Zaak 2026-17",
        )
        holds.place(
            session,
            kluis.clock,
            kluis.policy,
            "staff:bench",
            scope="category",
            reason="tax_audit",
            category="financial",
            reference="Controle 2026",
        )
        session.add_all(
            [
                Disclosure(
                    id=new_id(),
                    person_id=person.id,
                    party=f"recipient:party{n}",
                    categories=["financial"],
                    purpose="accounts",
                    at=now,
                    reference=f"REF-{n}",
                    recorded_by="bench",
                    recorded_at=now,
                )
                for n in range(max(1, records // 3))
            ]
        )
    return str(person.id)


def staff_cookie(kluis: Kluis) -> str:
    with kluis.db.transaction() as session:
        enrolment = add_staff(session, kluis.clock, kluis.keys, STAFF_EMAIL, "support", STAFF_PASSWORD)
    code = pyotp.parse_uri(enrolment.totp_uri).now()
    with kluis.db.transaction() as session:
        return login(session, kluis.clock, kluis.keys, kluis.settings, STAFF_EMAIL, STAFF_PASSWORD, code)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_database_url(parser)
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="postgresql")
    parser.add_argument("--records", type=int, default=30, help="the person's records (default %(default)s)")
    parser.add_argument("--renders", type=int, default=200, help="pages timed, after 20 (default %(default)s)")
    parser.add_argument("--profile", type=int, default=0, help="print the N costliest functions (default: none)")
    parser.add_argument("--sort", default="cumulative", help="cProfile's order (default %(default)s)")
    parser.add_argument("--statements", action="store_true", help="print the statements of one page")
    args = parser.parse_args()
    with fresh_kluis(args.backend, args.database_url) as kluis, TestClient(create_app(kluis)) as client:
        person = person_with_history(kluis, args.records)
        cookie = staff_cookie(kluis)
        client.cookies.set("kluis_console", cookie, path="/console")
        address = f"/console/people/{person}"
        with statements_run(kluis.db.engine, kluis.db.key_engine) as statements:
            answer = client.get(address)
        assert answer.status_code == 200, answer.text[:500]
        if args.statements:
            print("\n".join(f"{n:3} {' '.join(s.split())[:400]}" for n, s in enumerate(statements, start=1)))
        for _ in range(20):
            client.get(address)
        times = []
        cpu = time.process_time()
        for _ in range(args.renders):
            started = time.perf_counter()
            client.get(address)
            times.append((time.perf_counter() - started) * 1000)
        # CPU of this process (every thread) a request: on a shared machine, wall-clock time follows the others' load.
        cpu = (time.process_time() - cpu) * 1000 / args.renders
        handler = [handler_time(client.app, person, cookie) for _ in range(args.renders)]
        print(
            f"{args.backend}: one person page ({args.records} records), {args.renders} requests in process: "
            f"p50 {statistics.median(times):.2f} ms, p99 {percentile(times, 0.99):.2f} ms, CPU {cpu:.2f} ms a "
            f"request; the handler alone (no ASGI): p50 {statistics.median(handler):.2f} ms, p99 "
            f"{percentile(handler, 0.99):.2f} ms; {len(statements)} SQL statements a page; {load_average()}",
            flush=True,
        )
        if args.profile:
            profiler = cProfile.Profile()
            for _ in range(args.renders):
                handler_time(client.app, person, cookie, profiler)
            pstats.Stats(profiler).sort_stats(args.sort).print_stats(args.profile)


def percentile(times: list[float], share: float) -> float:
    return sorted(times)[int(len(times) * share)]


def handler_time(app: Any, person: str, cookie: str, profiler: cProfile.Profile | None = None) -> float:
    """ms of one call of the page's handler on this thread (cProfile sees only the thread it runs on; the ASGI
    path runs a sync handler on a worker thread)."""
    request = Request(
        {
            "type": "http",
            "method": "GET",
            "path": f"/console/people/{person}",
            "query_string": b"",
            "headers": [(b"cookie", f"kluis_console={cookie}".encode())],
            "app": app,
        }
    )
    started = time.perf_counter()
    if profiler:
        profiler.enable()
    with i18n.speaking("en"):
        person_page(request, person)
    if profiler:
        profiler.disable()
    return (time.perf_counter() - started) * 1000


if __name__ == "__main__":
    main()
