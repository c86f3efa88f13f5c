"""How every Kluis process logs: one format, the level from ``KLUIS_LOG_LEVEL`` (ids and counts only, never
personal data)."""

from __future__ import annotations

import logging
import os


def configure() -> None:
    """Log to standard error at ``KLUIS_LOG_LEVEL`` (INFO by default); Alembic only when something is wrong."""
    logging.basicConfig(level=os.environ.get("KLUIS_LOG_LEVEL", "INFO"), format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
