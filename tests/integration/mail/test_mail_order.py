"""Mail leaves in the order it was written (R-DSR-2, R-CONS-2): a request's step mails queued in one transaction share
one ``next_attempt_at`` (always under a frozen clock; in production whenever two land in the same microsecond), and
their ids are random, so the claim breaks the tie by the order the outbox numbered them in (``seq``), not by chance.
The ids are forced to sort in another order than written, so that an order by id cannot pass for it. On SQLite and
PostgreSQL, the clock injected and never moved."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from alembic import command
from sqlalchemy import column, inspect, select, table

from kluis import schema
from kluis.mail import service
from kluis.mail.models import Outbox
from kluis.schema import alembic_config

NOTICES = ["request_received", "account_updated", "restriction_lifted"]
# Twelve ids in an order that is neither the one written nor its reverse, nor any stride of it.
SHUFFLE = [7, 2, 11, 0, 9, 4, 1, 10, 5, 3, 8, 6]
LEASE = timedelta(minutes=5)


def _queue_dozen(kluis, desk, held: bool = False) -> list[uuid.UUID]:
    """Twelve mails to one person, written in one transaction; their ids sort as ``SHUFFLE``, not as written."""
    person = desk.add_person("petra.jansen@example.nl")
    ids = [uuid.UUID(int=(rank + 1) << 64) for rank in SHUFFLE]
    with kluis.db.transaction() as session:
        for n, outbox_id in enumerate(ids):
            service.enqueue(session, kluis.clock, template="account_notice", person_id=person, actor="test",
                            context={"notice": NOTICES[n % len(NOTICES)]}, outbox_id=outbox_id, held=held)
    assert sorted(ids) != ids and sorted(ids, reverse=True) != ids
    return ids


def _claim_all(kluis, limit: int) -> list[uuid.UUID]:
    claimed: list[uuid.UUID] = []
    while True:
        with kluis.db.transaction() as session:
            found = service.claim(session, kluis.clock, limit=limit, lease=LEASE, max_attempts=4, domain="benvitaal.nl")
            batch = [row.id for row in found.taken]
        if not batch:
            return claimed
        claimed += batch


def test_r_dsr_2_mails_written_in_one_transaction_are_claimed_in_the_order_written(kluis, desk):
    written = _queue_dozen(kluis, desk)
    assert _claim_all(kluis, limit=5) == written, "in batches smaller than the queue, as the worker claims"


def test_r_dsr_2_one_claim_of_the_whole_queue_keeps_the_order_written(kluis, desk):
    written = _queue_dozen(kluis, desk)
    assert _claim_all(kluis, limit=50) == written


def test_r_dsr_2_the_relay_receives_them_in_the_order_written(kluis, desk, relay):
    written = _queue_dozen(kluis, desk)
    assert desk.drain() == len(written)
    assert [r.message_id for r in relay.received] == [desk.row(i).message_id for i in written]


def test_r_dsr_2_a_message_queued_later_in_the_same_microsecond_goes_after(kluis, desk):
    """Two transactions at one instant of the clock: the second's mail follows the first's."""
    first = _queue_dozen(kluis, desk)
    later = desk.queue(desk.add_person("jan.smit@example.nl"), outbox_id=uuid.UUID(int=1))
    assert _claim_all(kluis, limit=5) == [*first, later]


def test_r_dsr_2_held_mails_let_go_together_go_in_the_order_written_not_the_order_let_go(kluis, desk):
    """Letting a held mail go rewrites its row: on PostgreSQL the new version lands after the others, so the table's
    own order (and its index's, for equal times) becomes the order of letting go. The claim still keeps the order
    the mails were written in."""
    written = _queue_dozen(kluis, desk, held=True)
    with kluis.db.transaction() as session:
        for outbox_id in [written[rank] for rank in SHUFFLE[::-1]]:
            assert service.release(session, kluis.clock, outbox_id)
    assert _claim_all(kluis, limit=5) == written


def test_r_dsr_2_many_messages_flushed_at_once_each_take_their_own_number(kluis, clock):
    """The number is computed in the INSERT itself, so rows written by one statement do not share one."""
    rows = [Outbox(id=uuid.UUID(int=(rank + 1) << 64), template="account_notice", kind="administrative",
                   staff_id=uuid.uuid4(), lang="nl", context={}, state="queued", attempts=0,
                   next_attempt_at=clock.now(), created_at=clock.now()) for rank in SHUFFLE]
    with kluis.db.transaction() as session:
        session.add_all(rows)
    with kluis.db.sessions() as session:
        numbers = {row.id: row.seq for row in session.execute(select(Outbox.id, Outbox.seq))}
    assert sorted(numbers.values()) == list(range(1, len(rows) + 1))
    assert _claim_all(kluis, limit=5) == [row.id for row in rows]


# --- the migration ------------------------------------------------------------------------------------------------


@pytest.mark.plain_schema
def test_r_dsr_2_migration_0037_numbers_the_waiting_mail_by_when_it_was_written_and_goes_down_again(kluis, clock,
                                                                                                   desk):
    """Down, the column, its index and (on PostgreSQL) its sequence go and the messages stay; up, the messages
    written meanwhile are numbered by ``created_at``, new ones follow them, and the schema is the models'."""
    kept = desk.queue(desk.add_person("blijft@example.nl"))
    # The outbox as the old schema has it (the model's table would number the rows it writes).
    old_outbox = table("outbox", *(column(name, Outbox.__table__.c[name].type) for name in (
        "id", "template", "kind", "staff_id", "lang", "context", "state", "attempts", "next_attempt_at", "created_at")))
    old = [uuid.UUID(int=(rank + 1) << 64) for rank in SHUFFLE[:4]]
    # Written while the old schema ran, in another order than their times, so that the order of insertion is not
    # the answer.
    at = [clock.now() + timedelta(minutes=m) for m in (3, 1, 2, 4)]
    with kluis.db.engine.begin() as conn:
        config = alembic_config(kluis.db.url, "data")
        config.attributes["connection"] = conn
        command.downgrade(config, "0036_person_keyed_rest")
        assert "seq" not in {c["name"] for c in inspect(conn).get_columns("outbox")}
        assert "ix_outbox_seq" not in {i["name"] for i in inspect(conn).get_indexes("outbox")}
        for outbox_id, written_at in zip(old, at, strict=True):
            conn.execute(old_outbox.insert().values(
                id=outbox_id, template="account_notice", kind="administrative", staff_id=uuid.uuid4(), lang="nl",
                context={}, state="queued", attempts=0, next_attempt_at=written_at,
                created_at=written_at))
        command.upgrade(config, "head")
    assert schema.differences(kluis.db) == []
    with kluis.db.sessions() as session:
        numbered = [tuple(row) for row in session.execute(select(Outbox.id, Outbox.seq).order_by(Outbox.seq))]
    assert numbered == list(zip([kept, *[i for _, i in sorted(zip(at, old, strict=True))]], range(1, 6), strict=True))
    later = desk.queue(desk.add_person("later@example.nl"))
    assert desk.row(later).seq == 6, "new mail follows the numbered mail"
