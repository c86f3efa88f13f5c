"""Pure rules for data subject requests (R-DSR-1, R-DSR-2): deadlines in Amsterdam calendar dates,
the one extension, the state machine and the verification code limits. No database, no web."""

from __future__ import annotations

import calendar
import hashlib
import hmac
import math
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum

from kluis.jobs.rules import Backoff
from kluis.kit import signing
from kluis.kit.clock import AMSTERDAM, as_utc
from kluis.kit.errors import Conflict, Invalid
from kluis.kit.i18n import N_

FIRST_TERM_MONTHS = 1
EXTENDED_TERM_MONTHS = 3  # one month plus the two-month extension (Art. 12(3) GDPR)
REMINDER_DAYS = (7, 2)
CODE_DIGITS = 6
CODE_LIFETIME = timedelta(minutes=30)
CODE_MAX_TRIES = 5
CODES_PER_HOUR = 3


class RequestType(StrEnum):
    ACCESS = "access"
    PORTABILITY = "portability"
    RECTIFICATION = "rectification"
    ERASURE = "erasure"
    RESTRICTION = "restriction"
    OBJECTION = "objection"


OBJECTION_SCOPES = ("marketing", "profiling", "legitimate_interest")


class Channel(StrEnum):
    PRIVACY_CENTRE = "privacy_centre"
    ACCOUNT = "account"
    STAFF = "staff"


class State(StrEnum):
    RECEIVED = "received"
    VERIFIED = "verified"
    IN_PROGRESS = "in_progress"
    WAITING_ON_PERSON = "waiting_on_person"
    DONE = "done"
    REFUSED = "refused"
    EXPIRED = "expired"  # never verified in time: closed by the worker, its ties to an address deleted


CLOSED = frozenset({State.DONE, State.REFUSED, State.EXPIRED})
TRANSITIONS: dict[State, frozenset[State]] = {
    State.RECEIVED: frozenset({State.VERIFIED, State.REFUSED, State.EXPIRED}),
    State.VERIFIED: frozenset({State.IN_PROGRESS, State.REFUSED}),
    State.IN_PROGRESS: frozenset({State.WAITING_ON_PERSON, State.DONE, State.REFUSED}),
    State.WAITING_ON_PERSON: frozenset({State.IN_PROGRESS, State.REFUSED}),
    State.DONE: frozenset(),
    State.REFUSED: frozenset(),
    State.EXPIRED: frozenset(),
}


def check_scope(kind: str, scope: str | None) -> str | None:
    """An objection names what it is against; other requests carry no scope."""
    if kind not in RequestType.__members__.values():
        raise Invalid(N_("unknown request type %(kind)s", kind=repr(kind)), code="request_type_unknown")
    if kind == RequestType.OBJECTION:
        if scope not in OBJECTION_SCOPES:
            raise Invalid(N_("an objection needs a scope: one of %(choices)s", choices=", ".join(OBJECTION_SCOPES)),
                          code="objection_scope_required")
        return scope
    if scope:
        raise Invalid(N_("only an objection has a scope"), code="scope_not_allowed")
    return None


def check_transition(current: str, target: State, reason: str | None = None) -> None:
    """Refuse any move the lifecycle does not allow, with a message staff can act on."""
    state = State(current)
    if target not in TRANSITIONS[state]:
        allowed = ", ".join(sorted(TRANSITIONS[state])) or "nothing: the request is closed"
        raise Conflict(N_("a request that is %(state)s cannot become %(target)s (it may become: %(allowed)s)",
                          state=state, target=target, allowed=allowed),
                       code="transition_not_allowed")
    if target == State.REFUSED and not (reason or "").strip():
        raise Invalid(N_("a refusal needs a reason; the person is told it"), code="reason_required")


# --- deadlines ------------------------------------------------------------------------------


def add_months(day: date, months: int) -> date:
    """The same day number ``months`` later, or that month's last day where the number does not exist."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def receipt_date(received_at: datetime) -> date:
    """The calendar date in Amsterdam on which the request reached benVitaal."""
    return as_utc(received_at).astimezone(AMSTERDAM).date()


def end_of_day(day: date) -> datetime:
    """The instant (UTC) at which ``day`` ends in Amsterdam: the next day's midnight there (DST-safe)."""
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=AMSTERDAM).astimezone(UTC)


@dataclass(frozen=True)
class Deadline:
    day: date  # the last calendar day (Amsterdam) to answer on
    at: datetime  # the instant that day ends, in UTC

    @classmethod
    def after(cls, received_at: datetime, months: int) -> Deadline:
        day = add_months(receipt_date(received_at), months)
        return cls(day, end_of_day(day))


def first_deadline(received_at: datetime) -> Deadline:
    return Deadline.after(received_at, FIRST_TERM_MONTHS)


def extended_deadline(received_at: datetime) -> Deadline:
    return Deadline.after(received_at, EXTENDED_TERM_MONTHS)


def check_extension(received_at: datetime, now: datetime, state: str, extended: bool, reason: str | None) -> None:
    """Extend once, with reasons, while the first month still runs and the request is open."""
    if State(state) in CLOSED:
        raise Conflict(N_("a closed request cannot be extended"), code="request_closed")
    if extended:
        raise Conflict(N_("the deadline was already extended; it can be extended only once"), code="already_extended")
    if as_utc(now) >= first_deadline(received_at).at:
        raise Conflict(N_("the first month has passed: the extension had to be sent within it"),
                       code="extension_too_late")
    if not (reason or "").strip():
        raise Invalid(N_("an extension needs reasons; the person is told them"), code="reason_required")


def is_overdue(deadline_at: datetime, now: datetime, state: str) -> bool:
    return State(state) not in CLOSED and as_utc(now) >= as_utc(deadline_at)


def days_late(deadline_day: date, now: datetime) -> int:
    """How many Amsterdam calendar days have begun since the deadline day ended: 1 on the day after it."""
    return max(0, (as_utc(now).astimezone(AMSTERDAM).date() - deadline_day).days)


def reminder_due(deadline_day: date, now: datetime, state: str, sent: tuple[int, ...] = ()) -> int | None:
    """The reminder (days before the deadline) to send now, if any: the closest one not yet sent."""
    if State(state) in CLOSED:
        return None
    left = (deadline_day - as_utc(now).astimezone(AMSTERDAM).date()).days
    due = [d for d in REMINDER_DAYS if left <= d and d not in sent and left >= 0]
    return min(due) if due else None


# --- verification codes ---------------------------------------------------------------------


def code_digest(secret: bytes, request_id: str, code: str) -> str:
    """Only this keyed digest is stored; it is bound to the request so a code works for no other."""
    return hmac.new(secret, f"kluis/rights/code|{request_id}|{code}".encode(), hashlib.sha256).hexdigest()


def derive_code(secret: bytes, code_id: uuid.UUID) -> str:
    """The code of one issued verification, recomputable from its id: the outbox keeps only the id, so no
    working code sits in the database (the code table keeps only ``code_digest``)."""
    mac = hmac.new(secret, b"kluis/rights/code-value|" + code_id.bytes, hashlib.sha256).digest()
    return f"{int.from_bytes(mac[:8], 'big') % 10 ** CODE_DIGITS:0{CODE_DIGITS}d}"


def code_format_ok(code: str) -> bool:
    return len(code) == CODE_DIGITS and code.isascii() and code.isdigit()


def may_issue_code(issued_last_hour: int) -> bool:
    return issued_last_hour < CODES_PER_HOUR


# --- unverified requests and the intake's rate limits (R-DSR-1) -----------------------------


def unverified_expiry(received_at: datetime, days: int) -> datetime:
    """The instant (UTC) an unverified request expires: ``days`` calendar days after receipt, at the same
    wall-clock time in Amsterdam (so a daylight-saving change in between moves it by no hour)."""
    local = as_utc(received_at).astimezone(AMSTERDAM)
    return (local + timedelta(days=days)).astimezone(UTC)


def unverified_expired(received_at: datetime, now: datetime, days: int) -> bool:
    return as_utc(now) >= unverified_expiry(received_at, days)


@dataclass(frozen=True)
class Window:
    """At most ``limit`` hits in any period of ``length``: a sliding log of the hits still inside it. A fixed
    window would let twice the limit through around its edge (a full window's worth just before it ends and
    another just after)."""

    limit: int
    length: timedelta

    def admit(self, hits: Sequence[datetime], now: datetime) -> tuple[list[datetime], int | None]:
        """The log after a hit at ``now`` and None when it is admitted; else the log of hits still inside
        the window and the whole seconds (at least 1) until its oldest leaves it, for Retry-After."""
        now = as_utc(now)
        inside = sorted(as_utc(h) for h in hits if as_utc(h) > now - self.length)
        if len(inside) >= self.limit:
            oldest = inside[-self.limit]
            return inside, max(1, math.ceil((oldest + self.length - now).total_seconds()))
        return [*inside, now], None


# --- the status page link -------------------------------------------------------------------

STATUS_LINK = "rights/status"


def status_token(secret: bytes, request_id: uuid.UUID, received_at: datetime) -> str:
    """The public reference for the status page: signed, so it is never stored and cannot be guessed."""
    return signing.sign(secret, STATUS_LINK, request_id, "", as_utc(received_at))


def request_of_token(secret: bytes, token: str) -> uuid.UUID | None:
    try:
        return signing.verify(secret, STATUS_LINK, token).subject
    except signing.BadToken:
        return None


def short_reference(request_id: uuid.UUID) -> str:
    """What a person quotes on the phone: the first 8 hex digits of the id, grouped."""
    text = request_id.hex[:8].upper()
    return f"DSR-{text[:4]}-{text[4:]}"


# --- access and portability packages (R-DSR-3, R-DSR-4) --------------------------------------

PACKAGE_TYPES = frozenset({RequestType.ACCESS, RequestType.PORTABILITY})
PACKAGE_LINK = "rights/package"
DOWNLOAD_GRANT = "rights/package-download"
DOWNLOAD_GRANT_LIFETIME = timedelta(minutes=15)
# Backoff after a failed build: 1, 2, 4, ... minutes, at most an hour.
PACKAGE_RETRY = Backoff(first=timedelta(minutes=1), longest=timedelta(hours=1))


class PackageState(StrEnum):
    QUEUED = "queued"
    BUILDING = "building"
    READY = "ready"
    EXPIRED = "expired"
    FAILED = "failed"


ACTIVE_PACKAGE = frozenset({PackageState.QUEUED, PackageState.BUILDING, PackageState.READY})


def package_token(secret: bytes, package_id: uuid.UUID, ready_at: datetime) -> str:
    """The download link in the mail: signed, never stored. Expiry is the package's, not the token's."""
    return signing.sign(secret, PACKAGE_LINK, package_id, "", as_utc(ready_at))


def package_of_token(secret: bytes, token: str) -> uuid.UUID | None:
    try:
        return signing.verify(secret, PACKAGE_LINK, token).subject
    except signing.BadToken:
        return None


def package_code_subject(package_id: uuid.UUID) -> str:
    """What a download code is bound to: a code for a request (or another package) opens nothing here."""
    return f"package:{package_id}"


def download_grant(secret: bytes, package_id: uuid.UUID, now: datetime, code_id: uuid.UUID) -> str:
    """Proof, kept in a cookie for a quarter of an hour, that the person entered this package's code."""
    return signing.sign(secret, DOWNLOAD_GRANT, package_id, "", as_utc(now), code_id.bytes)


def grant_opens(secret: bytes, grant: str | None, package_id: uuid.UUID, now: datetime) -> bool:
    if not grant:
        return False
    try:
        claims = signing.verify(secret, DOWNLOAD_GRANT, grant, now=as_utc(now),
                                max_age_seconds=int(DOWNLOAD_GRANT_LIFETIME.total_seconds()))
    except signing.BadToken:
        return False
    return claims.subject == package_id and claims.issued_at <= as_utc(now) + timedelta(seconds=1)
