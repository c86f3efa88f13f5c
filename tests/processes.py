"""`kluis ...` in a real process of its own, started from a warm fork server instead of a new interpreter.

The crash tests kill a `kluis erasure run` process at each of its checkpoints (``KLUIS_FAULT_KILL_AT``): dozens of
processes a test. A new interpreter spends most of its life importing Kluis (a second or more of CPU, many under
load), so each test spent most of its time on start-ups. Here a fork server (multiprocessing's ``forkserver``) imports
Kluis once, before it has a database connection or a thread; every run is a child forked from it: a process of its
own, with its own environment, working folder, connections and checkpoint count, and a SIGKILL ends it as it ends
a new interpreter. The test's own connections are never in the child (it is forked from the server, not from the
test).
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

PRELOAD = ["kluis.cli", "kluis.subscriptions", "kluis.erasure.commands", "kluis.wiring"]
_context = multiprocessing.get_context("forkserver")
_context.set_forkserver_preload(PRELOAD)


@dataclass(frozen=True)
class Finished:
    returncode: int  # negative: killed by that signal, as subprocess reports it
    output: str  # stdout and stderr together, in the order written


def _child(args: list[str], env: dict[str, str], cwd: str, output: str) -> None:
    fd = os.open(output, os.O_WRONLY | os.O_TRUNC)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    sys.stdout = open(1, "w", closefd=False)  # noqa: SIM115 - the process's own standard streams
    sys.stderr = open(2, "w", closefd=False)  # noqa: SIM115
    os.environ.clear()
    os.environ.update(env)
    os.chdir(cwd)
    sys.argv = ["kluis", *args]
    code = 0
    try:
        from kluis.cli import main

        main()
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
    os._exit(code)


def run_kluis(args: list[str], env: dict[str, str], cwd: Path, timeout: float = 120) -> Finished:
    """`kluis ARGS` with exactly ``env`` as its environment, in ``cwd``; its exit code and output."""
    with tempfile.NamedTemporaryFile(prefix="kluis-run-", suffix=".log", dir=cwd) as log:
        process = _context.Process(target=_child, args=(args, env, str(cwd), log.name))
        process.start()
        process.join(timeout)
        if process.exitcode is None:
            process.kill()
            process.join()
            raise TimeoutError(f"kluis {' '.join(args)} ran longer than {timeout} s")
        code = process.exitcode
        process.close()
        return Finished(code, Path(log.name).read_text())
