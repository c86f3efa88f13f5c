"""A PostgreSQL primary and a streaming replica of it, each a fresh cluster in a temporary folder on a free port of
this machine, the replica the primary's synchronous standby: what KLUIS_READ_DATABASE_URL is for (docs/gate.md).
Used by the replica tests and by bench/replica.py; started in a few seconds, removed whatever happens."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

STANDBY_NAME = "kluis_replica"  # the replica's application_name, named in the primary's synchronous_standby_names
DATABASE = "kluis"


def server_binaries() -> Path | None:
    """The folder of initdb, pg_ctl, pg_basebackup and psql of one version (where PATH's initdb really lives,
    then Debian's versioned folders, newest first), or None."""
    found = shutil.which("initdb")
    candidates = [Path(found).resolve().parent] if found else []
    candidates += [Path(f) for f in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)]
    for folder in candidates:
        if all((folder / tool).exists() for tool in ("initdb", "pg_ctl", "pg_basebackup", "psql")):
            return folder
    return None


def missing() -> str | None:
    """Why a pair cannot be started on this machine (None: it can)."""
    if server_binaries() is None:
        return "initdb/pg_basebackup not found (PATH, /usr/lib/postgresql/*/bin): install the PostgreSQL server"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root without a 'postgres' OS user to run the clusters as"
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class Pair:
    primary_port: int
    replica_port: int

    def url(self, port: int, database: str = DATABASE) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{port}/{database}"

    @property
    def primary_url(self) -> str:
        return self.url(self.primary_port)

    @property
    def replica_url(self) -> str:
        return self.url(self.replica_port)


@contextmanager
def primary_and_replica(durable: bool = False) -> Iterator[Pair]:
    """Start the pair (database ``kluis`` made on the primary, present on both); stop both (immediate) and remove
    their folders on the way out, also when starting failed half-way. ``durable``: commits are flushed to disk as
    on a real server (a benchmark's figures); tests do without (replay on the standby is what they look at)."""
    reason = missing()
    if reason is not None:
        raise RuntimeError(reason)
    binaries = server_binaries()
    assert binaries is not None
    as_owner: list[str] = []
    root = Path(tempfile.mkdtemp(prefix="kluis-replication-"))
    if os.geteuid() == 0:  # PostgreSQL will not run as root: the clusters belong to the postgres OS user
        owner = pwd.getpwnam("postgres")
        os.chown(root, owner.pw_uid, owner.pw_gid)
        as_owner = ["runuser", "-u", "postgres", "--"]
    primary, replica = root / "primary", root / "replica"
    ports = Pair(_free_port(), _free_port())
    started: list[Path] = []

    def run(*command: str | Path) -> None:
        done = subprocess.run([*as_owner, *map(str, command)], capture_output=True, text=True, timeout=60)
        if done.returncode != 0:
            raise RuntimeError(f"{Path(command[0]).name} failed: {done.stderr.strip() or done.stdout.strip()}")

    def start(folder: Path) -> None:
        run(binaries / "pg_ctl", "-D", folder, "-l", root / f"{folder.name}.log", "-w", "-t", "30", "start")
        started.append(folder)

    try:
        run(
            binaries / "initdb",
            "-D",
            primary,
            "-U",
            "postgres",
            "-A",
            "trust",
            "--no-sync",
            "-E",
            "UTF8",
            "--locale",
            "C",
        )
        _append(
            primary / "postgresql.conf",
            {
                "port": ports.primary_port,
                "listen_addresses": "'127.0.0.1'",
                "unix_socket_directories": f"'{root}'",
                "wal_level": "replica",
                "max_wal_senders": 4,
                "synchronous_standby_names": f"'{STANDBY_NAME}'",
                "fsync": "on" if durable else "off",
                "full_page_writes": "on" if durable else "off",
                "shared_buffers": "'32MB'",
            },
        )
        start(primary)
        run(
            binaries / "pg_basebackup",
            "-h",
            "127.0.0.1",
            "-p",
            str(ports.primary_port),
            "-U",
            "postgres",
            "-D",
            replica,
            "-R",
            "-X",
            "stream",
            "--no-sync",
            "-c",
            "fast",
        )
        _append(
            replica / "postgresql.auto.conf",
            {
                "port": ports.replica_port,
                "hot_standby": "on",
                "primary_conninfo": f"'host=127.0.0.1 port={ports.primary_port} user=postgres "
                f"application_name={STANDBY_NAME}'",
            },
        )
        start(replica)
        # Committed only once the standby has it (synchronous_standby_names): the replica has the database too.
        run(
            binaries / "psql",
            "-h",
            "127.0.0.1",
            "-p",
            str(ports.primary_port),
            "-U",
            "postgres",
            "-d",
            "postgres",
            "-q",
            "-c",
            f"CREATE DATABASE {DATABASE}",
        )
        yield ports
    finally:
        for folder in reversed(started):
            subprocess.run(
                [*as_owner, str(binaries / "pg_ctl"), "-D", str(folder), "-m", "immediate", "stop"],
                capture_output=True,
                timeout=60,
            )
        shutil.rmtree(root, ignore_errors=True)


def _append(path: Path, settings: dict[str, object]) -> None:
    with path.open("a") as fh:
        fh.writelines(f"{name} = {value}\n" for name, value in settings.items())
