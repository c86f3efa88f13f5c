"""Connections to the service databases: one engine per connection name, made on first use and kept.

Any failure to reach a database, or a URL that does not work, becomes ``DatasetUnavailable`` with a message
for staff; the URL is shown without its password.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from kluis.datasets.errors import DatasetUnavailable
from kluis.datasets.rules import staff_message
from kluis.db import ping_when_idle
from kluis.policy.schemas import Dataset

# Seconds to wait for a server that does not answer, so a request is not held for minutes.
CONNECT_TIMEOUT = 10
_TIMEOUT_ARGUMENT = {"postgresql": "connect_timeout", "mysql": "connect_timeout", "mariadb": "connect_timeout"}


class Connections:
    def __init__(self, urls: Mapping[str, str]) -> None:
        self._urls = dict(urls)
        self._engines: dict[str, Engine] = {}
        self._lock = threading.Lock()

    @contextmanager
    def begin(self, dataset: Dataset) -> Iterator[Connection]:
        """One transaction on the dataset's database: committed when the block ends, rolled back on any error."""
        engine = self._engine(dataset)
        if engine.url.get_backend_name() == "sqlite":
            _require_sqlite_file(dataset, engine.url.database)
        try:
            connection = engine.connect()
        except SQLAlchemyError as exc:
            raise DatasetUnavailable(
                f"dataset '{dataset.id}' cannot be reached at {self.shown_url(dataset)}: {staff_message(exc, ())}; "
                "the request waits and is tried again", dataset_id=dataset.id) from exc
        with connection, connection.begin():
            yield connection

    def shown_url(self, dataset: Dataset) -> str:
        url = self._urls.get(dataset.connection)
        if url is None:
            return "(not configured)"
        try:
            return make_url(url).render_as_string(hide_password=True)
        except ArgumentError:
            return "(not a database URL)"

    def close(self) -> None:
        with self._lock:
            engines, self._engines = list(self._engines.values()), {}
        for engine in engines:
            engine.dispose()

    def _engine(self, dataset: Dataset) -> Engine:
        name = dataset.connection
        with self._lock:
            engine = self._engines.get(name)
            if engine is None:
                engine = self._engines[name] = self._create(dataset)
            return engine

    def _create(self, dataset: Dataset) -> Engine:
        url_text = self._urls.get(dataset.connection)
        if not url_text:
            raise DatasetUnavailable(
                f"dataset '{dataset.id}' has no URL: add connection '{dataset.connection}' to KLUIS_DATASET_URLS "
                "(docs/datasets.md); the request waits until it is configured", dataset_id=dataset.id)
        try:
            url = make_url(url_text)
            timeout = _TIMEOUT_ARGUMENT.get(url.get_backend_name())
            return ping_when_idle(create_engine(url, connect_args={timeout: CONNECT_TIMEOUT} if timeout else {}))
        except (ArgumentError, ImportError, SQLAlchemyError) as exc:
            raise DatasetUnavailable(
                f"dataset '{dataset.id}': the URL of connection '{dataset.connection}' does not work "
                f"({type(exc).__name__}: {staff_message(exc, (url_text,))}); fix KLUIS_DATASET_URLS",
                dataset_id=dataset.id
            ) from exc


def _require_sqlite_file(dataset: Dataset, database: str | None) -> None:
    """SQLite would quietly create an empty file at a wrong path; a missing file is a misconfiguration."""
    if not database or database == ":memory:" or database.startswith("file:"):
        raise DatasetUnavailable(f"dataset '{dataset.id}': a SQLite dataset needs the path of its file",
                                 dataset_id=dataset.id)
    if not Path(database).is_file():
        raise DatasetUnavailable(f"dataset '{dataset.id}': the SQLite file {database} does not exist",
                                 dataset_id=dataset.id)
