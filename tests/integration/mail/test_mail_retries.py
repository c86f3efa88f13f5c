"""Never lost, never twice: retries, permanent refusals, dead workers, workers side by side
(SPEC §9 "Mail: SMTP through a transactional outbox"; R-CONS-2)."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import select

from kluis.audit.models import AuditEvent
from kluis.mail import service
from kluis.mail.catcher import free_port
from kluis.mail.worker import MailPoller

ADDRESS = "petra.jansen@example.nl"


def test_r_cons_2_a_temporary_refusal_451_is_retried_after_backoff_then_delivered(kluis, clock, relay, desk):
    outbox_id = desk.queue(desk.add_person(ADDRESS))
    relay.answer_next("451")

    assert desk.drain() == 1
    row = desk.row(outbox_id)
    assert (row.state, row.attempts, row.last_error) == ("queued", 1, "smtp_451")
    assert row.next_attempt_at == clock.now() + timedelta(minutes=1)
    assert relay.received == []

    clock.advance(timedelta(seconds=59))
    assert desk.drain() == 0, "not due before its backoff ends"
    clock.advance(timedelta(seconds=1))
    assert desk.drain() == 1
    row = desk.row(outbox_id)
    assert (row.state, row.attempts, row.last_error) == ("sent", 2, None)
    assert [r.message_id for r in relay.received] == [row.message_id]


def test_r_cons_2_backoff_doubles_and_the_last_attempt_fails(kluis, clock, relay, desk, settings):
    outbox_id = desk.queue(desk.add_person(ADDRESS))
    relay.answer_next(*["451"] * settings.mail_max_attempts)
    waits = []
    for _ in range(settings.mail_max_attempts):
        assert desk.drain() == 1
        row = desk.row(outbox_id)
        if row.state == "queued":
            waits.append(row.next_attempt_at - clock.now())
            clock.set(row.next_attempt_at)
    assert waits == [timedelta(minutes=m) for m in (1, 2, 4)]
    assert (row.state, row.attempts, row.last_error) == ("failed", 4, "smtp_451")
    assert relay.received == []


def test_r_cons_2_a_permanent_refusal_550_fails_at_once(kluis, relay, desk):
    outbox_id = desk.queue(desk.add_person(ADDRESS))
    relay.answer_next("550")
    assert desk.drain() == 1
    row = desk.row(outbox_id)
    assert (row.state, row.attempts, row.last_error) == ("failed", 1, "smtp_550")
    with kluis.db.sessions() as session:
        failed = session.scalars(select(AuditEvent).where(AuditEvent.action == "mail.failed")
                                 .order_by(AuditEvent.seq)).one()
    assert failed.object_ids == [str(outbox_id)] and failed.details["error"] == "smtp_550"
    assert relay.received == [] and relay.transactions == 1


def test_r_cons_2_a_dropped_connection_is_retried_and_the_rest_of_the_batch_still_goes(kluis, clock, relay, desk):
    person = desk.add_person(ADDRESS)
    first, second = desk.queue(person), desk.queue(person, context={"notice": "account_updated"})
    relay.answer_next("drop")
    assert desk.drain() == 2
    assert (desk.row(first).state, desk.row(first).last_error) == ("queued", "disconnected")
    assert desk.row(second).state == "sent", "a new connection is opened for the next message"
    clock.advance(timedelta(minutes=1))
    desk.drain()
    assert desk.row(first).state == "sent"
    assert sorted(r.message_id for r in relay.received) == sorted([desk.row(first).message_id,
                                                                   desk.row(second).message_id])


def test_r_cons_2_an_unreachable_relay_defers_the_whole_batch(kluis, settings, clock, relay, desk):
    kluis.settings = settings.model_copy(update={"smtp_port": free_port()})
    person = desk.add_person(ADDRESS)
    ids = [desk.queue(person) for _ in range(3)]
    assert desk.drain() == 3
    assert {(desk.row(i).state, desk.row(i).last_error) for i in ids} == {("queued", "connection_refused")}
    kluis.settings = settings
    clock.advance(timedelta(minutes=1))
    desk.drain()
    assert {desk.row(i).state for i in ids} == {"sent"} and len(relay.received) == 3


def test_r_cons_2_a_worker_killed_after_claiming_is_replaced_after_its_lease(kluis, settings, clock, relay, desk):
    outbox_id = desk.queue(desk.add_person(ADDRESS))
    with kluis.db.transaction() as session:  # a worker claims, then dies before sending
        claimed = service.claim(session, clock, limit=10, lease=timedelta(seconds=settings.mail_lease_seconds),
                                max_attempts=settings.mail_max_attempts, domain=settings.mail_domain)
    assert [r.id for r in claimed] == [outbox_id]

    assert desk.drain() == 0, "the claim holds during its lease"
    clock.advance(timedelta(seconds=settings.mail_lease_seconds))
    assert desk.drain() == 1
    row = desk.row(outbox_id)
    assert (row.state, row.attempts) == ("sent", 2)
    assert [r.message_id for r in relay.received] == [claimed[0].message_id]


def test_r_cons_2_a_worker_killed_after_the_relay_accepted_repeats_the_same_message_id(
        kluis, settings, clock, relay, desk, poller, monkeypatch):
    """The honest limit: between the relay's 250 and the recorded "sent" a crash means one more
    delivery after the lease, with the same Message-ID, so that the receiver can drop it."""
    outbox_id = desk.queue(desk.add_person(ADDRESS))

    def die_after_sending(self, kluis_, conn, row):
        self._attempt(kluis_, conn, row)
        raise SystemExit("killed before recording the outcome")

    with monkeypatch.context() as patch:
        patch.setattr(MailPoller, "_deliver", die_after_sending)
        with pytest.raises(SystemExit):
            poller.poll(kluis)
    assert desk.row(outbox_id).state == "sending" and len(relay.received) == 1

    clock.advance(timedelta(seconds=settings.mail_lease_seconds))
    assert desk.drain() == 1
    assert desk.row(outbox_id).state == "sent"
    ids = [r.message_id for r in relay.received]
    assert len(ids) == 2 and len(set(ids)) == 1


def test_r_cons_2_an_abandoned_claim_that_used_every_attempt_fails(kluis, settings, clock, relay, desk):
    outbox_id = desk.queue(desk.add_person(ADDRESS))
    lease = timedelta(seconds=settings.mail_lease_seconds)
    for _ in range(settings.mail_max_attempts):
        with kluis.db.transaction() as session:
            assert service.claim(session, clock, limit=1, lease=lease, max_attempts=settings.mail_max_attempts,
                                 domain=settings.mail_domain)
        clock.advance(lease)
    assert desk.drain() == 1
    row = desk.row(outbox_id)
    assert (row.state, row.last_error) == ("failed", "abandoned") and relay.received == []


def test_r_cons_2_two_workers_at_once_never_send_one_message_twice(kluis, relay, desk):
    people = [desk.add_person(f"person{i}@example.nl") for i in range(6)]
    ids = [desk.queue(people[i % len(people)]) for i in range(40)]
    start = threading.Barrier(3)
    handled: list[int] = []
    errors: list[BaseException] = []

    def work() -> None:
        worker = MailPoller(random=lambda: 0.5, batch=3)
        start.wait()
        try:
            total = 0
            while (done := worker.poll(kluis)) > 0:
                total += done
            handled.append(total)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors and not any(t.is_alive() for t in threads)
    counts = Counter(r.message_id for r in relay.received)
    assert len(counts) == 40 and set(counts.values()) == {1}, "every message exactly once"
    assert sum(handled) == 40
    assert {desk.row(i).state for i in ids} == {"sent"}
    assert {desk.row(i).attempts for i in ids} == {1}


def test_r_cons_2_on_postgresql_a_claim_skips_rows_another_worker_holds(kluis, settings, clock, desk):
    if kluis.db.dialect != "postgresql":
        pytest.skip("SKIP LOCKED is PostgreSQL's; SQLite claims one writer at a time")
    person = desk.add_person(ADDRESS)
    ids = {desk.queue(person) for _ in range(4)}
    options = {"lease": timedelta(seconds=settings.mail_lease_seconds), "max_attempts": settings.mail_max_attempts,
               "domain": settings.mail_domain}
    with kluis.db.transaction() as first:
        held = {r.id for r in service.claim(first, clock, limit=2, **options)}
        with kluis.db.transaction() as second:  # would wait on the first without SKIP LOCKED
            other = {r.id for r in service.claim(second, clock, limit=4, **options)}
    assert len(held) == 2 and len(other) == 2 and held | other == ids
