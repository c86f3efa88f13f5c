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
from typing import Any

from uvicorn import Config
from uvicorn.config import STARTUP_FAILURE
from uvicorn.supervisors.multiprocess import Multiprocess

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


class Supervisor(Multiprocess):
    """uvicorn's supervisor for ``workers`` server processes on one socket, logging each death and its cause."""

    start_up_failed = False

    def keep_subprocess_alive(self) -> None:
        before = list(self.processes)
        answering = {id(process) for process in before if process.process.is_alive()}
        super().keep_subprocess_alive()
        for index, old in enumerate(before):
            new = self.processes[index]
            if new is old and old.exitcode is None:
                continue
            hung = " after it stopped answering the health check" if id(old) in answering else ""
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
