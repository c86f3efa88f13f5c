"""Pure staff rules (R-GATE-2): who may read personal data, which passwords pass, when logins lock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from kluis.staff import rules
from kluis.staff.rules import Lockout, Permission, Role

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
POLICY = Lockout.of(max_failures=3, minutes=15)


def test_r_gate_2_only_dpo_and_support_may_read_personal_data() -> None:
    readers = {role for role in Role if rules.may(role, Permission.PEOPLE_READ)}
    assert readers == {Role.DPO, Role.SUPPORT}


def test_r_gate_2_auditor_reads_audit_and_counts_but_never_personal_data() -> None:
    granted = rules.PERMISSIONS[Role.AUDITOR]
    assert Permission.AUDIT_READ in granted and Permission.COUNTS in granted
    assert Permission.PEOPLE_READ not in granted and Permission.MARKETING not in granted


def test_r_gate_2_dpo_may_do_everything_and_every_role_may_use_the_console() -> None:
    assert rules.PERMISSIONS[Role.DPO] == frozenset(Permission)
    assert all(rules.may(role, Permission.CONSOLE) for role in Role)
    assert rules.may("marketing", Permission.MARKETING) and not rules.may("support", Permission.MARKETING)


def test_r_gate_2_unknown_role_may_do_nothing() -> None:
    assert rules.parse_role("root") is None
    assert not any(rules.may("root", p) for p in Permission)
    assert rules.parse_role(" DPO ") is Role.DPO


@pytest.mark.parametrize("password", ["short-1A", "aaaaaaaaaaaaaaaa", "abababababababab", "abcdefghijklmnop",
                                      "1234567890123", "qwertyuiopasdf", " leading-space-pass", "x" * 200])
def test_r_gate_2_weak_passwords_are_refused(password: str) -> None:
    assert rules.password_problems(password)


def test_r_gate_2_password_containing_the_email_name_is_refused() -> None:
    problems = rules.password_problems("annadevries-2026!", "annadevries@benvitaal.nl")
    assert problems == ["do not include your e-mail address"]


@pytest.mark.parametrize("password", ["correct horse battery staple", "Tr0ub4dor&3-extra", "kbW9x-PqT4r-Lm2Zs"])
def test_r_gate_2_reasonable_passwords_pass(password: str) -> None:
    assert rules.password_problems(password, "someone@benvitaal.nl") == []


def test_r_gate_2_lockout_after_max_consecutive_failures() -> None:
    counter = rules.LoginCounter(0, None)
    for expected in (1, 2):
        counter = rules.after_failure(counter.failed, counter.locked_until, NOW, POLICY)
        assert counter.failed == expected and counter.locked_until is None and not counter.just_locked
    counter = rules.after_failure(counter.failed, counter.locked_until, NOW, POLICY)
    assert counter.just_locked and counter.locked_until == NOW + timedelta(minutes=15)
    assert rules.is_locked(counter.locked_until, NOW + timedelta(minutes=14, seconds=59))
    assert not rules.is_locked(counter.locked_until, NOW + timedelta(minutes=15))


def test_r_gate_2_an_expired_lock_gives_a_fresh_set_of_attempts() -> None:
    expired = NOW - timedelta(seconds=1)
    counter = rules.after_failure(0, expired, NOW, POLICY)
    assert counter == rules.LoginCounter(failed=1, locked_until=None)


def test_r_gate_2_success_resets_the_counter() -> None:
    assert rules.after_success() == rules.LoginCounter(0, None)


def test_r_gate_2_lockout_settings_are_bounded() -> None:
    assert Lockout.of(0, 0) == Lockout(1, timedelta(minutes=1))


def test_r_gate_2_totp_window_is_one_step_each_side() -> None:
    current = rules.totp_step(NOW)
    assert current == int(NOW.timestamp()) // 30
    assert rules.acceptable_steps(current, None) == [current - 1, current, current + 1]


def test_r_gate_2_totp_steps_at_or_before_the_last_used_one_are_refused() -> None:
    current = rules.totp_step(NOW)
    assert rules.acceptable_steps(current, current) == [current + 1]
    assert rules.acceptable_steps(current, current - 1) == [current, current + 1]
    assert rules.acceptable_steps(current, current + 1) == []


@pytest.mark.parametrize(("code", "ok"), [("123456", True), ("12345", False), ("1234567", False),
                                          ("12345a", False), ("١٢٣٤٥٦", False)])
def test_r_gate_2_a_code_is_six_ascii_digits(code: str, ok: bool) -> None:
    assert rules.looks_like_code(code) is ok
