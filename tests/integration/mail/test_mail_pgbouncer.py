"""Claims through pgbouncer in transaction mode (issue 20 §3, R-VLT-1): each transaction may get another server
connection, so nothing may rest on a session: no statement prepared on the server (psycopg prepares after five
runs), no temporary table, no lock held across transactions. KLUIS_DB_PREPARE_THRESHOLD=none turns preparing off;
two workers through one pgbouncer then send every queued message exactly once."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from sqlalchemy import text
from tests.pooling import bounced_databases

from kluis.config import Settings
from kluis.db import make_engine
from kluis.mail.models import Outbox
from kluis.mail.worker import MailPoller
from kluis.wiring import build

pytestmark = pytest.mark.postgres


@pytest.fixture
def bounced(settings: Settings) -> Iterator[tuple[str, str]]:
    """The test's two databases through a pgbouncer in transaction mode with ONE server connection per database:
    every transaction of every client takes turns on it."""
    with bounced_databases(settings, pool_size=1) as urls:
        yield urls


def _run_twice_on_two_clients(url: str, prepare_threshold: int | None) -> None:
    engine = make_engine(url, pool_size=2, max_overflow=0, prepare_threshold=prepare_threshold)
    try:
        with engine.connect() as first, engine.connect() as second:
            for _ in range(3):
                for conn in (first, second):
                    conn.execute(text("SELECT count(*) FROM outbox WHERE state = :s"), {"s": "queued"})
                    conn.commit()
    finally:
        engine.dispose()


def test_issue_20_3_without_preparing_the_same_statements_run_behind_pgbouncer(bounced):
    _run_twice_on_two_clients(bounced[0], prepare_threshold=None)


def test_issue_20_3_two_mail_workers_through_pgbouncer_send_each_message_once(kluis, desk, relay, settings, bounced):
    """Twelve messages queued; two workers, each a Kluis of its own through pgbouncer with preparing off, claim
    in batches of two until nothing is due (more than five runs of every claim statement on each). Every
    message arrives once and is marked sent once."""
    addresses = [f"klant{n}@voorbeeld.nl" for n in range(12)]
    queued = [desk.queue(desk.add_person(address)) for address in addresses]
    through = settings.model_copy(update={"database_url": bounced[0], "keystore_url": bounced[1],
                                          "db_prepare_threshold": None, "db_pool_size": 2, "db_max_overflow": 0})
    workers = [build(through, clock=kluis.clock) for _ in range(2)]
    errors: list[BaseException] = []

    def drain(worker_kluis) -> None:
        poller = MailPoller(random=lambda: 0.5, batch=2)
        try:
            while poller.poll(worker_kluis) > 0:
                pass
        except BaseException as exc:  # noqa: BLE001 - reported by the test below
            errors.append(exc)

    threads = [threading.Thread(target=drain, args=(worker,)) for worker in workers]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    finally:
        for worker in workers:
            worker.close()
    assert not errors, errors
    assert sorted(rcpt for received in relay.received for rcpt in received.to) == sorted(addresses)
    with kluis.db.sessions() as session:
        states = [session.get(Outbox, outbox_id).state for outbox_id in queued]
    assert states == ["sent"] * len(queued)
