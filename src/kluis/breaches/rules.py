"""Pure rules of the breach register (R-GOV-3): the 72-hour clock, reminders, natures and risk decisions.

No FastAPI and no database here. The AP deadline is counted in elapsed time: awareness + 72 real hours,
computed in UTC, so a daylight-saving change in between shifts the wall-clock time shown in Amsterdam, not
the instant (Art. 33(1): "not later than 72 hours after having become aware").
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from enum import StrEnum

from kluis.kit.clock import AMSTERDAM, as_utc
from kluis.kit.errors import Problem
from kluis.kit.i18n import N_, gettext

AP_TERM = timedelta(hours=72)


class Nature(StrEnum):
    """What the breach touched (the AP form's "aard van de inbreuk")."""

    CONFIDENTIALITY = "confidentiality"
    INTEGRITY = "integrity"
    AVAILABILITY = "availability"


NATURE_NL = {Nature.CONFIDENTIALITY: "vertrouwelijkheid (gegevens ingezien of verstrekt aan onbevoegden)",
             Nature.INTEGRITY: "integriteit (gegevens gewijzigd of gemanipuleerd)",
             Nature.AVAILABILITY: "beschikbaarheid (gegevens verloren of niet bereikbaar)"}


class Risk(StrEnum):
    """The DPO's assessment: what the law then asks."""

    NONE = "no_risk"  # documented in the register only (Art. 33(5))
    RISK = "risk"  # notify the AP (Art. 33)
    HIGH = "high_risk"  # notify the AP and the people concerned (Art. 34)


class Reminder(StrEnum):
    """The mails to the DPOs about the AP deadline: each is sent once."""

    DAY = "24h"
    HOURS = "4h"
    PASSED = "passed"


REMINDER_BEFORE = {Reminder.DAY: timedelta(hours=24), Reminder.HOURS: timedelta(hours=4),
                   Reminder.PASSED: timedelta(0)}


def ap_deadline(aware_at: datetime) -> datetime:
    """The instant by which the AP must be told: 72 elapsed hours after awareness, in UTC."""
    return as_utc(aware_at) + AP_TERM


def amsterdam(at: datetime) -> str:
    """An instant as benVitaal's staff read it: Amsterdam wall-clock time with its offset."""
    return as_utc(at).astimezone(AMSTERDAM).strftime("%Y-%m-%d %H:%M %Z (UTC%z)")


def time_left(deadline_at: datetime, now: datetime) -> timedelta:
    return as_utc(deadline_at) - as_utc(now)


def countdown(deadline_at: datetime, now: datetime) -> str:
    """Hours and minutes to the deadline, or how long ago it passed."""
    hours, minutes, passed = countdown_parts(deadline_at, now)
    text = f"{hours} h {minutes:02d} min"
    return f"passed {text} ago" if passed else f"{text} left"


def countdown_words(deadline_at: datetime, now: datetime) -> str:
    """The countdown in the current language (a console page's, or a mail's inside ``i18n.speaking``)."""
    hours, minutes, passed = countdown_parts(deadline_at, now)
    values = {"hours": hours, "minutes": f"{minutes:02d}"}
    return (gettext("passed %(hours)s h %(minutes)s min ago") if passed
            else gettext("%(hours)s h %(minutes)s min left")) % values


def countdown_parts(deadline_at: datetime, now: datetime) -> tuple[int, int, bool]:
    """Whole hours and minutes between now and the deadline, and whether it has passed (the console words them
    in the staff member's language)."""
    left = time_left(deadline_at, now)
    minutes = int(abs(left).total_seconds() // 60)
    return minutes // 60, minutes % 60, left < timedelta(0)


def due_reminder(deadline_at: datetime, now: datetime, sent: Iterable[str]) -> Reminder | None:
    """The latest reminder whose moment has come and that was not sent yet. A worker that was down for a day
    sends the one that fits now, not the stale ones: when the deadline has passed, only "passed"."""
    left = time_left(deadline_at, now)
    already = set(sent)
    for reminder in (Reminder.PASSED, Reminder.HOURS, Reminder.DAY):
        if left <= REMINDER_BEFORE[reminder]:
            return None if reminder.value in already else reminder
    return None


def needs_ap(risk: str | None) -> bool:
    return risk in (Risk.RISK, Risk.HIGH)


def needs_people(risk: str | None) -> bool:
    return risk == Risk.HIGH


def is_late(deadline_at: datetime, filed_at: datetime) -> bool:
    return as_utc(filed_at) > as_utc(deadline_at)


def check_incident(*, aware_at: datetime, happened_from: datetime, happened_until: datetime | None,
                   natures: Sequence[str], categories: Sequence[str], subject_types: Sequence[str],
                   known_categories: Iterable[str], known_subjects: Iterable[str], summary: str,
                   now: datetime) -> list[Problem]:
    """Everything wrong with an incident as reported, so that nothing is written until all of it holds."""
    problems: list[Problem] = []
    for name, at in (("aware_at", aware_at), ("happened_from", happened_from), ("happened_until", happened_until)):
        if at is None:
            continue
        if at.tzinfo is None:
            problems.append(Problem(name, "timezone_required", N_("give the instant with its offset, e.g. +01:00")))
        elif at > now:
            problems.append(Problem(name, "in_future", N_("this lies in the future: give when it actually was")))
    if not problems:
        if happened_until is not None and happened_until < happened_from:
            problems.append(Problem("happened_until", "before_start",
                                    N_("the end of the period lies before its start")))
        if happened_from > aware_at:
            problems.append(Problem("happened_from", "after_awareness",
                                    N_("benVitaal cannot have become aware before the breach began")))
    if not natures:
        problems.append(Problem("nature", "nature_required",
                                N_("name at least one: confidentiality, integrity, availability")))
    for value in natures:
        if value not in Nature.__members__.values():
            problems.append(Problem("nature", "nature_unknown",
                                    f"unknown nature {value!r}: confidentiality, integrity or availability"))
    problems += _known("categories", categories, set(known_categories), "category", "category_unknown")
    problems += _known("subject_types", subject_types, set(known_subjects), "data subject type",
                       "subject_type_unknown")
    if not summary.strip():
        problems.append(Problem("summary", "summary_required", N_("say briefly what happened")))
    return problems


def check_decision(risk: str, reason: str) -> list[Problem]:
    problems = []
    if risk not in Risk.__members__.values():
        problems.append(Problem("risk", "risk_unknown", N_("one of: no_risk, risk, high_risk")))
    if not reason.strip():
        problems.append(Problem("reason", "reason_required",
                                N_("every decision needs its reason: the register documents it (Art. 33(5))")))
    return problems


def _known(path: str, given: Sequence[str], known: set[str], what: str, code: str) -> list[Problem]:
    """Ids the policy must know: categories or data subject types (``what``)."""
    categories = what == "category"
    if not given:
        return [Problem(path, f"{path}_required", N_("name at least one category of the policy") if categories
                        else N_("name at least one data subject type of the policy"))]
    choices = ", ".join(sorted(known))
    return [Problem(path, code, N_("unknown category %(value)s (one of: %(choices)s)", value=repr(value),
                                   choices=choices) if categories
                    else N_("unknown data subject type %(value)s (one of: %(choices)s)", value=repr(value),
                            choices=choices))
            for value in given if value not in known]
