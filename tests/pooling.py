"""The test's databases through a real pgbouncer in transaction mode (issue 20 §3): skipped on SQLite and where
pgbouncer is not installed, and a failure in CI, where scripts/install-test-tools.sh must have installed it."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from bench.pooler import find_pgbouncer, pgbouncer

from kluis.config import Settings


@contextmanager
def bounced_databases(settings: Settings, pool_size: int) -> Iterator[tuple[str, str]]:
    """(data URL, key store URL) through one pgbouncer with ``pool_size`` server connections per database."""
    if settings.is_sqlite:
        pytest.skip("pgbouncer pools PostgreSQL connections")
    if find_pgbouncer() is None:
        if os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no"):
            pytest.fail("pgbouncer is missing: in CI it must run (scripts/install-test-tools.sh installs it)",
                        pytrace=False)
        pytest.skip("pgbouncer is missing (scripts/install-test-tools.sh installs it)")
    with pgbouncer(settings.database_url, settings.resolved_keystore_url(), pool_size=pool_size) as urls:
        yield urls  # type: ignore[misc]
