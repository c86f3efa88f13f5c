"""Gate decisions: in-process (batches) and over HTTP (single questions, load from a second process),
each beside a raw SQL lookup of the same facts in the same run.

    python bench/gate.py --people 20000 --backend postgresql

The population is written through the vault and the gate's own services (consent, objection, relation).
The HTTP load comes from separate client processes on loopback, each a lean raw-socket client (prebuilt
keep-alive requests; every response read in full, its status checked for 200 and its body parsed as JSON),
so that the client's own CPU on a small machine is not what is measured.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import bindparam, text

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import fresh_kluis  # noqa: E402

from kluis.access.service import create_key  # noqa: E402
from kluis.gate.service import FACTS_PG, uuid_array  # noqa: E402
from kluis.vault.schemas import PersonIn  # noqa: E402

PURPOSES = ["marketing_email", "profiling", "accounts", "security"]
RAW = text("SELECT p.id, p.shredded_at, g.restricted, g.objections, g.consents, g.relations FROM person p "
           "LEFT JOIN gate_state g ON g.person_id = p.id WHERE p.id IN :ids").bindparams(
    bindparam("ids", expanding=True))


def populate(kluis, people: int) -> list:
    rng = random.Random(11)
    ids = []
    for start in range(0, people, 1000):
        with kluis.db.transaction() as session:
            created = kluis.vault(session, "bench").create_people(
                [PersonIn(subject_types=["lead"]) for _ in range(min(1000, people - start))])
            gate, consents = kluis.gate(session, "bench"), kluis.consents(session, "bench")
            for person in created:
                roll = rng.random()
                if roll < 0.4:
                    consents.give(person.id, "marketing_email", method="form", notice_text="Ja graag.", lang="nl")
                if roll < 0.3:
                    gate.add_relation(person.id, "account")
                if roll > 0.95:
                    gate.object(person.id, "profiling", "person")
                ids.append(person.id)
    return ids


def in_process(kluis, ids: list, rounds: int = 5) -> tuple[float, float, float | None]:
    """(gate decisions/s, raw SQL lookup people/s, driver-level fetch people/s or None off PostgreSQL).
    The driver-level fetch is the floor: the gate's own statement (one uuid[] parameter per 10,000 people)
    run on the driver's cursor, rows left undecoded."""
    questions = [(pid, PURPOSES[i % len(PURPOSES)]) for i, pid in enumerate(ids)]
    best_gate = best_raw = best_driver = float("inf")
    pg = kluis.db.dialect == "postgresql"
    for _ in range(rounds):
        with kluis.db.sessions() as session:
            t0 = time.perf_counter()
            for start in range(0, len(questions), 10_000):
                kluis.gate(session, "bench").decide_many(questions[start:start + 10_000])
            best_gate = min(best_gate, time.perf_counter() - t0)
        with kluis.db.engine.connect() as conn:
            t0 = time.perf_counter()
            for start in range(0, len(ids), 1000):
                conn.execute(RAW, {"ids": [i if pg else i.hex for i in ids[start:start + 1000]]}).all()
            best_raw = min(best_raw, time.perf_counter() - t0)
            if pg:
                t0 = time.perf_counter()
                with conn.connection.cursor() as cursor:
                    for start in range(0, len(ids), 10_000):
                        cursor.execute(FACTS_PG, (uuid_array(ids[start:start + 10_000]),))
                        cursor.fetchall()
                best_driver = min(best_driver, time.perf_counter() - t0)
    return len(questions) / best_gate, len(ids) / best_raw, (len(ids) / best_driver if pg else None)


def _requests(port: int, token: str, ids: list[str]) -> list[bytes]:
    """One prebuilt HTTP/1.1 request per question (keep-alive; headers and body in one send)."""
    out = []
    for i, pid in enumerate(ids):
        body = json.dumps({"person_id": pid, "purpose": PURPOSES[i % len(PURPOSES)]}).encode()
        out.append(f"POST /api/v1/decisions HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                   f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"
                   f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
    return out


def _client(port: int, token: str, ids: list[str], seconds: float, out: multiprocessing.Queue) -> None:
    """A lean client: a raw socket sends each prebuilt request and reads the whole response (status line,
    headers, Content-Length bytes of body), refusing anything but 200. http.client spent more CPU per
    request than the server on these two shared cores, so it measured the client."""
    try:
        out.put(_load(port, token, ids, seconds))
    except Exception as exc:  # noqa: BLE001 - reported to the parent, which stops the run
        out.put(f"client failed: {exc!r}")


def _load(port: int, token: str, ids: list[str], seconds: float) -> list[float]:
    requests = _requests(port, token, ids)
    sock = socket.create_connection(("127.0.0.1", port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    latencies, deadline, i, buffer = [], time.perf_counter() + seconds, 0, b""
    while time.perf_counter() < deadline:
        t0 = time.perf_counter()
        sock.sendall(requests[i % len(requests)])
        while (end := buffer.find(b"\r\n\r\n")) < 0:
            chunk = sock.recv(65536)
            if not chunk:
                raise RuntimeError("the server closed the connection")
            buffer += chunk
        head = buffer[:end].decode("latin-1").split("\r\n")
        if head[0].split(" ", 2)[1] != "200":
            raise RuntimeError(f"unexpected {head[0]}")
        length = next(int(h.split(":", 1)[1]) for h in head[1:] if h[:15].lower() == "content-length:")
        while len(buffer) < end + 4 + length:
            chunk = sock.recv(65536)
            if not chunk:
                raise RuntimeError("the server closed the connection")
            buffer += chunk
        json.loads(buffer[end + 4:end + 4 + length])
        buffer = buffer[end + 4 + length:]
        latencies.append(time.perf_counter() - t0)
        i += 1
    sock.close()
    return latencies


def over_http(kluis, ids: list, seconds: float, clients: int, workers: int = 1) -> dict[str, float]:
    with kluis.db.transaction() as session:
        _, token = create_key(session, kluis.clock, kluis.policy, service="bench", purposes=PURPOSES, actor="bench")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = dict(os.environ, KLUIS_DATABASE_URL=kluis.settings.database_url,
               KLUIS_KEYSTORE_URL=kluis.settings.resolved_keystore_url(),
               KLUIS_MASTER_KEY=kluis.settings.master_key.get_secret_value(),
               KLUIS_INDEX_KEY=kluis.settings.index_key.get_secret_value(),
               KLUIS_SECRET_KEY=kluis.settings.secret_key.get_secret_value())
    server = subprocess.Popen([str(Path(sys.executable).parent / "kluis"), "serve", "--port", str(port),
                               "--workers", str(workers)],
                              env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        queue: multiprocessing.Queue = multiprocessing.Queue()
        procs = [multiprocessing.Process(target=_client, args=(port, token, [str(i) for i in ids], seconds, queue))
                 for _ in range(clients)]
        for p in procs:
            p.start()
        results = [queue.get() for _ in procs]
        for p in procs:
            p.join()
        if failed := [r for r in results if isinstance(r, str)]:
            raise SystemExit("; ".join(failed))
        latencies = [x for r in results for x in r]
    finally:
        server.terminate()
        server.wait()
    latencies.sort()
    return {"rps": len(latencies) / seconds, "p50_ms": statistics.median(latencies) * 1000,
            "p99_ms": latencies[int(len(latencies) * 0.99)] * 1000}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--people", type=int, default=20_000)
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="postgresql")
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--workers", type=int, default=1, help="server processes (kluis serve --workers)")
    args = parser.parse_args()
    with fresh_kluis(args.backend) as kluis:
        ids = populate(kluis, args.people)
        gate_rate, raw_rate, driver_rate = in_process(kluis, ids)
        print(f"[{args.backend}] data: {args.people:,} people (40% consent, 30% account, 5% objection)")
        print(f"[{args.backend}] in-process decisions (batches of 10,000): {gate_rate:,.0f} decisions/s")
        print(f"[{args.backend}] raw SQL lookup of the same facts:        {raw_rate:,.0f} people/s")
        print(f"[{args.backend}] ratio gate/raw:                           {gate_rate / raw_rate:.2f}")
        if driver_rate:
            print(f"[{args.backend}] driver-level fetch, same statement, rows undecoded: {driver_rate:,.0f} people/s "
                  f"(ratio gate/driver {gate_rate / driver_rate:.2f})")
        http_figures = over_http(kluis, ids, args.seconds, args.clients, args.workers)
        print(f"[{args.backend}] HTTP single decisions ({args.clients} client processes, "
              f"{args.workers} server process{'es' if args.workers > 1 else ''}): "
              f"{http_figures['rps']:,.0f} requests/s, p50 {http_figures['p50_ms']:.1f} ms, "
              f"p99 {http_figures['p99_ms']:.1f} ms")


if __name__ == "__main__":
    main()
