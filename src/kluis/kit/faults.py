"""Fault injection for crash tests: ``KLUIS_FAULT_KILL_AT=N`` makes the process SIGKILL itself at the
N-th checkpoint it passes (counted per process). Unset — always, outside those tests — it costs one
dictionary lookup. Long jobs call ``checkpoint`` between and inside their transactions so a test can
prove that a job killed at each of those points finishes when run again."""

from __future__ import annotations

import os
import signal

_passed = 0


def checkpoint(name: str) -> None:
    global _passed
    target = os.environ.get("KLUIS_FAULT_KILL_AT")
    if not target:
        return
    _passed += 1
    if _passed == int(target):
        os.kill(os.getpid(), signal.SIGKILL)
