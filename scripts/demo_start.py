"""How long `kluis demo` takes from its start until it serves (issue 19 §4): seconds until /health answers 200,
and the CPU seconds the demo's process used until then.

    .venv/bin/python scripts/demo_start.py [--runs N] [--src PATH]

Each run starts `kluis demo` in an empty scratch directory (its own database, keys and mail catcher, no KLUIS_*
variables: as a newcomer starts it) on free ports, asks for /health every 0.1 s, and stops the demo once it answers.
``--src`` puts another checkout's ``src`` first on the path, to measure it with the same installation.
"""

from __future__ import annotations

import argparse
import http.client
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

KLUIS = Path(sys.executable).with_name("kluis")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _healthy(port: int) -> bool:
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        conn.request("GET", "/health")
        return conn.getresponse().status == 200
    except OSError:
        return False


def _cpu_seconds(pid: int) -> float:
    """User and system time of the process so far (Linux: /proc/<pid>/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def one_run(src: str | None) -> tuple[float, float]:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("KLUIS_")}
    env["KLUIS_SMTP_PORT"] = str(_free_port())
    if src:
        env["PYTHONPATH"] = src
    with tempfile.TemporaryDirectory(prefix="kluis-demo-start-") as folder:
        started = time.perf_counter()
        demo = subprocess.Popen([str(KLUIS), "demo", "--port", str(port)], cwd=folder, env=env,  # noqa: S603
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        try:
            while not _healthy(port):
                if demo.poll() is not None:
                    raise SystemExit(f"kluis demo exited with {demo.returncode} before it served")
                time.sleep(0.1)
            return time.perf_counter() - started, _cpu_seconds(demo.pid)
        finally:
            os.killpg(demo.pid, signal.SIGTERM)
            demo.wait(60)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--src", help="a checkout's src directory, put first on the path")
    args = parser.parse_args()
    for _ in range(args.runs):
        wall, cpu = one_run(args.src)
        print(f"/health after {wall:.1f} s (CPU {cpu:.1f} s), load {os.getloadavg()[0]:.1f}", flush=True)


if __name__ == "__main__":
    main()
