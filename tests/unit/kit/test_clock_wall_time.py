"""Times staff read off a clock in Amsterdam (R-GOV-3 awareness of a breach, R-DSR-1 receipt of a request,
R-POL-3 a version's moment): one instant each, and the hour the clocks repeat or skip is refused, not guessed."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from kluis.kit.clock import amsterdam_wall_time
from kluis.kit.errors import Invalid


def wall(text: str) -> datetime:
    return amsterdam_wall_time(datetime.fromisoformat(text), "Not saved.", "thing_invalid", "at")


@pytest.mark.parametrize(("typed", "utc"), [
    ("2026-10-25T01:59", datetime(2026, 10, 24, 23, 59, tzinfo=UTC)),  # CEST, before the change
    ("2026-10-25T03:00", datetime(2026, 10, 25, 2, 0, tzinfo=UTC)),  # CET, after it
    ("2028-02-29T23:30", datetime(2028, 2, 29, 22, 30, tzinfo=UTC)),  # a leap day, winter time
    ("2027-03-28T03:00", datetime(2027, 3, 28, 1, 0, tzinfo=UTC)),  # the first summer minute
])
def test_r_gov_3_r_dsr_1_a_wall_time_is_one_instant(typed, utc):
    assert wall(typed) == utc


@pytest.mark.parametrize(("typed", "code"), [
    ("2026-10-25T02:00", "time_ambiguous"), ("2026-10-25T02:59", "time_ambiguous"),
    ("2027-03-28T02:00", "time_nonexistent"), ("2027-03-28T02:59", "time_nonexistent"),
])
def test_r_gov_3_r_dsr_1_the_repeated_and_the_skipped_hour_are_refused_with_a_reason(typed, code):
    with pytest.raises(Invalid) as refused:
        wall(typed)
    assert refused.value.code == "thing_invalid"
    assert [(p.path, p.code) for p in refused.value.problems] == [("at", code)]
    if code == "time_ambiguous":  # the person is told which offset means which
        assert "+02:00 for the first time, +01:00 for the second" in refused.value.problems[0].message
