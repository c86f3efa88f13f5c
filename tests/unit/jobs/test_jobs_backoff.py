"""The shared backoff and lease rules of background jobs (``kluis.jobs``), with the figures each kind uses:
mail (R-CONS-2: SPEC §9, mail through a transactional outbox), access packages (R-DSR-3) and erasure (R-DSR-6)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from kluis import jobs
from kluis.erasure import rules as erasure_rules
from kluis.mail import rules as mail_rules
from kluis.rights import rules as rights_rules

NOW = datetime(2026, 11, 25, 12, tzinfo=UTC)
KIND = jobs.JobKind(object, waiting=("queued",), running="running",
                    backoff=jobs.Backoff(timedelta(minutes=1), timedelta(hours=1)))


def minutes(*values: float) -> list[timedelta]:
    return [timedelta(minutes=m) for m in values]


def test_r_cons_2_mail_retries_double_from_a_minute_up_to_six_hours_with_bounded_jitter():
    middle = [mail_rules.RETRY.after(n, lambda: 0.5) for n in range(1, 12)]
    assert middle[:4] == minutes(1, 2, 4, 8)
    assert max(middle) == timedelta(hours=6) and middle[-1] == timedelta(hours=6)
    assert mail_rules.RETRY.after(3, lambda: 0.0) == timedelta(minutes=3)
    assert mail_rules.RETRY.after(3, lambda: 0.999999) < timedelta(minutes=5)


def test_r_dsr_3_package_builds_are_retried_after_1_2_4_minutes_up_to_an_hour():
    assert [rights_rules.PACKAGE_RETRY.after(n) for n in range(0, 10)] == minutes(1, 1, 2, 4, 8, 16, 32, 60, 60, 60)


def test_r_dsr_6_a_waiting_erasure_is_tried_again_after_1_2_4_minutes_up_to_six_hours():
    assert [erasure_rules.RETRY.after(n) for n in range(1, 12)] == minutes(1, 2, 4, 8, 16, 32, 64, 128, 256, 360, 360)


@pytest.mark.parametrize("attempts", [0, 1, 2, 5, 9, 10, 11, 17, 40, 10_000])
def test_r_cons_2_r_dsr_3_r_dsr_6_each_kind_keeps_the_figures_it_had_before_the_backoff_was_shared(attempts):
    """The formulas each kind used before ``kluis.jobs.Backoff`` served them all, written out once more."""
    for draw in (0.0, 0.25, 0.5, 0.999999):
        doublings = min(max(0, attempts - 1), 16)
        mail = min(timedelta(minutes=1) * (1 << doublings), timedelta(hours=6)) * (0.75 + 0.5 * draw)
        assert mail_rules.RETRY.after(attempts, lambda d=draw: d) == mail
    package = min(timedelta(minutes=1) * (1 << min(max(0, attempts - 1), 10)), timedelta(hours=1))
    assert rights_rules.PACKAGE_RETRY.after(attempts) == package
    erasure = min(60 * 2 ** max(attempts - 1, 0), 6 * 3600)
    assert erasure_rules.RETRY.after(attempts) == timedelta(seconds=erasure)


def test_r_cons_2_a_backoff_with_jitter_needs_randomness_and_a_backoff_must_make_sense():
    with pytest.raises(ValueError, match="randomness"):
        mail_rules.RETRY.after(1)
    for first, longest, jitter in ((timedelta(0), timedelta(hours=1), 0.0),
                                   (timedelta(hours=2), timedelta(hours=1), 0.0),
                                   (timedelta(minutes=1), timedelta(hours=1), 1.0)):
        with pytest.raises(ValueError, match="backoff"):
            jobs.Backoff(first, longest, jitter)


def test_r_dsr_6_a_lease_lapses_when_its_end_comes_and_a_job_nobody_holds_has_none():
    end = NOW + timedelta(minutes=10)
    assert not jobs.lapsed(end, NOW + timedelta(minutes=9, seconds=59))
    assert jobs.lapsed(end, end) and jobs.lapsed(end, end + timedelta(seconds=1))
    assert not jobs.lapsed(None, NOW)


@dataclass
class Row:
    """A job as the lease sees it, outside any database."""

    id: int = 1
    state: str = "queued"
    attempts: int = 0
    next_attempt_at: datetime = NOW
    locked_until: datetime | None = None
    locked_by: str | None = None


@pytest.mark.parametrize("counts_claims", [True, False], ids=["claims counted", "retries counted"])
def test_r_dsr_3_r_dsr_6_take_renew_retry_and_release_move_one_job(counts_claims):
    """Taking holds the job for its owner until the lease's end; renewing moves that end; a retry waits out the
    backoff, released; what ``attempts`` counts is the kind's choice."""
    kind = jobs.JobKind(object, waiting=("queued",), running="running", backoff=KIND.backoff,
                        counts_claims=counts_claims, lease_ends_next_attempt=counts_claims)
    row = Row()
    jobs.take(row, kind, "worker-a", NOW, timedelta(minutes=5))
    assert (row.state, row.locked_by, row.locked_until) == ("running", "worker-a", NOW + timedelta(minutes=5))
    assert row.attempts == (1 if counts_claims else 0)
    assert row.next_attempt_at == (NOW + timedelta(minutes=5) if counts_claims else NOW)
    assert jobs.holds(row, kind, "worker-a") and not jobs.holds(row, kind, "worker-b")
    assert jobs.live(row, kind, NOW + timedelta(minutes=4)) and not jobs.live(row, kind, NOW + timedelta(minutes=5))
    jobs.renew(row, kind, NOW + timedelta(minutes=4), timedelta(minutes=5))
    assert row.locked_until == NOW + timedelta(minutes=9) and jobs.live(row, kind, NOW + timedelta(minutes=8))
    jobs.retry(row, kind, NOW + timedelta(minutes=6), "queued")
    assert (row.state, row.locked_by, row.locked_until, row.attempts) == ("queued", None, None, 1)
    assert row.next_attempt_at == NOW + timedelta(minutes=7) and not jobs.live(row, kind, NOW)
    assert jobs.used_up(row, 1) and not jobs.used_up(row, 2)
    jobs.take(row, kind, "worker-b", NOW, timedelta(minutes=5))
    jobs.release(row)
    assert (row.locked_by, row.locked_until) == (None, None) and not jobs.holds(row, kind, "worker-b")
