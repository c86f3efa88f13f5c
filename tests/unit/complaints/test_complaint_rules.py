"""Pure rules of complaint handling (R-GOV-2): the deadline in Amsterdam calendar days across daylight-saving
changes, reminders once each, the receipt time checked, and who reads a complaint."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

import pytest

from kluis.complaints import rules
from kluis.kit.errors import Invalid


@pytest.mark.parametrize(("received", "day", "due_utc"), [
    # 01:30 on the last Sunday of October (summer time ends at 03:00): 28 calendar days, due at midnight (CET).
    (datetime(2026, 10, 24, 23, 30, tzinfo=UTC), date(2026, 11, 22), datetime(2026, 11, 22, 23, 0, tzinfo=UTC)),
    # 00:30 Amsterdam on 1 April is still 31 March in UTC: the Amsterdam date counts.
    (datetime(2026, 3, 31, 22, 30, tzinfo=UTC), date(2026, 4, 29), datetime(2026, 4, 29, 22, 0, tzinfo=UTC)),
    # Received in winter, due in summer: the deadline ends at midnight summer time.
    (datetime(2026, 3, 10, 12, 0, tzinfo=UTC), date(2026, 4, 7), datetime(2026, 4, 7, 22, 0, tzinfo=UTC)),
])
def test_r_gov_2_deadline_counts_amsterdam_calendar_days(received, day, due_utc):
    due = rules.deadline(received, 28)
    assert (due.day, due.at) == (day, due_utc)


def at(day, hour=10):
    return datetime(2026, 12, day, hour, 0, tzinfo=UTC)


def test_r_gov_2_reminders_seven_and_two_days_then_overdue_once_each():
    due = rules.deadline(datetime(2026, 11, 25, 12, 0, tzinfo=UTC), 28)  # 23 December
    assert rules.reminder_due(due.day, due.at, at(15), "open") is None
    assert rules.reminder_due(due.day, due.at, at(16), "open") == 7
    assert rules.reminder_due(due.day, due.at, at(21), "open", (7,)) == 2
    assert rules.reminder_due(due.day, due.at, at(21), "open") == 2  # a missed 7-day one is not sent late
    assert rules.reminder_due(due.day, due.at, at(23, 22), "open", (7, 2)) is None
    assert rules.reminder_due(due.day, due.at, at(23, 23), "open", (7, 2)) == rules.OVERDUE
    assert rules.reminder_due(due.day, due.at, at(24), "open", (7, 2, rules.OVERDUE)) is None
    assert rules.reminder_due(due.day, due.at, at(24), "answered") is None


def test_r_gov_2_receipt_needs_its_zone_and_cannot_lie_ahead():
    now = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
    with pytest.raises(Invalid, match="time zone"):
        rules.check_received_at(datetime(2026, 11, 20, 9, 0), now)
    with pytest.raises(Invalid, match="future"):
        rules.check_received_at(datetime(2026, 11, 25, 13, 1, tzinfo=rules.AMSTERDAM), now)
    assert rules.check_received_at(datetime(2026, 11, 25, 13, 0, tzinfo=rules.AMSTERDAM), now) == now


def test_r_gov_2_empty_or_overlong_text_is_refused():
    with pytest.raises(Invalid, match="empty"):
        rules.check_text(" \n\t ")
    with pytest.raises(Invalid):
        rules.check_text("x" * (rules.MAX_TEXT + 1))
    assert rules.check_text("  klacht  ") == "klacht"


def test_r_gov_2_only_dpo_and_the_assigned_handler_read():
    me, other = uuid.uuid4(), uuid.uuid4()
    assert rules.may_read("dpo", me, None)
    assert rules.may_read("support", me, me) and not rules.may_read("support", me, other)
    assert not rules.may_read("support", me, None) and not rules.may_read("auditor", me, None)
