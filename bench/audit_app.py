"""Server factories for bench/audit.py: Kluis as it is, and the same with auditing switched off (``append``
does nothing), so that the audited read is measured beside the same read unaudited, in one run. Benchmark
only: nothing in Kluis can switch auditing off."""

from __future__ import annotations

from typing import Any

from kluis.app import from_settings


def audited() -> Any:
    return from_settings()


def unaudited() -> Any:
    from kluis.audit import service
    from kluis.vault import fastpath

    service.append = lambda *args, **kwargs: None  # type: ignore[assignment]
    fastpath.write_event = lambda *args, **kwargs: None  # the records fast path's own INSERT
    return from_settings()
