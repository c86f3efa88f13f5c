"""The privacy centre's public intake against abuse (R-DSR-1): requests never verified lapse after
KLUIS_UNVERIFIED_REQUEST_DAYS with their ties to an address deleted and nobody mailed; the form is rate-limited
per client network and per target address, in the database, with the clock injected."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from tests.forms import CSRF, form_token
from tests.integration.rights.rights_support import catcher_fixture, mail_settings, new_person, send_all
from typer.testing import CliRunner

from kluis import wiring
from kluis.app import create_app
from kluis.audit.models import AuditEvent
from kluis.cli import app
from kluis.mail.models import Outbox
from kluis.rights import intake
from kluis.rights.models import DataSubjectRequest, IntakeLimit, VerificationCode
from kluis.rights.service import Rights
from kluis.rights.tasks import UnverifiedPoller

DAY = timedelta(days=1)


@pytest.fixture
def catcher():
    yield from catcher_fixture()


@pytest.fixture
def settings(settings, catcher):
    return mail_settings(settings, catcher)


def ask(kluis, email, kind="access"):
    with kluis.db.transaction() as session:
        return Rights(session, kluis, "person").receive_public(kind, email, "nl").request.id


def row(kluis, request_id):
    with kluis.db.sessions() as session:
        return session.get(DataSubjectRequest, request_id)


def count(kluis, model, *where):
    with kluis.db.sessions() as session:
        return session.scalar(select(func.count()).select_from(model).where(*where))


def expiry_events(kluis):
    with kluis.db.sessions() as session:
        return list(session.scalars(select(AuditEvent).where(AuditEvent.action == "request.unverified_expired")
                                    .order_by(AuditEvent.seq)
                                    .order_by(AuditEvent.seq)))


# --- unverified requests lapse -----------------------------------------------------------------------------


def test_r_dsr_1_unverified_requests_expire_at_exactly_30_days_ties_deleted_nobody_mailed(kluis, clock, catcher):
    person_id, _ = new_person(kluis)
    known, unknown = ask(kluis, "vrager@example.nl"), ask(kluis, "niemand@example.nl")
    verified = ask(kluis, "vrager@example.nl", kind="erasure")
    with kluis.db.transaction() as session:
        Rights(session, kluis, "staff:t").record_verification(verified, person_id, "checked by phone")
        by_staff = Rights(session, kluis, "staff:t").register_by_staff("access", clock.now(), "letter 12").request.id
    send_all(kluis)
    mailed = len(catcher.messages)
    to_people = (Outbox.template == "rights_code", Outbox.person_id.is_not(None))
    assert count(kluis, Outbox, *to_people) == 2  # the unknown address's went to nobody
    assert row(kluis, known).address_key and row(kluis, verified).address_key is None

    clock.advance(30 * DAY - timedelta(minutes=1))  # 29 days 23:59 after receipt: still waiting
    assert UnverifiedPoller().poll(kluis) == 0
    assert row(kluis, known).state == row(kluis, unknown).state == "received"

    clock.advance(timedelta(minutes=1))  # 30 days: both lapse
    assert UnverifiedPoller().poll(kluis) == 2
    for request_id in (known, unknown):
        lapsed = row(kluis, request_id)
        assert (lapsed.state, lapsed.claimed_person_id, lapsed.address_key, lapsed.person_id) == (
            "expired", None, None, None)
        assert lapsed.closed_at == clock.now()
        assert count(kluis, VerificationCode, VerificationCode.request_id == request_id) == 0
    # the code mail of the lapsed request is gone from the outbox; the verified request's is kept
    assert count(kluis, Outbox, *to_people) == 1
    assert row(kluis, verified).state == "verified" and row(kluis, verified).person_id == person_id
    assert row(kluis, by_staff).state == "received"  # staff registered it: staff decide, it never lapses

    [event] = expiry_events(kluis)
    assert event.object_ids == [] and event.details == {"requests": 2, "codes": 2, "mails": 1, "days": 30}
    assert "example.nl" not in json.dumps(event.details)
    assert UnverifiedPoller().poll(kluis) == 0 and len(expiry_events(kluis)) == 1  # idempotent
    send_all(kluis)
    assert len(catcher.messages) == mailed  # nobody is told: the address never proved itself


def test_r_dsr_1_expiry_respects_the_configured_days_and_a_dst_change(kluis, clock):
    kluis.settings = kluis.settings.model_copy(update={"unverified_request_days": 7})
    clock.set(clock.now().replace(month=3, day=25, hour=9))  # 10:00 CET; 7 days later is 10:00 CEST
    request_id = ask(kluis, "niemand@example.nl")
    clock.advance(7 * DAY - timedelta(hours=1, seconds=1))  # 10:00 Amsterdam on 1 April is 7x24h minus an hour
    assert UnverifiedPoller().poll(kluis) == 0
    clock.advance(timedelta(seconds=1))
    assert UnverifiedPoller().poll(kluis) == 1 and row(kluis, request_id).state == "expired"


def test_r_dsr_1_expiry_goes_in_batches_each_with_its_count(kluis, clock):
    ids = [ask(kluis, f"persoon{i}@example.nl") for i in range(5)]
    clock.advance(31 * DAY)
    poller = UnverifiedPoller(batch=2)
    assert [poller.poll(kluis) for _ in range(4)] == [2, 2, 1, 0]
    assert [e.details["requests"] for e in expiry_events(kluis)] == [2, 2, 1]
    assert {row(kluis, i).state for i in ids} == {"expired"}


def test_r_dsr_1_a_lapsed_request_can_no_longer_be_verified_or_get_a_code(client, kluis, clock, catcher):
    new_person(kluis)
    response = client.post("/privacy-centre/request", data={"type": "access", "email": "vrager@example.nl",
                                                            "csrf": form_token(client)}, follow_redirects=False)
    token = response.headers["location"].split("/")[3]
    clock.advance(30 * DAY)
    UnverifiedPoller().poll(kluis)
    assert client.post(f"/privacy-centre/requests/{token}/code",
                       data={"code": "123456", "csrf": form_token(client)}).status_code == 422
    assert client.post(f"/privacy-centre/requests/{token}/new-code",
                       data={"csrf": form_token(client)}).status_code == 409
    page = client.get(f"/privacy-centre/requests/{token}")
    assert page.status_code == 200 and "niet op tijd bevestigd" in page.text


def test_r_dsr_1_cli_expires_unverified_requests_dry_run_first(kluis, clock):
    ids = [ask(kluis, f"persoon{i}@example.nl") for i in range(3)]
    clock.advance(30 * DAY)
    runner = CliRunner()
    wiring.use_for_cli(kluis)
    try:
        dry = runner.invoke(app, ["requests", "expire-unverified", "--dry-run"])
        assert dry.exit_code == 0 and "would close 3 request(s)" in dry.output
        assert {row(kluis, i).state for i in ids} == {"received"}
        done = runner.invoke(app, ["requests", "expire-unverified", "--batch", "2"])
        assert done.exit_code == 0 and "closed 3 request(s) not verified within 30 day(s)" in done.output
        again = runner.invoke(app, ["requests", "expire-unverified"])
        assert "closed 0 request(s)" in again.output
    finally:
        wiring.use_for_cli(None)
    assert {row(kluis, i).state for i in ids} == {"expired"}
    assert [e.details["requests"] for e in expiry_events(kluis)] == [2, 1]


# --- rate limits on the public form ------------------------------------------------------------------------


@pytest.fixture
def browser(kluis):
    """A client at a given address: the web app sees it as the peer of the connection."""
    clients: list[TestClient] = []

    def at(host: str) -> TestClient:
        made = TestClient(create_app(kluis), client=(host, 50000))
        made.__enter__()
        clients.append(made)
        return made

    yield at
    for made in clients:
        made.__exit__(None, None, None)


def submit(client, email, lang="nl", **headers):
    return client.post("/privacy-centre/request", data={"type": "access", "email": email, "lang": lang,
                                                        "csrf": form_token(client)},
                       headers=headers, follow_redirects=False)


def requests_made(kluis):
    return count(kluis, DataSubjectRequest)


def test_r_dsr_1_sixth_submit_from_one_ip_gets_429_nothing_written_other_ip_works(browser, kluis, clock, catcher):
    new_person(kluis, "vrager@example.nl")
    here, elsewhere = browser("203.0.113.7"), browser("198.51.100.20")
    assert [submit(here, f"iemand{i}@example.nl").status_code for i in range(4)] == [303] * 4
    assert submit(here, "vrager@example.nl").status_code == 303
    before, outbox = requests_made(kluis), count(kluis, Outbox)
    refused = submit(here, "vrager@example.nl", lang="en")
    assert refused.status_code == 429 and "Too many requests" in refused.text
    assert refused.headers["retry-after"] == str(3600)
    assert (requests_made(kluis), count(kluis, Outbox)) == (before, outbox)  # no request, no mail
    assert submit(elsewhere, "vrager@example.nl").status_code == 303
    send_all(kluis)
    assert len(catcher.messages) == 2  # the known address got its two codes; the 429 sent nothing

    clock.advance(timedelta(minutes=59))
    assert submit(here, "nog-iemand@example.nl").status_code == 429
    assert submit(here, "nog-iemand@example.nl").headers["retry-after"] == str(60)
    clock.advance(timedelta(minutes=1))  # the window has passed
    assert submit(here, "nog-iemand@example.nl").status_code == 303


def test_r_dsr_1_no_double_burst_around_the_end_of_an_hour(browser, kluis, clock):
    """One submit, then four just before the hour is out: a fixed window would take five more the moment it
    ends. The limit holds in any hour: each later submit waits until one of the earlier five is an hour old."""
    here = browser("203.0.113.9")
    assert submit(here, "een@example.nl").status_code == 303
    clock.advance(timedelta(minutes=59))
    assert [submit(here, f"snel{i}@example.nl").status_code for i in range(4)] == [303] * 4
    clock.advance(timedelta(minutes=1))  # the first submit is an hour old: room for exactly one
    assert submit(here, "na-het-uur@example.nl").status_code == 303
    refused = submit(here, "nog-een@example.nl")
    assert refused.status_code == 429 and refused.headers["retry-after"] == str(59 * 60)
    before = requests_made(kluis)
    clock.advance(timedelta(minutes=59))  # the four of 00:59 are an hour old
    assert [submit(here, f"later{i}@example.nl").status_code for i in range(5)] == [303] * 4 + [429]
    assert requests_made(kluis) == before + 4


@pytest.mark.plain_schema
def test_r_dsr_1_the_migration_turns_a_window_into_a_log_of_its_count(kluis, clock):
    """Migration 0015: a fixed window's count becomes as many hits at its start (conservative), so a limit
    reached before the upgrade is still reached after it."""
    from alembic import command
    from sqlalchemy import column, table

    from kluis.db import UTCDateTime
    from kluis.schema import alembic_config
    bucket = intake.client_bucket(kluis, "203.0.113.40")
    with kluis.db.engine.begin() as conn:
        config = alembic_config(kluis.db.url, "data")
        config.attributes["connection"] = conn
        command.downgrade(config, "0014_person_keep_until")
        old = table("intake_limit", column("key"), column("window_start", UTCDateTime()), column("count"))
        conn.execute(old.insert().values(key=bucket.key, window_start=clock.now() - timedelta(minutes=10), count=5))
        command.upgrade(config, "head")
    with kluis.db.sessions() as session:
        row = session.get(IntakeLimit, bucket.key)
        assert len(row.hits) == 5 and row.last_hit == clock.now() - timedelta(minutes=10)
    with pytest.raises(intake.RateLimited) as refused, kluis.db.transaction() as session:
        intake.hit(session, clock.now(), [bucket])
    assert refused.value.retry_after == 50 * 60


def test_r_dsr_1_per_address_limit_holds_across_ips_and_is_the_same_for_unknown(browser, kluis, clock):
    new_person(kluis, "vrager@example.nl")
    pages = {}
    for email in ("vrager@example.nl", "niemand@example.nl"):
        codes = [submit(browser(f"192.0.2.{i + (10 if 'niemand' in email else 0)}"), email).status_code
                 for i in range(4)]
        assert codes == [303, 303, 303, 429]
        pages[email] = submit(browser("192.0.2.99"), email)
    known, unknown = pages["vrager@example.nl"], pages["niemand@example.nl"]
    assert known.status_code == unknown.status_code == 429
    # the same page but for the form token, which is each browser's own
    assert CSRF.sub("", known.text) == CSRF.sub("", unknown.text)
    assert known.headers["retry-after"] == unknown.headers["retry-after"]
    # normalised: another spelling of the same address counts against the same limit
    assert submit(browser("192.0.2.50"), "  Vrager@Example.NL ").status_code == 429
    clock.advance(timedelta(hours=24))
    assert submit(browser("192.0.2.51"), "vrager@example.nl").status_code == 303


def test_r_dsr_1_new_codes_count_against_the_ip_and_address_limits(browser, kluis, clock):
    new_person(kluis, "vrager@example.nl")
    here = browser("203.0.113.8")
    token = submit(here, "vrager@example.nl").headers["location"].split("/")[3]
    assert here.post(f"/privacy-centre/requests/{token}/new-code", data={"csrf": form_token(here)}).status_code == 200
    assert here.post(f"/privacy-centre/requests/{token}/new-code", data={"csrf": form_token(here)}).status_code == 200
    clock.advance(timedelta(hours=2))  # the request's own limit (3 an hour) has passed; the address's not
    there = browser("198.51.100.1")
    blocked = there.post(f"/privacy-centre/requests/{token}/new-code", data={"csrf": form_token(there)})
    assert blocked.status_code == 429 and "retry-after" in blocked.headers
    with kluis.db.sessions() as session:
        assert session.scalar(select(func.count()).select_from(VerificationCode)) == 3


def test_r_dsr_1_forwarded_for_is_believed_only_from_a_trusted_proxy(browser, kluis):
    proxy = browser("10.0.0.2")
    for i in range(5):
        assert submit(proxy, f"a{i}@example.nl", **{"X-Forwarded-For": f"203.0.113.{i}"}).status_code == 303
    # untrusted: every one counts against the proxy's own address, whatever the header claims
    assert submit(proxy, "z@example.nl", **{"X-Forwarded-For": "203.0.113.200"}).status_code == 429
    kluis.settings = kluis.settings.model_copy(update={"trusted_proxies": ["10.0.0.0/8"]})
    assert submit(proxy, "z@example.nl", **{"X-Forwarded-For": "203.0.113.200"}).status_code == 303
    # a client cannot skip its limit by writing its own header in front of the proxy's
    for i in range(5):
        assert submit(proxy, f"b{i}@example.nl", **{"X-Forwarded-For": "203.0.113.201"}).status_code == 303
    spoofed = submit(proxy, "c@example.nl", **{"X-Forwarded-For": "1.2.3.4, 203.0.113.201"})
    assert spoofed.status_code == 429


def test_r_dsr_1_ipv6_counts_by_its_64_and_nothing_plain_is_stored(browser, kluis):
    for i in range(5):
        assert submit(browser(f"2001:db8:1:2::{i + 1}"), f"v{i}@example.nl").status_code == 303
    assert submit(browser("2001:db8:1:2:ffff::1"), "w@example.nl").status_code == 429
    assert submit(browser("2001:db8:1:3::1"), "w@example.nl").status_code == 303
    with kluis.db.sessions() as session:
        stored = json.dumps([[r.key, str(r.last_hit), r.hits] for r in session.scalars(select(IntakeLimit))])
        keys = [r.address_key for r in session.scalars(select(DataSubjectRequest))]
    # the network in its plain form ("2001" alone may occur in a hex digest by chance; a colon may not)
    assert "2001:" not in stored and "example" not in stored and "@" not in stored
    assert all(k and len(k) == 64 and "@" not in k for k in keys)


def test_r_dsr_1_client_of_reads_the_peer_and_trusted_proxies_only() -> None:
    assert intake.client_of("203.0.113.9", "1.1.1.1", []) == "203.0.113.9"
    assert intake.client_of("10.1.2.3", "198.51.100.4, 10.9.9.9", ["10.0.0.0/8"]) == "198.51.100.4"
    assert intake.client_of("10.1.2.3", "nonsense, 10.9.9.9", ["10.0.0.0/8"]) == "10.9.9.9"
    assert intake.client_of("::ffff:192.0.2.1", None, []) == "192.0.2.1"
    assert intake.client_of("2001:db8::1", None, []) == "2001:db8::/64"


def test_r_dsr_1_staff_console_registering_is_not_limited(client, kluis, clock):
    from tests.integration.rights.test_rights_console import csrf, signed_in
    signed_in(client, kluis, clock, "support")
    for i in range(8):
        made = client.post("/console/requests", data={
            "csrf": csrf(client), "type": "access", "received_on": clock.now().date().isoformat(),
            "received_time": "09:00", "reference": f"mail {i}"}, follow_redirects=False)
        assert made.status_code == 303, made.text
    assert requests_made(kluis) == 8 and count(kluis, IntakeLimit) == 0


def test_r_dsr_1_worker_prunes_passed_windows(browser, kluis, clock):
    submit(browser("203.0.113.30"), "p@example.nl")
    assert count(kluis, IntakeLimit) == 2
    clock.advance(timedelta(hours=23))
    UnverifiedPoller().poll(kluis)
    assert count(kluis, IntakeLimit) == 2
    clock.advance(timedelta(hours=1))
    UnverifiedPoller().poll(kluis)
    assert count(kluis, IntakeLimit) == 0


def test_r_dsr_1_concurrent_submits_never_pass_the_limit(kluis, clock):
    """Eight processes' worth of simultaneous hits on one key: exactly the limit gets through (row lock)."""
    import threading

    bucket = intake.client_bucket(kluis, "203.0.113.77")
    passed: list[bool] = []
    start = threading.Barrier(8)

    def one() -> None:
        start.wait()
        try:
            with kluis.db.transaction() as session:
                intake.hit(session, clock.now(), [bucket])
            passed.append(True)
        except intake.RateLimited:
            passed.append(False)

    threads = [threading.Thread(target=one) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(passed) == [False] * 3 + [True] * 5
    with kluis.db.sessions() as session:
        assert len(session.get(IntakeLimit, bucket.key).hits) == 5
