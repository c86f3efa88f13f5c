"""The HTTP API under load (issue 18 §6): `kluis serve --workers 2` on PostgreSQL driven by wrk, a worker sealing
the audit log beside it, everything on the same machine.

    PYTHONPATH=src python bench/load.py --seconds 30 --connections 64 --runs 2

Each scenario runs --seconds at --connections open connections (wrk --latency, bench/load_*.lua), --runs times:
  decisions  POST /api/v1/decisions, one question each, every person in turn with one of four purposes
             (target: >= 2,000 req/s, p99 <= 50 ms);
  reads      GET /api/v1/people/{id}/records, the audited read of a person's records for `accounts`
             (target: >= 1,000 req/s, p99 <= 100 ms);
  batch      POST /api/v1/records/batch, 100 records a request for 100 people in turn;
  staff      GET /console/people/{id}, a support staff member's audited read of a person's page.
Every scenario: zero answers outside 2xx, zero socket errors and timeouts. The server's and the worker's
connections to the benchmark's database (pg_stat_activity) are counted before the first run and after every
scenario: they must not grow from one run to the next. Beside each scenario: the connections opened during it
(pg_stat_database.sessions) and the CPU a request of the server's processes and of the database backends (/proc;
on a shared machine the figure to compare, where rates follow the others' load). Apart: the server time of one
person read, in process (``kluis.vault.fastpath.answer``: key, gate, records opened, audit event committed; no
HTTP), target < 3 ms, and the same read over HTTP on one connection (wrk -c1).

`--server uvicorn` starts the same application factory as `kluis serve --workers N` (kluis.app.from_settings,
the same server options) from `python -c`: for code where `kluis serve`'s worker processes, each importing the
whole CLI again, miss uvicorn's five-second start-up check on a busy machine and are restarted in a loop.

There is no baseline in the same run: the issue's targets are absolute rates on this machine. wrk comes from
Debian's package (apt-get install -y wrk); without it the benchmark stops with a message.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import pyotp
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (  # noqa: E402
    add_database_url,
    free_port,
    fresh_kluis,
    kluis_command,
    load_average,
    require_wrk,
    running,
    server_env,
    wrk,
)

from kluis.access.service import create_key  # noqa: E402
from kluis.db import MAX_OVERFLOW, POOL_SIZE  # noqa: E402
from kluis.staff.service import add_staff, login  # noqa: E402
from kluis.vault.fastpath import answer  # noqa: E402
from kluis.vault.schemas import BatchRecordIn, PersonIn  # noqa: E402
from kluis.wiring import Kluis  # noqa: E402

PURPOSES = ["marketing_email", "profiling", "accounts", "security"]
RECORDS_PER_PERSON = 3
STAFF_EMAIL = "load@bench.example.nl"
STAFF_PASSWORD = "a long bench password 42"
# name: (script, target requests/s, target p99 ms); a target of None is reported without a verdict.
SCENARIOS: dict[str, tuple[str, float | None, float | None]] = {
    "decisions": ("load_decisions.lua", 2000, 50),
    "reads": ("load_records.lua", 1000, 100),
    "batch": ("load_batch.lua", None, None),
    "staff": ("load_staff.lua", None, None),
}


def populate(kluis: Kluis, people: int) -> tuple[list[str], str, str]:
    """People with an account relation (the gate allows `accounts`) and three records each; an API key for the
    four purposes; a support staff member signed in. Returns (person ids, API token, console session token)."""
    ids: list[str] = []
    for start in range(0, people, 1000):
        with kluis.db.transaction() as session:
            vault, gate = kluis.vault(session, "bench"), kluis.gate(session, "bench")
            created = vault.create_people([PersonIn(subject_types=["lead"]) for _ in range(min(1000, people - start))])
            for person in created:
                gate.add_relation(person.id, "account")
            vault.add_records(None, [
                BatchRecordIn(person_id=person.id, category="basic", purposes=["accounts"], legal_basis="contract",
                              source="direct", content={"n": n, "text": f"waarde {n}"})
                for person in created for n in range(RECORDS_PER_PERSON)])
            ids += [str(person.id) for person in created]
    with kluis.db.transaction() as session:
        _, token = create_key(session, kluis.clock, kluis.policy, service="bench", purposes=PURPOSES, actor="bench")
        enrolment = add_staff(session, kluis.clock, kluis.keys, STAFF_EMAIL, "support", STAFF_PASSWORD)
    code = pyotp.parse_uri(enrolment.totp_uri).now()
    with kluis.db.transaction() as session:
        cookie = login(session, kluis.clock, kluis.keys, kluis.settings, STAFF_EMAIL, STAFF_PASSWORD, code)
    return ids, token, cookie


def analyze(kluis: Kluis) -> None:
    """The planner's statistics of the data just loaded, as autovacuum gathers them within a minute of a bulk load
    on a running server: without them each run's first minute is planned on the empty tables' figures."""
    with kluis.db.engine.connect() as connection:
        connection.execute(text("ANALYZE"))
        connection.commit()


def read_server_time(kluis: Kluis, ids: list[str], token: str, rounds: int) -> tuple[float, float]:
    """(p50, p99) in ms of the whole server-side work of one person read, in process: what the hot path does for
    GET /api/v1/people/{id}/records (one SELECT, gate, three records decrypted, the body, the audit event
    committed), without HTTP. Different people in turn, after a warm-up."""
    connection = kluis.db.held_connection()
    times = []
    for n in range(rounds + 50):
        person = uuid.UUID(ids[n % len(ids)])
        started = time.perf_counter()
        body = answer(kluis, connection, None, person, None, token, "accounts")
        if n >= 50:
            times.append((time.perf_counter() - started) * 1000)
        assert body is not None, "the hot path did not answer the read"
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.99)]


@contextmanager
def connection_counter(server_url: str, database: str) -> Iterator[tuple[Any, Any, Any]]:
    """Counts the connections to the benchmark's database (the counting one is made to another database): open
    now, opened since the server started, and the server processes (pids) serving them."""
    engine = create_engine(server_url, isolation_level="AUTOCOMMIT", pool_size=1, max_overflow=0)

    def count(state: str | None = None) -> int:
        with engine.connect() as conn:
            return int(conn.execute(text("SELECT count(*) FROM pg_stat_activity WHERE datname = :d "
                                         "AND (CAST(:s AS text) IS NULL OR state = :s)"),
                                    {"d": database, "s": state}).scalar_one())

    def backends() -> list[int]:
        with engine.connect() as conn:
            return list(conn.execute(text("SELECT pid FROM pg_stat_activity WHERE datname = :d"),
                                     {"d": database}).scalars())

    def opened() -> int:
        """Connections ever opened to the database (PostgreSQL 14 and later; as last flushed to the statistics)."""
        with engine.connect() as conn:
            conn.execute(text("SELECT pg_stat_clear_snapshot()"))
            return int(conn.execute(text("SELECT sessions FROM pg_stat_database WHERE datname = :d"),
                                    {"d": database}).scalar_one() or 0)
    try:
        yield count, opened, backends
    finally:
        engine.dispose()


def process_tree(root: int) -> list[int]:
    """``root`` and every process under it (a server's worker processes)."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(stat.parent.name)] = int(fields[1])
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo += [child for child, parent in parents.items() if parent == pid]
    return tree


def cpu_seconds(pids: list[int]) -> float:
    """User and system CPU time the processes used so far (Linux /proc; a process gone since counts 0). On a
    machine others share, CPU a request is the figure to compare: wall-clock rates follow the others' load."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def settle(count: Any, timeout: float = 60) -> None:
    """Wait until no statement runs on the benchmark's database (twice in a row): requests wrk left behind when it
    stopped are finished before the next scenario starts and before connections are counted."""
    deadline, quiet = time.monotonic() + timeout, 0
    while time.monotonic() < deadline and quiet < 2:
        quiet = quiet + 1 if count("active") == 0 else 0
        time.sleep(0.25)


def server_command(how: str, port: int, workers: int) -> list[str]:
    if how == "serve":
        return kluis_command("serve", "--port", str(port), "--workers", str(workers))
    return [sys.executable, "-c", "import uvicorn; from kluis.app import SERVER_OPTIONS; uvicorn.run("
            f"'kluis.app:from_settings', factory=True, host='127.0.0.1', port={port}, workers={workers}, "
            "access_log=False, **SERVER_OPTIONS)"]


def verdict(figures: dict[str, float], rps: float | None, p99: float | None) -> str:
    errors = figures["non2xx"] + figures["socket_errors"] + figures["timeouts"]
    checks = [("zero errors", errors == 0), ("answers", figures["requests"] > 0)]
    if rps is not None and p99 is not None:
        checks += [(f">= {rps:,.0f} req/s", figures["rps"] >= rps), (f"p99 <= {p99:.0f} ms", figures["p99"] <= p99)]
    missed = [name for name, ok in checks if not ok]
    return "target met" if not missed else "target missed: " + ", ".join(missed)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_database_url(parser)
    parser.add_argument("--seconds", type=float, default=30, help="each scenario's length (default %(default)s)")
    parser.add_argument("--connections", type=int, default=64, help="wrk's open connections (default %(default)s)")
    parser.add_argument("--threads", type=int, default=2, help="wrk's threads (default %(default)s)")
    parser.add_argument("--timeout", default="2s", help="wrk's per-request timeout (default %(default)s)")
    parser.add_argument("--runs", type=int, default=2, help="times each scenario runs (default %(default)s)")
    parser.add_argument("--workers", type=int, default=2, help="kluis serve --workers (default %(default)s)")
    parser.add_argument("--server", choices=["serve", "uvicorn"], default="serve",
                        help="start the server with `kluis serve` or the same factory through uvicorn.run "
                             "(see above; default %(default)s)")
    parser.add_argument("--pool-size", type=int, default=POOL_SIZE,
                        help="KLUIS_DB_POOL_SIZE of the server processes (default %(default)s)")
    parser.add_argument("--max-overflow", type=int, default=MAX_OVERFLOW,
                        help="KLUIS_DB_MAX_OVERFLOW of the server processes (default %(default)s)")
    parser.add_argument("--people", type=int, default=2000, help="people, three records each (default %(default)s)")
    parser.add_argument("--scenarios", default=",".join(SCENARIOS),
                        help="which, comma-separated, in this order (default: all)")
    parser.add_argument("--read-rounds", type=int, default=500,
                        help="person reads timed in process (0: skip; default %(default)s)")
    args = parser.parse_args()
    scenarios = [name for name in args.scenarios.split(",") if name]
    if unknown := [name for name in scenarios if name not in SCENARIOS]:
        parser.error(f"unknown scenario {', '.join(unknown)}: choose from {', '.join(SCENARIOS)}")
    require_wrk()
    with fresh_kluis("postgresql", args.database_url) as kluis, ExitStack() as stack:
        # The batch scenario writes to people of its own: written to the people the others read, its records
        # (about 60 more each in a 30 s run) would make every later read and page of the same run heavier.
        everyone, token, cookie = populate(kluis, 2 * args.people)
        ids, batch_ids = everyone[:args.people], everyone[args.people:]
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="kluis-load-")))
        ids_file, batch_file = folder / "ids.txt", folder / "batch_ids.txt"
        ids_file.write_text("\n".join(ids) + "\n")
        batch_file.write_text("\n".join(batch_ids) + "\n")
        served = "kluis serve" if args.server == "serve" else "uvicorn.run(kluis.app:from_settings)"
        print(f"data: {len(ids):,} people x {RECORDS_PER_PERSON} records read, {len(batch_ids):,} more written by the "
              f"batch; PostgreSQL; server: {served} "
              f"--workers {args.workers}, pool {args.pool_size} + {args.max_overflow} overflow per process, a worker "
              f"beside it; wrk -t{args.threads} -c{args.connections} -d{args.seconds:g}s --timeout {args.timeout}",
              flush=True)
        if args.read_rounds:
            p50, p99 = read_server_time(kluis, ids, token, args.read_rounds)
            print(f"one person read in process (3 records, audited), {args.read_rounds} reads: p50 {p50:.2f} ms, "
                  f"p99 {p99:.2f} ms (target < 3 ms: {'met' if p50 < 3 else 'missed'}); {load_average()}", flush=True)
        analyze(kluis)
        kluis.db.dispose()  # from here on, only the server and the worker hold connections to the database
        env = server_env(kluis, KLUIS_DB_POOL_SIZE=str(args.pool_size), KLUIS_DB_MAX_OVERFLOW=str(args.max_overflow))
        port = free_port()
        database = make_url(kluis.settings.database_url).database or ""
        count, opened_total, backends = stack.enter_context(connection_counter(args.database_url, database))
        stack.enter_context(running(kluis_command("worker", "--poll-seconds", "0.5"), env))
        server = stack.enter_context(running(server_command(args.server, port, args.workers), env, port=port,
                                             timeout=300))
        base = f"http://127.0.0.1:{port}"
        headers = {"decisions": [f"Authorization: Bearer {token}"],
                   "reads": [f"Authorization: Bearer {token}", "Kluis-Purpose: accounts"],
                   "batch": [f"Authorization: Bearer {token}", "Kluis-Purpose: accounts"],
                   "staff": [f"Cookie: kluis_console={cookie}"]}
        if "reads" in scenarios:
            one = wrk(f"{base}/", seconds=min(args.seconds, 5), connections=1, threads=1, headers=headers["reads"],
                      script="load_records.lua", args=[str(ids_file)], timeout=args.timeout)
            print(f"one person read over HTTP, one connection: p50 {one['p50']:.2f} ms, p99 {one['p99']:.2f} ms, "
                  f"{one['rps']:,.0f} req/s; {load_average()}", flush=True)
        settle(count)
        start = count()
        print(f"database connections with the server up, before the runs: {start}", flush=True)
        after_runs = []
        for run in range(1, args.runs + 1):
            for name in scenarios:
                script, target_rps, target_p99 = SCENARIOS[name]
                before, opened = count(), opened_total()
                serving = process_tree(server.pid)
                cpu_server, cpu_db = cpu_seconds(serving), cpu_seconds(backends())
                figures = wrk(f"{base}/", seconds=args.seconds, connections=args.connections, threads=args.threads,
                              headers=headers[name], script=script,
                              args=[str(batch_file if name == "batch" else ids_file)], timeout=args.timeout)
                settle(count)
                after, opened = count(), opened_total() - opened
                cpu_server = (cpu_seconds(serving) - cpu_server) * 1000 / max(figures["requests"], 1)
                cpu_db = (cpu_seconds(backends()) - cpu_db) * 1000 / max(figures["requests"], 1)
                print(f"run {run} {name:<9} {figures['rps']:8,.0f} req/s  p50 {figures['p50']:7.1f} ms  "
                      f"p99 {figures['p99']:7.1f} ms  {figures['requests']:,.0f} requests, "
                      f"{figures['non2xx']:.0f} non-2xx, {figures['socket_errors']:.0f} socket errors, "
                      f"{figures['timeouts']:.0f} timeouts; db connections {before} -> {after}, {opened} opened; CPU a "
                      f"request: server {cpu_server:.1f} ms, database {cpu_db:.1f} ms; "
                      f"{verdict(figures, target_rps, target_p99)}; {load_average()}", flush=True)
            after_runs.append(count())
        growth = after_runs[-1] - after_runs[0] if len(after_runs) > 1 else 0
        print(f"database connections after each run: {', '.join(map(str, after_runs))} (before: {start}); growth "
              f"from the first run to the last: {growth} ({'none' if growth <= 0 else 'GROWTH'})", flush=True)


if __name__ == "__main__":
    main()
