"""Gate decisions: in-process (batches) beside one plain driver-level statement reading the same facts, in the
same run; and over HTTP (single questions, load from other processes; an absolute target, no baseline).

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
import random
import socket
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (  # noqa: E402
    add_database_url,
    free_port,
    fresh_kluis,
    kluis_command,
    load_average,
    running,
    server_env,
)

from kluis.access.service import create_key  # noqa: E402
from kluis.gate.service import uuid_array  # noqa: E402
from kluis.vault.schemas import PersonIn  # noqa: E402

PURPOSES = ["marketing_email", "profiling", "accounts", "security"]
# The baseline: every person's facts (person row and current-facts row) in ONE statement with one parameter, on the
# driver's cursor, the JSON columns as text, rows fetched and not decoded further.
_FACTS = ("SELECT p.id, p.shredded_at IS NOT NULL, g.restricted, CAST(g.objections AS TEXT), "
          "CAST(g.consents AS TEXT), CAST(g.relations AS TEXT) FROM person p "
          "LEFT JOIN gate_state g ON g.person_id = p.id WHERE ")
PLAIN = {"postgresql": _FACTS + "p.id = ANY(%s::uuid[])", "sqlite": _FACTS + "p.id IN (SELECT value FROM json_each(?))"}


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


def in_process(kluis, ids: list, rounds: int = 5) -> tuple[float, float]:
    """(gate decisions/s, plain statement people/s), the best of ``rounds`` each, on the same people: the gate
    answers one question per person in batches of 10,000; the baseline reads the same facts in one statement."""
    questions = [(pid, PURPOSES[i % len(PURPOSES)]) for i, pid in enumerate(ids)]
    best_gate = best_plain = float("inf")
    pg = kluis.db.dialect == "postgresql"
    for _ in range(rounds):
        with kluis.db.sessions() as session:
            t0 = time.perf_counter()
            for start in range(0, len(questions), 10_000):
                kluis.gate(session, "bench").decide_many(questions[start:start + 10_000])
            best_gate = min(best_gate, time.perf_counter() - t0)
        with kluis.db.engine.connect() as conn:
            cursor = conn.connection.driver_connection.cursor()
            t0 = time.perf_counter()
            parameter = uuid_array(ids) if pg else json.dumps([i.hex for i in ids])
            cursor.execute(PLAIN[kluis.db.dialect], (parameter,))
            found = len(cursor.fetchall())
            best_plain = min(best_plain, time.perf_counter() - t0)
            cursor.close()
            assert found == len(ids)
    return len(questions) / best_gate, len(ids) / best_plain


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
    port = free_port()
    with running(kluis_command("serve", "--port", str(port), "--workers", str(workers)), server_env(kluis),
                 port=port, timeout=300):
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
    parser.add_argument("--http", action=argparse.BooleanOptionalAction, default=True,
                        help="also measure single decisions over HTTP (default: yes)")
    add_database_url(parser)
    args = parser.parse_args()
    with fresh_kluis(args.backend, args.database_url) as kluis:
        ids = populate(kluis, args.people)
        gate_rate, plain_rate = in_process(kluis, ids)
        print(f"[{args.backend}] data: {args.people:,} people (40% consent, 30% account, 5% objection); "
              f"{load_average()}")
        print(f"[{args.backend}] in-process decisions (batches of 10,000): {gate_rate:,.0f} decisions/s")
        print(f"[{args.backend}] one driver-level statement reading the same facts: {plain_rate:,.0f} people/s")
        print(f"[{args.backend}] ratio gate/plain statement:              {gate_rate / plain_rate:.2f}")
        if not args.http:
            return
        http_figures = over_http(kluis, ids, args.seconds, args.clients, args.workers)
        print(f"[{args.backend}] HTTP single decisions ({args.clients} client processes, "
              f"{args.workers} server process{'es' if args.workers > 1 else ''}): "
              f"{http_figures['rps']:,.0f} requests/s, p50 {http_figures['p50_ms']:.1f} ms, "
              f"p99 {http_figures['p99_ms']:.1f} ms")


if __name__ == "__main__":
    main()
