"""R-GOV-3: the AP deadline is 72 elapsed hours after awareness, whatever the clocks in Amsterdam do meanwhile;
reminders go out once each; bad incidents are refused with every problem named."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from kluis.breaches import rules

AMS = ZoneInfo("Europe/Amsterdam")


def test_r_gov_3_deadline_over_the_october_change_is_72_real_hours():
    # 01:30 on the last Sunday of October 2026 (25 Oct), still summer time; at 03:00 the clocks go back.
    aware = datetime(2026, 10, 25, 1, 30, tzinfo=AMS)
    assert aware.utcoffset() == timedelta(hours=2)
    deadline = rules.ap_deadline(aware)
    assert deadline == datetime(2026, 10, 27, 23, 30, tzinfo=UTC)
    assert deadline - aware == timedelta(hours=72)
    # Shown in Amsterdam it is 00:30 on the 28th: an hour earlier than "three days later at 01:30".
    assert rules.amsterdam(deadline) == "2026-10-28 00:30 CET (UTC+0100)"


def test_r_gov_3_deadline_over_the_march_change_is_72_real_hours():
    # 01:30 on the last Sunday of March 2026 (29 Mar), winter time; at 02:00 the clocks go forward.
    aware = datetime(2026, 3, 29, 1, 30, tzinfo=AMS)
    deadline = rules.ap_deadline(aware)
    assert deadline == datetime(2026, 4, 1, 0, 30, tzinfo=UTC)
    assert rules.amsterdam(deadline) == "2026-04-01 02:30 CEST (UTC+0200)"


def test_r_gov_3_deadline_is_the_same_instant_whatever_offset_awareness_is_given_in():
    aware = datetime(2026, 10, 25, 1, 30, tzinfo=AMS)
    elsewhere = aware.astimezone(ZoneInfo("America/New_York"))
    assert rules.ap_deadline(elsewhere) == rules.ap_deadline(aware) == rules.ap_deadline(aware.astimezone(UTC))


def test_r_gov_3_reminders_at_24h_4h_and_passed_each_once():
    deadline = datetime(2026, 10, 27, 23, 30, tzinfo=UTC)
    assert rules.due_reminder(deadline, deadline - timedelta(hours=25), []) is None
    assert rules.due_reminder(deadline, deadline - timedelta(hours=24), []) == rules.Reminder.DAY
    assert rules.due_reminder(deadline, deadline - timedelta(hours=20), ["24h"]) is None
    assert rules.due_reminder(deadline, deadline - timedelta(hours=3), ["24h"]) == rules.Reminder.HOURS
    assert rules.due_reminder(deadline, deadline - timedelta(hours=3), ["24h", "4h"]) is None
    assert rules.due_reminder(deadline, deadline + timedelta(seconds=1), ["24h", "4h"]) == rules.Reminder.PASSED
    assert rules.due_reminder(deadline, deadline + timedelta(hours=9), ["24h", "4h", "passed"]) is None
    # A worker that was down since before the 24-hour mark sends only the one that fits now.
    assert rules.due_reminder(deadline, deadline + timedelta(hours=1), []) == rules.Reminder.PASSED


def test_r_gov_3_countdown_reads_hours_and_minutes():
    deadline = datetime(2026, 10, 27, 23, 30, tzinfo=UTC)
    assert rules.countdown(deadline, deadline - timedelta(hours=5, minutes=7)) == "5 h 07 min left"
    assert rules.countdown(deadline, deadline + timedelta(hours=1)) == "passed 1 h 00 min ago"


def _check(**changes):
    now = datetime(2026, 11, 25, 12, tzinfo=UTC)
    given = {"aware_at": now - timedelta(hours=2), "happened_from": now - timedelta(days=1), "happened_until": None,
             "natures": ["confidentiality"], "categories": ["basic"], "subject_types": ["employee"],
             "known_categories": ["basic", "financial"], "known_subjects": ["employee", "lead"],
             "summary": "A laptop was stolen.", "now": now} | changes
    return {(p.path, p.code) for p in rules.check_incident(**given)}


def test_r_gov_3_incident_checks_name_every_problem():
    now = datetime(2026, 11, 25, 12, tzinfo=UTC)
    assert _check() == set()
    assert ("aware_at", "in_future") in _check(aware_at=now + timedelta(minutes=1))
    assert ("aware_at", "timezone_required") in _check(aware_at=datetime(2026, 11, 25, 10))
    assert ("categories", "category_unknown") in _check(categories=["basic", "health"])
    assert ("subject_types", "subject_type_unknown") in _check(subject_types=["alien"])
    assert ("nature", "nature_unknown") in _check(natures=["secrecy"])
    assert ("nature", "nature_required") in _check(natures=[])
    assert ("happened_from", "after_awareness") in _check(happened_from=now - timedelta(hours=1))
    assert ("summary", "summary_required") in _check(summary="  ")


def test_r_gov_3_every_decision_needs_a_reason():
    assert rules.check_decision("risk", "names and salaries were readable") == []
    assert [p.code for p in rules.check_decision("risk", " ")] == ["reason_required"]
    assert [p.code for p in rules.check_decision("maybe", "x")] == ["risk_unknown"]
