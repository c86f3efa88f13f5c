"""Scale-out on one machine (issue 20 §5): how throughput follows the number of processes.

    PYTHONPATH=src python bench/scaleout.py --seconds 15

1. HTTP: `kluis serve --workers N` for N in --processes (1, 2, 4), connected to PostgreSQL directly and through
   pgbouncer in transaction mode (KLUIS_DB_PREPARE_THRESHOLD=none, started here from Debian's package on a free
   port, as the postgres user), each driven by wrk at --connections for --seconds: POST /api/v1/decisions (one
   question each) and GET /api/v1/people/{id}/records (the audited read), with a `kluis worker` beside the
   server sealing the audit log. Per row: requests/s, p50, p99, errors.
2. Workers: --jobs access packages (verified access requests), --jobs erasure jobs and the mail they cause
   (a "package ready" message per request, the erasure certificates), then K `kluis worker` processes for K in
   --workers-list (1, 2, 4) on a fresh copy of that queue each time; the time until each kind is done, and its
   rate. Mail goes to an SMTP catcher on loopback.

No baseline in the same run: what is compared is Kluis with itself at 1, 2 and 4 processes (the ratio column is
against one process). Everything shares this machine's cores: server, wrk, worker and PostgreSQL.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

from sqlalchemy import text
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
from load import connection_counter, populate, settle  # noqa: E402
from pooler import pgbouncer, require_pgbouncer  # noqa: E402
from rights import email, sample_people, service_databases, verified_requests  # noqa: E402

from kluis.erasure import service as erasure  # noqa: E402
from kluis.erasure.rules import Reason  # noqa: E402
from kluis.mail.catcher import start_catcher  # noqa: E402
from kluis.wiring import Kluis  # noqa: E402

SCENARIOS = {"decisions": "load_decisions.lua", "reads": "load_records.lua"}


def http_rows(kluis: Kluis, args: argparse.Namespace, ids_file: Path, token: str) -> None:
    database = make_url(kluis.settings.database_url).database or ""
    headers = {"decisions": [f"Authorization: Bearer {token}"],
               "reads": [f"Authorization: Bearer {token}", "Kluis-Purpose: accounts"]}
    first: dict[tuple[str, str], float] = {}
    print(f"{'route':<10} {'processes':>9} {'scenario':<10} {'req/s':>8} {'vs 1':>5} {'p50 ms':>8} {'p99 ms':>8} "
          f"{'errors':>6}  server connections", flush=True)
    for route in args.routes.split(","):
        with ExitStack() as stack:
            env = server_env(kluis, KLUIS_DB_POOL_SIZE=str(args.pool_size),
                             KLUIS_DB_MAX_OVERFLOW=str(args.max_overflow))
            if route == "pgbouncer":
                data_url, keys_url = stack.enter_context(pgbouncer(
                    kluis.settings.database_url, kluis.settings.resolved_keystore_url(), pool_size=args.bouncer_pool))
                env.update(KLUIS_DATABASE_URL=data_url, KLUIS_KEYSTORE_URL=keys_url,
                           KLUIS_DB_PREPARE_THRESHOLD="none")
            count, _, _ = stack.enter_context(connection_counter(args.database_url, database))
            stack.enter_context(running(kluis_command("worker", "--poll-seconds", "0.5"), server_env(kluis)))
            for processes in args.processes:
                port = free_port()
                with running(kluis_command("serve", "--port", str(port), "--workers", str(processes)), env,
                             port=port, timeout=300):
                    for name in args.scenarios.split(","):
                        figures = wrk(f"http://127.0.0.1:{port}/", seconds=args.seconds,
                                      connections=args.connections, threads=2, headers=headers[name],
                                      script=SCENARIOS[name], args=[str(ids_file)], timeout=args.timeout)
                        settle(count)
                        first.setdefault((route, name), figures["rps"])
                        errors = figures["non2xx"] + figures["socket_errors"] + figures["timeouts"]
                        print(f"{route:<10} {processes:>9} {name:<10} {figures['rps']:>8,.0f} "
                              f"{figures['rps'] / first[(route, name)]:>5.2f} {figures['p50']:>8.1f} "
                              f"{figures['p99']:>8.1f} {errors:>6.0f}  {count()}; {load_average()}", flush=True)


def queue_work(kluis: Kluis, jobs: int, tag: str) -> None:
    """``jobs`` verified access requests (each queues a package, then a message) and ``jobs`` erasure jobs (each
    ends in a certificate), for people of three records each."""
    readers = sample_people(kluis, jobs, 3, f"{tag}a")
    erased = sample_people(kluis, jobs, 3, f"{tag}e")
    verified_requests(kluis, readers)
    with kluis.db.transaction() as session:
        for person_id in erased:
            erasure.queue(session, kluis, person_id, Reason.STAFF, "bench")


PENDING = {
    "packages": "SELECT count(*) FROM access_package WHERE state IN ('queued', 'building')",
    "erasure": "SELECT count(*) FROM erasure_job WHERE state IN ('queued', 'running', 'waiting')",
    "mail": "SELECT count(*) FROM outbox WHERE state IN ('queued', 'sending')",
}
SENT = "SELECT count(*) FROM outbox WHERE state = 'sent'"


def worker_rows(kluis: Kluis, args: argparse.Namespace) -> None:
    tags = [f"w{workers}x{kind}" for workers in args.workers_list for kind in "ae"]
    emails = [email(tag, i) for tag in tags for i in range(args.jobs)]
    catcher = start_catcher(port=0, keep=10)
    with service_databases(args.database_url, 0, emails, kluis.clock.now()) as urls:
        kluis.use_dataset_urls(urls)
        env = server_env(kluis, KLUIS_SMTP_HOST="127.0.0.1", KLUIS_SMTP_PORT=str(catcher.port),
                         KLUIS_DATASET_URLS=json.dumps(urls))
        print(f"{'workers':>7} {'kind':<9} {'jobs':>6} {'seconds':>8} {'jobs/s':>8} {'vs 1':>5}", flush=True)
        first: dict[str, float] = {}
        for workers in args.workers_list:
            queue_work(kluis, args.jobs, f"w{workers}x")
            with kluis.db.engine.connect() as conn:
                totals = {kind: int(conn.execute(text(sql)).scalar_one()) for kind, sql in PENDING.items()}
                sent_before = int(conn.execute(text(SENT)).scalar_one())
            started, finished = time.monotonic(), {}
            with ExitStack() as stack:
                for _ in range(workers):
                    stack.enter_context(running(kluis_command("worker", "--poll-seconds", "0.2"), env))
                deadline = started + args.worker_timeout
                while len(finished) < len(PENDING) and time.monotonic() < deadline:
                    with kluis.db.engine.connect() as conn:
                        for kind, sql in PENDING.items():
                            # Mail is done once nothing more can cause any: packages and erasures first.
                            if kind == "mail" and len(finished) < len(PENDING) - 1:
                                continue
                            if kind not in finished and int(conn.execute(text(sql)).scalar_one()) == 0:
                                finished[kind] = time.monotonic() - started
                    time.sleep(0.1)
            with kluis.db.engine.connect() as conn:
                totals["mail"] = int(conn.execute(text(SENT)).scalar_one()) - sent_before
            for kind in PENDING:
                seconds = finished.get(kind)
                if seconds is None:
                    print(f"{workers:>7} {kind:<9} {totals[kind]:>6} not done in {args.worker_timeout:.0f} s",
                          flush=True)
                    continue
                rate = totals[kind] / seconds
                first.setdefault(kind, rate)
                print(f"{workers:>7} {kind:<9} {totals[kind]:>6} {seconds:>8.1f} {rate:>8.1f} "
                      f"{rate / first[kind]:>5.2f}; {load_average()}", flush=True)
    catcher.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_database_url(parser)
    parser.add_argument("--seconds", type=float, default=15, help="each HTTP scenario's length (default %(default)s)")
    parser.add_argument("--connections", type=int, default=64, help="wrk's open connections (default %(default)s)")
    parser.add_argument("--timeout", default="2s", help="wrk's per-request timeout (default %(default)s)")
    parser.add_argument("--processes", type=lambda v: [int(n) for n in v.split(",")], default=[1, 2, 4],
                        help="server processes to try, comma-separated (default 1,2,4)")
    parser.add_argument("--routes", default="direct,pgbouncer",
                        help="direct, pgbouncer or both, comma-separated (default %(default)s)")
    parser.add_argument("--scenarios", default="decisions,reads", help="decisions, reads (default: both)")
    parser.add_argument("--pool-size", type=int, default=10, help="KLUIS_DB_POOL_SIZE per process (default 10)")
    parser.add_argument("--max-overflow", type=int, default=10, help="KLUIS_DB_MAX_OVERFLOW (default 10)")
    parser.add_argument("--bouncer-pool", type=int, default=8,
                        help="pgbouncer's server connections per database (default %(default)s)")
    parser.add_argument("--people", type=int, default=2000, help="people, three records each (default %(default)s)")
    parser.add_argument("--jobs", type=int, default=100,
                        help="access packages and erasure jobs queued for each worker count (default %(default)s)")
    parser.add_argument("--workers-list", type=lambda v: [int(n) for n in v.split(",")], default=[1, 2, 4],
                        help="worker processes to try, comma-separated (default 1,2,4)")
    parser.add_argument("--worker-timeout", type=float, default=600, help="give up on a worker row after this")
    parser.add_argument("--parts", default="http,workers", help="http, workers (default: both)")
    args = parser.parse_args()
    parts = args.parts.split(",")
    if "http" in parts:
        require_wrk()
        if "pgbouncer" in args.routes:
            require_pgbouncer()
    with fresh_kluis("postgresql", args.database_url) as kluis:
        print(f"machine: {os.cpu_count()} cores, shared by server, wrk, workers and PostgreSQL; {load_average()}",
              flush=True)
        if "http" in parts:
            ids, token, _ = populate(kluis, args.people)
            folder = Path(tempfile.mkdtemp(prefix="kluis-scaleout-"))
            ids_file = folder / "ids.txt"
            ids_file.write_text("\n".join(ids) + "\n")
            print(f"HTTP: {len(ids):,} people x 3 records; wrk -c{args.connections} -d{args.seconds:g}s; pool "
                  f"{args.pool_size} + {args.max_overflow} per process; pgbouncer: {args.bouncer_pool} server "
                  f"connections per database, transaction mode", flush=True)
            kluis.db.dispose()
            http_rows(kluis, args, ids_file, token)
            shutil.rmtree(folder, ignore_errors=True)
        if "workers" in parts:
            print(f"workers: {args.jobs} access packages + {args.jobs} erasures (+ their mail) per row", flush=True)
            worker_rows(kluis, args)


if __name__ == "__main__":
    main()
