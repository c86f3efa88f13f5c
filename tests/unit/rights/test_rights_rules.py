"""Pure rules of data subject requests: deadlines (R-DSR-2), the state machine and codes (R-DSR-1)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest

from kluis.kit.errors import Conflict, Invalid
from kluis.rights import rules
from kluis.rights.rules import State


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(("received", "deadline"), [
    (utc(2026, 1, 15, 10), date(2026, 2, 15)),
    (utc(2026, 1, 31, 10), date(2026, 2, 28)),  # no 31 February
    (utc(2028, 1, 31, 10), date(2028, 2, 29)),  # leap year
    (utc(2028, 1, 29, 10), date(2028, 2, 29)),
    (utc(2028, 2, 29, 10), date(2028, 3, 29)),  # received on the leap day
    (utc(2026, 8, 30, 10), date(2026, 9, 30)),
    (utc(2026, 8, 31, 10), date(2026, 9, 30)),
    (utc(2026, 12, 31, 10), date(2027, 1, 31)),  # year end
    (utc(2026, 12, 15, 10), date(2027, 1, 15)),
    (utc(2026, 1, 31, 23, 30), date(2026, 3, 1)),  # 00:30 on 1 February in Amsterdam
    (utc(2026, 6, 30, 22, 30), date(2026, 8, 1)),  # summer time: 00:30 on 1 July in Amsterdam
    (utc(2026, 6, 30, 21, 59), date(2026, 7, 30)),  # 23:59 on 30 June in Amsterdam
    (utc(2026, 12, 31, 23, 0), date(2027, 2, 1)),  # midnight: already 1 January in Amsterdam
    (utc(2026, 3, 29, 1, 30), date(2026, 4, 29)),  # the day summer time starts
    (utc(2026, 10, 25, 1, 30), date(2026, 11, 25)),  # the day winter time starts
])
def test_r_dsr_2_deadline_is_one_calendar_month_in_amsterdam(received: datetime, deadline: date) -> None:
    assert rules.first_deadline(received).day == deadline


@pytest.mark.parametrize(("received", "deadline"), [
    (utc(2026, 1, 15, 10), date(2026, 4, 15)),
    (utc(2026, 11, 30, 10), date(2027, 2, 28)),
    (utc(2027, 11, 30, 10), date(2028, 2, 29)),  # leap year
    (utc(2026, 5, 31, 10), date(2026, 8, 31)),
    (utc(2026, 3, 31, 10), date(2026, 6, 30)),
    (utc(2026, 10, 31, 23, 30), date(2027, 2, 1)),  # 1 November in Amsterdam
])
def test_r_dsr_2_extended_deadline_is_three_months_from_receipt(received: datetime, deadline: date) -> None:
    assert rules.extended_deadline(received).day == deadline


@pytest.mark.parametrize(("day", "end"), [
    (date(2026, 2, 28), utc(2026, 2, 28, 23)),  # winter time: UTC+1
    (date(2026, 7, 30), utc(2026, 7, 30, 22)),  # summer time: UTC+2
    (date(2026, 3, 28), utc(2026, 3, 28, 23)),  # the next day starts summer time, at 02:00
    (date(2026, 3, 29), utc(2026, 3, 29, 22)),  # the day summer time starts ends at 00:00 CEST
    (date(2026, 10, 25), utc(2026, 10, 25, 23)),  # the day winter time starts ends at 00:00 CET
])
def test_r_dsr_2_deadline_ends_at_amsterdam_midnight_dst_safe(day: date, end: datetime) -> None:
    assert rules.end_of_day(day) == end


def test_r_dsr_2_overdue_only_after_the_deadline_day_and_while_open() -> None:
    deadline = rules.first_deadline(utc(2026, 1, 15, 10))
    assert not rules.is_overdue(deadline.at, utc(2026, 2, 15, 22, 59), "in_progress")
    assert rules.is_overdue(deadline.at, utc(2026, 2, 15, 23, 0), "in_progress")
    assert rules.is_overdue(deadline.at, utc(2026, 3, 1), "received")
    assert not rules.is_overdue(deadline.at, utc(2026, 3, 1), "done")
    assert not rules.is_overdue(deadline.at, utc(2026, 3, 1), "refused")


def test_r_dsr_2_reminders_seven_and_two_days_before() -> None:
    day = date(2026, 2, 15)
    assert rules.reminder_due(day, utc(2026, 2, 7, 12), "in_progress") is None
    assert rules.reminder_due(day, utc(2026, 2, 8, 12), "in_progress") == 7
    assert rules.reminder_due(day, utc(2026, 2, 8, 12), "in_progress", (7,)) is None
    assert rules.reminder_due(day, utc(2026, 2, 13, 12), "in_progress", (7,)) == 2
    assert rules.reminder_due(day, utc(2026, 2, 13, 12), "in_progress") == 2
    assert rules.reminder_due(day, utc(2026, 2, 13, 12), "done") is None
    assert rules.reminder_due(day, utc(2026, 2, 16, 12), "in_progress") is None  # overdue instead


def test_r_dsr_2_extension_once_with_reasons_within_the_first_month() -> None:
    received = utc(2026, 1, 15, 10)
    rules.check_extension(received, utc(2026, 2, 15, 22, 0), "in_progress", False, "many records")
    with pytest.raises(Conflict, match="first month"):
        rules.check_extension(received, utc(2026, 2, 15, 23, 0), "in_progress", False, "many records")
    with pytest.raises(Conflict, match="only once"):
        rules.check_extension(received, utc(2026, 1, 20), "in_progress", True, "again")
    with pytest.raises(Invalid, match="reasons"):
        rules.check_extension(received, utc(2026, 1, 20), "in_progress", False, "  ")
    with pytest.raises(Conflict, match="closed"):
        rules.check_extension(received, utc(2026, 1, 20), "done", False, "late")


LEGAL = [
    ("received", State.VERIFIED), ("received", State.REFUSED), ("verified", State.IN_PROGRESS),
    ("verified", State.REFUSED), ("in_progress", State.WAITING_ON_PERSON), ("waiting_on_person", State.IN_PROGRESS),
    ("in_progress", State.DONE), ("in_progress", State.REFUSED), ("waiting_on_person", State.REFUSED),
    ("received", State.EXPIRED),  # R-DSR-1: only a request still awaiting verification lapses
]


@pytest.mark.parametrize(("current", "target"), LEGAL)
def test_r_dsr_2_legal_transitions(current: str, target: State) -> None:
    rules.check_transition(current, target, "reason")


@pytest.mark.parametrize(("current", "target"), [
    (c.value, t) for c in State for t in State if (c.value, t) not in LEGAL])
def test_r_dsr_2_every_other_transition_is_refused(current: str, target: State) -> None:
    with pytest.raises(Conflict, match="cannot become") as caught:
        rules.check_transition(current, target, "reason")
    assert caught.value.code == "transition_not_allowed"


def test_r_dsr_2_refusal_needs_a_reason() -> None:
    with pytest.raises(Invalid) as caught:
        rules.check_transition("in_progress", State.REFUSED, " ")
    assert caught.value.code == "reason_required"


def test_objection_needs_a_scope_others_none() -> None:
    assert rules.check_scope("objection", "profiling") == "profiling"
    assert rules.check_scope("access", None) is None
    for kind, scope in (("objection", None), ("objection", "everything"), ("access", "marketing"),
                        ("deletion", None)):
        with pytest.raises(Invalid):
            rules.check_scope(kind, scope)


def test_r_dsr_1_code_digest_is_bound_to_the_request_and_keyed() -> None:
    a, b = str(uuid.uuid4()), str(uuid.uuid4())
    assert rules.code_digest(b"k", a, "123456") == rules.code_digest(b"k", a, "123456")
    assert rules.code_digest(b"k", a, "123456") != rules.code_digest(b"k", b, "123456")
    assert rules.code_digest(b"k", a, "123456") != rules.code_digest(b"other", a, "123456")
    assert "123456" not in rules.code_digest(b"k", a, "123456")
    assert rules.code_format_ok("012345") and not rules.code_format_ok("12345") and not rules.code_format_ok("١٢٣٤٥٦")
    assert rules.may_issue_code(2) and not rules.may_issue_code(3)


def test_r_dsr_1_status_token_round_trip_and_forgery() -> None:
    request_id = uuid.uuid4()
    token = rules.status_token(b"secret", request_id, utc(2026, 1, 1))
    assert rules.request_of_token(b"secret", token) == request_id
    assert rules.request_of_token(b"other", token) is None
    assert rules.request_of_token(b"secret", token[:-2] + "AA") is None
    assert rules.request_of_token(b"secret", "nonsense") is None
    assert rules.short_reference(uuid.UUID("0123456789abcdef0123456789abcdef")) == "DSR-0123-4567"


def test_r_dsr_1_expired_is_closed_and_final() -> None:
    assert State.EXPIRED in rules.CLOSED and rules.TRANSITIONS[State.EXPIRED] == frozenset()
    assert not rules.is_overdue(utc(2026, 1, 1), utc(2026, 6, 1), "expired")


def test_r_dsr_1_unverified_expiry_counts_calendar_days_in_amsterdam() -> None:
    received = utc(2026, 3, 10, 9, 30)  # 10:30 in Amsterdam (CET); 30 days later is CEST
    expiry = rules.unverified_expiry(received, 30)
    assert expiry == utc(2026, 4, 9, 8, 30)  # 10:30 in Amsterdam again, one UTC hour earlier
    assert not rules.unverified_expired(received, expiry - timedelta(seconds=1), 30)
    assert rules.unverified_expired(received, expiry, 30)
    winter = utc(2026, 11, 1, 12)
    assert rules.unverified_expiry(winter, 30) == winter + timedelta(days=30)  # no DST change in between


def test_r_dsr_1_rate_window_admits_the_limit_in_any_hour_and_tells_the_wait() -> None:
    window = rules.Window(limit=5, length=timedelta(hours=1))
    start = utc(2026, 11, 25, 12)
    log: list[datetime] = []
    for minute in (0, 50, 51, 52, 53):
        log, wait = window.admit(log, start + timedelta(minutes=minute))
        assert wait is None
    assert log == [start + timedelta(minutes=m) for m in (0, 50, 51, 52, 53)]
    kept, wait = window.admit(log, start + timedelta(minutes=59, seconds=59, microseconds=1))
    assert kept == log and wait == 1  # the 12:00 hit leaves the window at 13:00
    log, wait = window.admit(log, start + timedelta(hours=1))
    assert wait is None and log[0] == start + timedelta(minutes=50)  # 12:00 is out, 13:00 is in
    kept, wait = window.admit(log, start + timedelta(hours=1, seconds=1))
    assert wait == 50 * 60 - 1  # until 13:50, when the 12:50 hit leaves


def test_r_dsr_1_rate_window_lets_no_double_burst_through_at_an_edge() -> None:
    """A fixed window starting at 12:00 would take five more at 13:00 after five at 12:59; a sliding one
    waits until the first of those five is an hour old."""
    window = rules.Window(limit=5, length=timedelta(hours=1))
    start = utc(2026, 11, 25, 12)
    log, wait = window.admit([], start)
    burst = start + timedelta(minutes=59)
    for _ in range(4):
        log, wait = window.admit(log, burst)
        assert wait is None
    for at, expected in ((start + timedelta(hours=1), None), (start + timedelta(hours=1, seconds=1), 3539),
                         (burst + timedelta(hours=1) - timedelta(seconds=1), 1)):
        log2, wait = window.admit(log, at)
        assert wait == expected, at
        if wait is None:
            log = log2
    assert window.admit(log, burst + timedelta(hours=1))[1] is None
    assert window.admit([start] * 7, start + timedelta(minutes=1))[1] == 3540  # a log longer than the limit


def test_r_dsr_1_intake_limits_are_bounded_in_configuration() -> None:
    """Every hit inside a window is kept (the sliding log): a limit must stay one for people."""
    from pydantic import ValidationError

    from kluis.config import MAX_INTAKE_LIMIT, Settings
    for name in ("intake_per_client", "intake_per_address"):
        assert getattr(Settings(_env_file=None, **{name: MAX_INTAKE_LIMIT}), name) == MAX_INTAKE_LIMIT
        for wrong in (0, MAX_INTAKE_LIMIT + 1):
            with pytest.raises(ValidationError, match=name):
                Settings(_env_file=None, **{name: wrong})


def test_r_dsr_2_days_late_counts_amsterdam_calendar_days_after_the_deadline_day():
    feb_end = date(2027, 2, 28)
    assert rules.days_late(feb_end, datetime(2027, 2, 28, 22, 59, tzinfo=UTC)) == 0  # 23:59 on the day itself
    assert rules.days_late(feb_end, datetime(2027, 2, 28, 23, 0, tzinfo=UTC)) == 1  # 1 March has begun there
    assert rules.days_late(feb_end, datetime(2027, 3, 31, 21, 59, tzinfo=UTC)) == 31  # 23:59 summer time
    assert rules.days_late(feb_end, datetime(2027, 3, 31, 22, 0, tzinfo=UTC)) == 32
