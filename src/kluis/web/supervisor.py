"""`kluis serve --workers N`: uvicorn's process supervisor, saying why a server process died.

uvicorn replaces a server process that died or did not answer its health check, and logs that only at INFO,
without the reason; below WARNING (Kluis's servers run at ``warning``) a worker that keeps dying looks like a
server that is merely slow. This supervisor logs each death with its exit code or signal, and whether the
process had stopped answering. A server process whose start-up raised logs the exception itself
(``kluis.app.from_settings``) and exits with uvicorn's start-up failure code, which stops the supervisor instead of
restarting a process that would fail the same way.
"""

from __future__ import annotations

import logging
import signal
from collections.abc import Callable
from typing import Any

from uvicorn import Config
from uvicorn.config import STARTUP_FAILURE
from uvicorn.supervisors.multiprocess import Multiprocess, Process

log = logging.getLogger("kluis.serve")
# A server process imports the whole application before it serves; on a busy machine that can take longer than
# uvicorn's default of 5 s for a health-check answer, and a process that misses it is killed and started again.
HEALTH_CHECK_SECONDS = 30


def exit_reason(exitcode: int | None) -> str:
    """What a process's exit code says: a signal's name, uvicorn's start-up failure, or the code itself."""
    if exitcode is None:
        return "still running"
    if exitcode < 0:
        try:
            return f"killed by {signal.Signals(-exitcode).name}"
        except ValueError:
            return f"killed by signal {-exitcode}"
    if exitcode == STARTUP_FAILURE:
        return f"start-up failed (exit code {exitcode})"
    return f"exit code {exitcode}"


def _noting_kill(process: Process, killed_running: set[int]) -> Callable[[], None]:
    """uvicorn's kill of ``process``, noting first whether the process was still running."""

    def kill() -> None:
        if process.process.is_alive():
            killed_running.add(id(process))
        Process.kill(process)

    return kill


class Supervisor(Multiprocess):
    """uvicorn's supervisor for ``workers`` server processes on one socket, logging each death and its cause."""

    start_up_failed = False

    def keep_subprocess_alive(self) -> None:
        before = list(self.processes)
        # Hung means uvicorn had to kill a process still running. Noted at the kill itself: a process that died
        # while its health check waited (killed from outside) fails the check too, but was dead when uvicorn
        # came to kill it, and is reported as the death it was.
        killed_running: set[int] = set()
        for process in before:
            process.kill = _noting_kill(process, killed_running)  # type: ignore[method-assign]
        try:
            super().keep_subprocess_alive()
        finally:
            for process in before:
                del process.kill
        for index, old in enumerate(before):
            new = self.processes[index]
            if new is old and old.exitcode is None:
                continue
            hung = " after it stopped answering the health check" if id(old) in killed_running else ""
            if old.exitcode == STARTUP_FAILURE:
                self.start_up_failed = True
            if new is old:
                log.error("server process %s died%s: %s; stopping", old.pid, hung, exit_reason(old.exitcode))
            else:
                log.warning("server process %s died%s: %s; started %s in its place", old.pid, hung,
                            exit_reason(old.exitcode), new.pid)


def run(app: str, *, host: str, port: int, workers: int, **options: Any) -> bool:
    """Serve the application factory ``app`` ("module:function") from ``workers`` processes until told to stop;
    False when a process could not start."""
    config = Config(app, factory=True, host=host, port=port, workers=workers,
                    timeout_worker_healthcheck=HEALTH_CHECK_SECONDS, **options)
    supervisor = Supervisor(config, sockets=[config.bind_socket()])
    supervisor.run()
    return not supervisor.start_up_failed
