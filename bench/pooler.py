"""A real pgbouncer in transaction mode in front of PostgreSQL databases, for the benchmarks and the tests
(docs/scaling.md): started from Debian's package (`scripts/install-test-tools.sh`) on a free port, as the
postgres user when run as root (pgbouncer refuses root), with a configuration in a temporary folder that is
removed after. Standard library and SQLAlchemy's URL only, so the tests can import it too."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

BINARY = "/usr/sbin/pgbouncer"


def find_pgbouncer() -> str | None:
    return shutil.which("pgbouncer") or (BINARY if Path(BINARY).exists() else None)


def require_pgbouncer() -> str:
    found = find_pgbouncer()
    if found is None:
        raise SystemExit("pgbouncer is missing: this benchmark starts one from Debian's package "
                         "(apt-get install -y pgbouncer)")
    return found


@contextmanager
def pgbouncer(*urls: str, pool_size: int = 8) -> Iterator[tuple[str, ...]]:
    """A pgbouncer in transaction mode in front of the databases the SQLAlchemy ``urls`` name (one server user,
    trust authentication); yields the same URLs through it, in order."""
    binary = require_pgbouncer()
    parsed = [make_url(url) for url in urls]
    folder = Path(tempfile.mkdtemp(prefix="kluis-pgbouncer-"))
    port = free_port()
    databases = "".join(f"{u.database} = host={u.host} port={u.port or 5432} dbname={u.database}\n"
                        for u in {u.database: u for u in parsed}.values())
    (folder / "users.txt").write_text("".join(f'"{name}" ""\n' for name in {u.username for u in parsed}))
    (folder / "pgbouncer.ini").write_text(
        f"[databases]\n{databases}[pgbouncer]\n"
        f"listen_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n"
        f"auth_type = trust\nauth_file = {folder / 'users.txt'}\n"
        f"pool_mode = transaction\nmax_client_conn = 2000\ndefault_pool_size = {pool_size}\n"
        f"logfile = {folder / 'pgbouncer.log'}\npidfile = {folder / 'pgbouncer.pid'}\n")
    command = [binary, str(folder / "pgbouncer.ini")]
    if os.geteuid() == 0:
        for path in (folder, *folder.iterdir()):
            shutil.chown(path, "postgres")
        command = ["runuser", "-u", "postgres", "--", *command]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        _wait_for_port(port, process)
        yield tuple(u.set(port=port, host="127.0.0.1").render_as_string(hide_password=False) for u in parsed)
    finally:
        process.terminate()
        process.wait(timeout=30)
        shutil.rmtree(folder, ignore_errors=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for_port(port: int, process: subprocess.Popen[Any], timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"pgbouncer exited: {process.stderr.read().decode() if process.stderr else ''}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit("pgbouncer did not listen in time")


