"""Pure rules of complaint handling (R-GOV-2): states, the deadline in Amsterdam calendar days, reminders,
and who may read a complaint's text. No framework and no database here."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum

from kluis.kit.clock import AMSTERDAM, as_utc, past_instant
from kluis.kit.errors import Invalid
from kluis.kit.i18n import N_
from kluis.staff.rules import Permission, may

REMINDER_DAYS = (7, 2)  # before the deadline, to the handler and the DPOs
OVERDUE = 0  # the reminder sent once the deadline has passed
MAX_TEXT = 10_000
KINDS = ("complaint", "note", "answer")


class Channel(StrEnum):
    PRIVACY_CENTRE = "privacy_centre"
    ACCOUNT = "account"
    STAFF = "staff"


class State(StrEnum):
    UNVERIFIED = "unverified"  # privacy centre: waits for the code sent to the address given
    OPEN = "open"
    ANSWERED = "answered"
    LAPSED = "lapsed"  # never confirmed in time: its text deleted


CLOSED = frozenset({State.ANSWERED, State.LAPSED})


@dataclass(frozen=True)
class Deadline:
    day: date  # the last Amsterdam calendar day to answer on
    at: datetime  # the instant (UTC) that day ends in Amsterdam


def deadline(received_at: datetime, days: int) -> Deadline:
    """Receipt date in Amsterdam plus ``days`` calendar days; due at the end of that day there (DST-safe)."""
    day = as_utc(received_at).astimezone(AMSTERDAM).date() + timedelta(days=days)
    return Deadline(day, datetime.combine(day + timedelta(days=1), time(0), tzinfo=AMSTERDAM).astimezone(UTC))


def check_received_at(received_at: datetime, now: datetime) -> datetime:
    """When a complaint really reached benVitaal: an instant with its offset, not in the future."""
    return past_instant(received_at, now, N_("the receipt time"), "received")


def check_text(text: str, what: str = "the complaint") -> str:
    """A complaint's text or a note on it (``what``: "the complaint" or "the note"), stripped."""
    cleaned = (text or "").strip()
    if not cleaned:
        raise Invalid(N_("write the note: it cannot be empty") if what == "the note"
                      else N_("write the complaint: it cannot be empty"), code="text_required")
    if len(cleaned) > MAX_TEXT:
        raise Invalid(N_("the note is at most %(count)s characters", count=MAX_TEXT) if what == "the note"
                      else N_("the complaint is at most %(count)s characters", count=MAX_TEXT), code="text_too_long")
    return cleaned


def check_lang(lang: str) -> str:
    if lang not in ("nl", "en"):
        raise Invalid(N_("language is nl or en"), code="lang_unknown")
    return lang


def is_overdue(deadline_at: datetime, now: datetime, state: str) -> bool:
    return State(state) not in CLOSED and as_utc(now) >= as_utc(deadline_at)


def reminder_due(deadline_on: date, deadline_at: datetime, now: datetime, state: str,
                 sent: tuple[int, ...] = ()) -> int | None:
    """The reminder to send now, if any: ``OVERDUE`` once the deadline passed, else the closest of
    ``REMINDER_DAYS`` reached and not sent. Only open complaints are reminded of."""
    if State(state) != State.OPEN:
        return None
    if as_utc(now) >= as_utc(deadline_at):
        return None if OVERDUE in sent else OVERDUE
    left = (deadline_on - as_utc(now).astimezone(AMSTERDAM).date()).days
    due = [d for d in REMINDER_DAYS if left <= d and d not in sent]
    return min(due) if due else None


def may_read(role: str, staff_id: uuid.UUID, handler_id: uuid.UUID | None) -> bool:
    """The text and correspondence: DPO staff, and the one handler assigned (whatever their role)."""
    return may(role, Permission.COMPLAINTS_READ) or (handler_id is not None and staff_id == handler_id)


def short_reference(complaint_id: uuid.UUID) -> str:
    text = complaint_id.hex[:8].upper()
    return f"KL-{text[:4]}-{text[4:]}"
