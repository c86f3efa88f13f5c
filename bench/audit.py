"""The audit log (R-GOV-1): what an audited transaction pays, how fast the sealer links, and the audited read
under load; each beside the same work with auditing switched off (or a plain SQL baseline), in the same run.

    python bench/audit.py --backend postgresql --events 200000 --seconds 10

1. Append cost: one client, transactions that change one row, with and without an audit event (p50).
2. 64 concurrent transactions (4 processes x 16 threads), with and without an event each: transactions/s.
3. Sealer: links ``--events`` committed events (batches of 5,000); baseline: one INSERT ... SELECT that writes
   a SHA-256 per event in SQL (the plain way to touch every event once), timed on the same rows.
4. The audited read GET /api/v1/people/{id}/records (a person with no records) with `kluis serve --workers 2`
   under wrk at 64 connections, a sealer running beside it; the same server with auditing switched off
   (bench/audit_app.py). wrk comes from Debian's package (`apt-get install wrk`).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import sys
import threading
import time
from pathlib import Path

from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (  # noqa: E402
    BENCH_DIR,
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
from kluis.audit import sealer  # noqa: E402
from kluis.audit import service as audit  # noqa: E402
from kluis.audit import verify as audit_log  # noqa: E402
from kluis.audit.keys import audit_key  # noqa: E402
from kluis.config import Settings  # noqa: E402
from kluis.vault.schemas import PersonIn  # noqa: E402
from kluis.wiring import build  # noqa: E402

TOUCH = text("UPDATE person SET updated_at = now() WHERE id = :id")


def _one_transaction(kluis, person_id, audited: bool) -> None:
    with kluis.db.transaction() as session:
        session.execute(TOUCH, {"id": person_id})
        if audited:
            audit.append(session, kluis.clock, actor="bench", action="bench.touch", object_type="person",
                         object_ids=[person_id], details={"n": 1})


def append_cost(kluis, people: list, rounds: int) -> tuple[float, float]:
    """p50 of one transaction without and with an audit event, alternating so drift falls on both alike."""
    plain, audited = [], []
    for i in range(rounds):
        for with_event in ((False, True) if i % 2 else (True, False)):
            t0 = time.perf_counter()
            _one_transaction(kluis, people[i % len(people)], with_event)
            (audited if with_event else plain).append(time.perf_counter() - t0)
    return statistics.median(plain) * 1000, statistics.median(audited) * 1000


def _concurrent_worker(env: dict[str, str], people: list[str], audited: bool, seconds: float, threads: int,
                       queue: multiprocessing.Queue) -> None:
    os.environ.update(env)
    kluis = build(Settings(_env_file=None))
    counts = [0] * threads
    start = time.perf_counter() + 0.5
    end = start + seconds

    def run(n: int) -> None:
        while time.perf_counter() < start:
            time.sleep(0.001)
        while time.perf_counter() < end:
            _one_transaction(kluis, people[(n * 7919 + counts[n]) % len(people)], audited)
            counts[n] += 1

    pool = [threading.Thread(target=run, args=(n,)) for n in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    kluis.close()
    queue.put(sum(counts))


def concurrent_rate(env: dict[str, str], people: list, audited: bool, seconds: float) -> float:
    queue: multiprocessing.Queue = multiprocessing.Queue()
    procs = [multiprocessing.Process(target=_concurrent_worker,
                                     args=(env, [str(p) for p in people], audited, seconds, 16, queue))
             for _ in range(4)]
    for p in procs:
        p.start()
    total = sum(queue.get() for _ in procs)
    for p in procs:
        p.join()
    return total / seconds


def seal_rate(kluis, events: int) -> tuple[float, float, int]:
    """(sealer events/s, baseline events/s, events linked)."""
    key = audit_key(kluis.settings.audit_key)
    sealer.seal_all(kluis.db, key, kluis.clock)  # what the earlier steps wrote
    for start in range(0, events, 1000):
        with kluis.db.transaction() as session:
            for i in range(min(1000, events - start)):
                audit.append(session, kluis.clock, actor="bench", action="bench.event", object_type="thing",
                             object_ids=[str(start + i)], details={"n": start + i, "purpose": "accounts"})
    with kluis.db.engine.begin() as conn:
        low = conn.execute(text("SELECT sealed_seq FROM audit_seal")).scalar_one()
        conn.execute(text("CREATE TEMP TABLE raw_link (seq bigint, gap_before int, mac text)"))
        t0 = time.perf_counter()
        linked = conn.execute(text(
            "INSERT INTO raw_link SELECT seq, 0, encode(sha256(convert_to(concat_ws('|', seq, at, actor, action, "
            "object_type, object_ids::text, details::text), 'UTF8')), 'hex') FROM audit_event WHERE seq > :low"),
            {"low": low}).rowcount
        raw_seconds = time.perf_counter() - t0
    t0 = time.perf_counter()
    sealed = sealer.seal_all(kluis.db, key, kluis.clock).sealed
    seal_seconds = time.perf_counter() - t0
    return sealed / seal_seconds, linked / raw_seconds, sealed


def audited_reads(kluis, env: dict[str, str], person_id: str, seconds: float, audited: bool) -> dict[str, float]:
    with kluis.db.transaction() as session:
        _, token = create_key(session, kluis.clock, kluis.policy, service="bench", purposes=["accounts"],
                              actor="bench")
    port = free_port()
    server_env = dict(env, PYTHONPATH=os.pathsep.join([str(BENCH_DIR), env.get("PYTHONPATH", "")]))
    launch = ("import uvicorn; uvicorn.run('audit_app:" + ("audited" if audited else "unaudited") +
              f"', factory=True, host='127.0.0.1', port={port}, workers=2, log_level='warning', access_log=False)")
    with running(kluis_command("worker", "--poll-seconds", "0.2"), env), \
            running([sys.executable, "-c", launch], server_env, port=port):
        return wrk(f"http://127.0.0.1:{port}/api/v1/people/{person_id}/records", seconds=seconds, connections=64,
                   headers=[f"Authorization: Bearer {token}", "Kluis-Purpose: accounts"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="postgresql")
    parser.add_argument("--people", type=int, default=1000)
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=2000)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--parts", default="append,concurrent,seal,reads,verify",
                        help="which measurements, comma-separated (default: all)")
    add_database_url(parser)
    args = parser.parse_args()
    parts = set(args.parts.split(","))
    if "reads" in parts:
        require_wrk()
    with fresh_kluis(args.backend, args.database_url) as kluis:
        s = kluis.settings
        env = server_env(kluis)
        with kluis.db.transaction() as session:
            people = [p.id for p in kluis.vault(session, "bench").create_people(
                [PersonIn(subject_types=["employee"]) for _ in range(args.people)])]
            kluis.gate(session, "bench").add_relation(people[0], "account")  # the read is allowed: 200, not 403
        tag = f"[{args.backend}]"
        print(f"{tag} data: {args.people:,} people with no records; {args.events:,} events to seal; {load_average()}")
        if "append" in parts:
            plain, with_event = append_cost(kluis, people, args.rounds)
            print(f"{tag} one transaction, p50: {with_event:.3f} ms with an audit event, {plain:.3f} ms without; "
                  f"the event adds {with_event - plain:.3f} ms (target < 0.5)")
        for audited in (True, False) if "concurrent" in parts else ():
            rate = concurrent_rate(env, people, audited, args.seconds)
            print(f"{tag} 64 concurrent transactions, {'with' if audited else 'without'} an audit event each: "
                  f"{rate:,.0f} transactions/s")
        if "seal" in parts:
            sealed_rate, raw_rate, sealed = seal_rate(kluis, args.events)
            print(f"{tag} sealer: {sealed:,} events at {sealed_rate:,.0f} events/s (target >= 20,000); raw INSERT "
                  f"... SELECT sha256 per event: {raw_rate:,.0f} events/s; ratio {sealed_rate / raw_rate:.2f}")
        for audited in (True, False) if "reads" in parts else ():
            figures = audited_reads(kluis, env, str(people[0]), args.seconds, audited)
            print(f"{tag} GET records under wrk -c64, serve --workers 2, {'audited' if audited else 'auditing off'}: "
                  f"{figures['rps']:,.0f} req/s, p50 {figures['p50']:.1f} ms, p99 {figures['p99']:.1f} ms, "
                  f"{figures['timeouts']:.0f} timeouts, {figures['socket_errors']:.0f} socket errors, "
                  f"{figures['non2xx']:.0f} non-2xx")
        if "verify" in parts:
            key = audit_key(s.audit_key)
            sealer.seal_all(kluis.db, key, kluis.clock)
            t0 = time.perf_counter()
            with kluis.db.sessions() as session:
                result = audit_log.verify(session, key)
            print(f"{tag} verify: {'OK' if result.ok else 'BROKEN'}, {result.checked:,} events in "
                  f"{time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
