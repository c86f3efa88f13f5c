"""Pure decisions about staff: what each role may do, which passwords pass, when a login is locked.

No FastAPI and no database here, so the rules can be read and tested on their own.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum


class Role(StrEnum):
    DPO = "dpo"
    SUPPORT = "support"
    MARKETING = "marketing"
    AUDITOR = "auditor"


class Permission(StrEnum):
    CONSOLE = "console"  # sign in and see the dashboard
    COUNTS = "counts.read"  # aggregated numbers: no person can be picked out
    PEOPLE_READ = "people.read"  # decrypted personal data of data subjects
    AUDIT_READ = "audit.read"  # the audit log and the state of its chain
    MARKETING = "marketing"  # the marketing areas of the console
    REQUESTS_RECORD = "requests.record"  # register what a person asked by e-mail or letter (opt-out, ...)
    REQUESTS_ASSIGN = "requests.assign"  # give a request to one staff member who handles requests: the DPO
    LEGAL_HOLDS = "legal_holds"  # place and release legal holds, which stop erasure and the sweep (R-RET-3)
    OBJECTIONS_ASSESS = "objections.assess"  # weigh an objection against compelling grounds (Art. 21(1)): the DPO
    BREACH_REPORT = "breaches.report"  # register an incident and read the breach register (R-GOV-3)
    BREACH_DECIDE = "breaches.decide"  # decide on the risk, file with the AP, notify the people concerned
    ORDERS_RECORD = "orders.record"  # record authority orders and refused informal requests (R-SHR-3)
    ORDERS_DECIDE = "orders.decide"  # approve or reject an order recorded by someone else, produce its data
    # Complaints (R-GOV-2): the list (that a complaint exists, its dates) and registering one; the text and
    # correspondence, and assigning a handler (DPO; an assigned handler reads their own complaint only).
    COMPLAINTS_LIST = "complaints.list"
    COMPLAINTS_READ = "complaints.read"
    POLICY_PUBLISH = "policy.publish"  # publish a new version of the policy for its moment (R-GOV-4): the DPO
    # Set an employer's privacy contact and service agreement (R-DSR-8), mark an Art. 19 notice told: the DPO.
    EMPLOYERS_MANAGE = "employers.manage"


PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.DPO: frozenset(Permission),
    Role.SUPPORT: frozenset({Permission.CONSOLE, Permission.COUNTS, Permission.PEOPLE_READ,
                             Permission.REQUESTS_RECORD, Permission.BREACH_REPORT, Permission.ORDERS_RECORD,
                             Permission.COMPLAINTS_LIST}),
    Role.MARKETING: frozenset({Permission.CONSOLE, Permission.COUNTS, Permission.MARKETING}),
    # An auditor checks the controls, not the people: never personal data.
    Role.AUDITOR: frozenset({Permission.CONSOLE, Permission.COUNTS, Permission.AUDIT_READ}),
}

ROLE_NAMES = tuple(r.value for r in Role)


def parse_role(value: str) -> Role | None:
    try:
        return Role(value.strip().lower())
    except ValueError:
        return None


def may(role: str, permission: Permission) -> bool:
    parsed = parse_role(role)
    return parsed is not None and permission in PERMISSIONS[parsed]


# --- passwords --------------------------------------------------------------------------------

MIN_PASSWORD = 12
MAX_PASSWORD = 128  # argon2 takes any length; a bound keeps a login request from costing too much
MIN_DISTINCT = 5
_RUNS = ("abcdefghijklmnopqrstuvwxyz", "0123456789", "qwertyuiopasdfghjklzxcvbnm")


def password_problems(password: str, email: str = "") -> list[str]:
    """Why a chosen password is refused, in words a person can act on; empty when it is fine."""
    problems: list[str] = []
    if len(password) < MIN_PASSWORD:
        problems.append(f"use at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        problems.append(f"use at most {MAX_PASSWORD} characters")
    if password != password.strip():
        problems.append("do not start or end with a space")
    if len(set(password.lower())) < MIN_DISTINCT:
        problems.append(f"use at least {MIN_DISTINCT} different characters")
    elif _is_run(password.lower()):
        problems.append("do not use a run of consecutive keys or letters")
    local = email.split("@", 1)[0].lower()
    if len(local) >= 4 and local in password.lower():
        problems.append("do not include your e-mail address")
    return problems


def _is_run(text: str) -> bool:
    """True for a password made only of a slice of the alphabet, the digits or a keyboard row, repeated."""
    for run in _RUNS:
        for reverse in (False, True):
            sequence = run[::-1] if reverse else run
            doubled = sequence * (len(text) // len(sequence) + 2)
            if text in doubled:
                return True
    return False


# --- lockout ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Lockout:
    """After ``max_failures`` consecutive failed logins, the account is locked for ``duration``."""

    max_failures: int
    duration: timedelta

    @classmethod
    def of(cls, max_failures: int, minutes: int) -> Lockout:
        return cls(max(1, max_failures), timedelta(minutes=max(1, minutes)))


@dataclass(frozen=True)
class LoginCounter:
    failed: int
    locked_until: datetime | None
    just_locked: bool = False


def is_locked(locked_until: datetime | None, now: datetime) -> bool:
    return locked_until is not None and now < locked_until


def after_failure(failed: int, locked_until: datetime | None, now: datetime, policy: Lockout) -> LoginCounter:
    """Count one failed attempt. A lock that has run out gives a fresh set of attempts."""
    if locked_until is not None and not is_locked(locked_until, now):
        failed, locked_until = 0, None
    failed += 1
    if failed >= policy.max_failures:
        return LoginCounter(failed=0, locked_until=now + policy.duration, just_locked=True)
    return LoginCounter(failed=failed, locked_until=locked_until)


def after_success() -> LoginCounter:
    return LoginCounter(failed=0, locked_until=None)


# --- one-time codes ---------------------------------------------------------------------------

TOTP_STEP_SECONDS = 30
TOTP_WINDOW = 1  # one step either side, for clocks that drift a little


def totp_step(at: datetime) -> int:
    return int(at.timestamp()) // TOTP_STEP_SECONDS


def acceptable_steps(current: int, last_used: int | None) -> list[int]:
    """The steps whose code may still be accepted: within the window, and later than the last one used.

    Refusing any step at or before the last used one stops a code seen over someone's shoulder
    (or in a proxy log) from being used a second time.
    """
    window = range(current - TOTP_WINDOW, current + TOTP_WINDOW + 1)
    return [step for step in window if last_used is None or step > last_used]


def looks_like_code(code: str) -> bool:
    return len(code) == 6 and code.isascii() and code.isdigit()
