"""The SQL statements an engine runs while inside a block: how the tests and the benchmarks prove that a page or
a batch costs a fixed number of statements, however much data it covers."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, event


@contextmanager
def statements_run(*engines: Engine, each_parameter_set: bool = False) -> Iterator[list[str]]:
    """The statements SQLAlchemy sends on ``engines`` while inside, in order (not those sent on the driver's own
    cursor). With ``each_parameter_set``, an executemany counts once per parameter set: psycopg sends PostgreSQL
    one statement for each, where SQLite's driver steps one prepared statement in process."""
    seen: list[str] = []

    def listen(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, executemany: bool) -> None:
        seen.extend([statement] * (len(parameters) if executemany and each_parameter_set else 1))

    listening = set(engines)
    for engine in listening:
        event.listen(engine, "before_cursor_execute", listen)
    try:
        yield seen
    finally:
        for engine in listening:
            event.remove(engine, "before_cursor_execute", listen)
