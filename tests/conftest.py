"""Fixtures: a fresh Kluis on a fresh database (SQLite by default, PostgreSQL with KLUIS_TEST_DATABASE_URL)."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from kluis import schema
from kluis.app import create_app
from kluis.config import Settings
from kluis.demo.datasets import create_demo_schemas
from kluis.kit.clock import SettableClock
from kluis.vault.crypto import new_secret
from kluis.wiring import Kluis, build

SERVER_URL = os.environ.get("KLUIS_TEST_DATABASE_URL")  # e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test


@pytest.fixture
def clock() -> SettableClock:
    return SettableClock(datetime(2026, 11, 25, 12, 0, tzinfo=UTC))


@pytest.fixture
def database_urls(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """(data URL, key-store URL). On a server: a fresh database for the data and one for keys, dropped after."""
    if not SERVER_URL:
        yield f"sqlite:///{tmp_path / 'kluis.db'}", f"sqlite:///{tmp_path / 'kluis-keys.db'}"
        return
    base = make_url(SERVER_URL)
    names = [f"kluis_t_{uuid.uuid4().hex[:12]}", f"kluis_k_{uuid.uuid4().hex[:12]}"]
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        for name in names:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield tuple(base.set(database=n).render_as_string(hide_password=False) for n in names)  # type: ignore[misc]
    finally:
        with admin.connect() as conn:
            for name in names:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def empty_datasets(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The demo dataset schemas, empty, made once: each test gets its own copy of the files."""
    folder = tmp_path_factory.mktemp("datasets")
    files = {name: folder / f"{name}.db" for name in ("benmobiel", "webinars")}
    create_demo_schemas({name: f"sqlite:///{path}" for name, path in files.items()}, [],
                        datetime(2026, 1, 1, tzinfo=UTC))
    return files


@pytest.fixture
def settings(database_urls: tuple[str, str], tmp_path: Path) -> Settings:
    data_url, key_url = database_urls
    # The policy's datasets (R-DSR-9) as empty demo databases: a declared dataset without a URL would make
    # every access package wait. tests/integration/test_datasets.py fills them on every kind of server.
    datasets = {name: f"sqlite:///{tmp_path / f'dataset-{name}.db'}" for name in ("benmobiel", "webinars")}
    return Settings(_env_file=None, database_url=data_url, keystore_url=key_url, master_key=new_secret(),
                    index_key=new_secret(), secret_key=new_secret(), certificate_key=new_secret(),
                    dataset_urls=datasets)


@pytest.fixture
def kluis(settings: Settings, clock: SettableClock, empty_datasets: dict[str, Path]) -> Iterator[Kluis]:
    instance = build(settings, clock=clock)
    schema.upgrade(instance.db)
    for name, url in settings.dataset_urls.items():
        shutil.copyfile(empty_datasets[name], url.get_secret_value().removeprefix("sqlite:///"))
    yield instance
    instance.close()


@pytest.fixture
def client(kluis: Kluis) -> Iterator[TestClient]:
    with TestClient(create_app(kluis)) as test_client:
        yield test_client
