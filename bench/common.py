"""Shared set-up of the benchmarks: a fresh Kluis on a fresh SQLite file or PostgreSQL database; a Kluis server
started and waited for on its /health; wrk run and read."""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

import kluis.subscriptions  # noqa: F401 - installs who reacts to which domain event
from kluis import schema
from kluis.config import Settings
from kluis.kit.secrets import new_secret
from kluis.wiring import Kluis, build

# The PostgreSQL server each benchmark creates its own database on (and drops it after); --database-url overrides.
PG_URL = os.environ.get("KLUIS_BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
BENCH_DIR = Path(__file__).resolve().parent

# Progress of long steps (filling, sweeping) is logged when output is not a terminal (kluis.kit.cli.progress).
logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
for quiet in ("alembic", "httpx"):
    logging.getLogger(quiet).setLevel(logging.WARNING)


@contextmanager
def _ready(settings: Settings) -> Iterator[Kluis]:
    kluis = build(settings)
    schema.upgrade(kluis.db)
    kluis.register_policy()
    try:
        yield kluis
    finally:
        kluis.close()


@contextmanager
def fresh_kluis(backend: str, pg_url: str = PG_URL) -> Iterator[Kluis]:
    keys = {"master_key": new_secret(), "index_key": new_secret(), "secret_key": new_secret(),
            "certificate_key": new_secret(), "audit_key": new_secret()}
    if backend == "sqlite":
        with tempfile.TemporaryDirectory(prefix="kluis-bench-") as tmp, _ready(
                Settings(_env_file=None, database_url=f"sqlite:///{Path(tmp) / 'kluis.db'}", **keys)) as kluis:
            yield kluis
        return
    base = make_url(pg_url)
    name = f"kluis_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        url = base.set(database=name).render_as_string(False)
        with _ready(Settings(_env_file=None, database_url=url, **keys)) as kluis:
            yield kluis
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def pg_filler(kluis: Kluis, people: int, records_per_person: int, batch: int = 100_000,
              on_batch=None) -> None:  # type: ignore[no-untyped-def]
    """Fill a PostgreSQL vault with people who are never read: the realistic bulk (index depth, table
    size) around the people a benchmark measures. One e-mail identifier each (random digest and
    bytes), records with random bytes for ciphertext; no keys (nobody opens them). Set-based SQL."""
    with kluis.db.engine.begin() as conn:
        for start in range(0, people, batch):
            n = min(batch, people - start)
            conn.execute(text("CREATE TEMP TABLE IF NOT EXISTS filler (id uuid)"))
            conn.execute(text("INSERT INTO filler SELECT gen_random_uuid() FROM generate_series(1, :n)"), {"n": n})
            conn.execute(text(
                "INSERT INTO person (id, subject_types, employer_id, created_at, updated_at) "
                "SELECT id, '[\"lead\"]'::json, NULL, now(), now() FROM filler"))
            conn.execute(text(
                "INSERT INTO identifier (id, person_id, kind, scope, digest, ciphertext, created_at) "
                "SELECT gen_random_uuid(), id, 'email', '', sha256(id::text::bytea), "
                "sha256(('c' || id::text)::bytea), now() FROM filler"))
            conn.execute(text("INSERT INTO identifier_lookup (digest, kind, scope, person_id) "
                              "SELECT sha256(id::text::bytea), 'email', '', id FROM filler"))
            conn.execute(text(
                "INSERT INTO record (id, person_id, category, purposes, legal_basis, source, controller, "
                "controller_employer_id, content_kind, media_type, ciphertext, policy_version, collected_at, "
                "last_activity_at, created_at, updated_at) "
                "SELECT gen_random_uuid(), f.id, (ARRAY['basic','interests','account','content','web_traffic'])"
                "[1 + (g % 5)], '[\"accounts\"]'::json, 'contract', 'direct', 'benvitaal', NULL, 'json', NULL, "
                "sha256(f.id::text::bytea) || sha256(g::text::bytea) || sha256(f.id::text::bytea), NULL, "
                "now(), now(), now(), now() FROM filler f CROSS JOIN generate_series(1, :per) g"),
                {"per": records_per_person})
            conn.execute(text("DELETE FROM filler"))
            if on_batch:
                on_batch(n)
        for table in ("person", "identifier", "identifier_lookup", "record"):
            conn.execute(text(f"ANALYZE {table}"))


def add_database_url(parser: argparse.ArgumentParser) -> None:
    """Every benchmark's ``--database-url``: the PostgreSQL server to run against."""
    parser.add_argument("--database-url", default=PG_URL,
                        help="PostgreSQL server (any database on it, as a SQLAlchemy URL) on which the benchmark "
                             "creates a fresh database and drops it after; the user needs CREATE DATABASE "
                             "(default: $KLUIS_BENCH_DATABASE_URL or %(default)s)")


def server_env(kluis: Kluis, **extra: str) -> dict[str, str]:
    """The environment of a ``kluis`` process (server, worker) on the benchmark's database and keys."""
    s = kluis.settings
    env = dict(os.environ, KLUIS_DATABASE_URL=s.database_url, KLUIS_KEYSTORE_URL=s.resolved_keystore_url(),
               KLUIS_LOG_LEVEL="WARNING")
    for name in ("master_key", "index_key", "secret_key", "certificate_key", "audit_key"):
        secret = getattr(s, name)
        if secret is not None:
            env[f"KLUIS_{name.upper()}"] = secret.get_secret_value()
    env.update(extra)
    return env


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_healthy(port: int, process: subprocess.Popen[Any] | None = None, timeout: float = 120.0) -> None:
    """Poll the server's /health until it answers ``status: ok`` (every server process that will take requests
    has then started or is about to: uvicorn's workers share the socket); fail if the server exits or the time
    runs out, instead of measuring a server that is not there."""
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise SystemExit(f"the server exited with {process.returncode} before /health answered")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as answer:
                if json.load(answer).get("status") == "ok":
                    return
        except (OSError, ValueError, urllib.error.URLError) as exc:
            last = repr(exc)
        time.sleep(0.2)
    raise SystemExit(f"the server's /health did not answer ok within {timeout:.0f} s ({last})")


@contextmanager
def running(command: Sequence[str], env: dict[str, str], port: int | None = None,
            timeout: float = 120.0) -> Iterator[subprocess.Popen[Any]]:
    """A process for the length of the block (terminated and waited for after); with ``port``, a server waited
    for on its /health. Its standard error goes to a file, never to a pipe nobody reads (a server logging
    tracebacks under load would block on a full pipe and turn errors into timeouts); the file is named in
    ``process.log_path`` and its last lines are printed when the process dies or errors were logged."""
    log = tempfile.NamedTemporaryFile(prefix="kluis-bench-", suffix=".log", delete=False)  # noqa: SIM115
    process = subprocess.Popen(list(command), env=env, stdout=subprocess.DEVNULL, stderr=log)
    process.log_path = log.name  # type: ignore[attr-defined]
    try:
        if port is not None:
            try:
                wait_healthy(port, process, timeout)
            except SystemExit as exc:
                process.terminate()
                process.wait(timeout=30)
                raise SystemExit(f"{exc}\n{tail(log.name)}") from None
        yield process
    finally:
        if process.poll() is None:
            process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
        if re.search(r"Traceback|ERROR|Error", text := Path(log.name).read_text(errors="replace")):
            print(f"`{' '.join(command)[-80:]}` logged errors ({log.name}):\n{text[-3000:]}",
                  file=sys.stderr)
        else:
            Path(log.name).unlink(missing_ok=True)


def tail(path: str, size: int = 2000) -> str:
    return Path(path).read_text(errors="replace")[-size:]


def kluis_command(*args: str) -> list[str]:
    return [str(Path(sys.executable).parent / "kluis"), *args]


def require_wrk() -> None:
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is missing: this benchmark drives the server with wrk, Debian's package "
                         "(apt-get install -y wrk); it is not a Python dependency")


def wrk(url: str, *, seconds: float, connections: int, threads: int = 2, headers: Sequence[str] = (),
        script: str | None = None, args: Sequence[str] = (), timeout: str = "2s") -> dict[str, float]:
    """Run wrk with --latency (and a Lua script from bench/, run with bench/ as the working directory) and read
    its report: requests/s, p50, p99 (ms), requests, answers other than 2xx, socket errors and timeouts."""
    command = ["wrk", f"-t{min(threads, connections)}", f"-c{connections}", f"-d{seconds:g}s", "--latency",
               "--timeout", timeout]
    for header in headers:
        command += ["-H", header]
    if script:
        command += ["-s", script]
    command.append(url)
    if args:
        command += ["--", *args]
    out = subprocess.run(command, capture_output=True, text=True, check=True, cwd=BENCH_DIR).stdout

    def number(pattern: str) -> float:
        found = re.search(pattern, out)
        return float(found.group(1)) if found else 0.0

    def ms(label: str) -> float:
        found = re.search(rf"{label}\s+([\d.]+)(us|ms|s)\b", out)
        if not found:
            return float("nan")
        return float(found.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[found.group(2)]

    for line in re.findall(r"^first non-2xx: .*$", out, re.MULTILINE)[:2]:
        print(f"  wrk: {line}", flush=True)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    connect, read, write, timeouts = (int(n) for n in errors.groups()) if errors else (0, 0, 0, 0)
    # The scripts count answers outside 200-299 themselves (wrk's own count lets 3xx pass); without a script,
    # wrk's count.
    counted = re.search(r"non-2xx: (\d+)", out)
    non2xx = int(counted.group(1)) if counted else int(number(r"Non-2xx or 3xx responses: (\d+)"))
    return {"rps": number(r"Requests/sec:\s+([\d.]+)"), "p50": ms("50%"), "p99": ms("99%"),
            "requests": number(r"(\d+) requests in"), "non2xx": non2xx, "socket_errors": connect + read + write,
            "timeouts": timeouts}


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f}"
