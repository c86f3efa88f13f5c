"""When a processor may receive personal data (R-SHR-2), as pure rules on the register.

Sharing with a processor is allowed on a day only when its data-processing agreement is signed, in force that day
and not ended, and when its transfer (and each sub-processor's) is lawful: inside the EEA, under an EU adequacy
decision that covers the country, or under EU standard contractual clauses whose version is stated. Days are
calendar days in Amsterdam: an agreement signed on 2024-03-11 covers all of that day there, one ending on
2027-03-31 covers all of that day there, and nothing after it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from kluis.kit.clock import AMSTERDAM, as_utc
from kluis.kit.i18n import N_
from kluis.policy.rules import transfer_gap
from kluis.policy.schemas import Agreement, Policy, Processor

# The console highlights agreements ending within this many days; the DPOs are mailed these many days before.
ENDING_WITHIN_DAYS = 60
REMINDER_DAYS = (60, 14)


@dataclass(frozen=True)
class Refusal:
    """Why data may not go to a processor now: a stable code and a sentence a person can act on."""

    code: str
    reason: str


def amsterdam_day(at: datetime) -> date:
    """The calendar day in Amsterdam of an instant."""
    return as_utc(at).astimezone(AMSTERDAM).date()


def share_refusal(processor: Processor, day: date) -> Refusal | None:
    """Why sharing personal data with ``processor`` on ``day`` (Amsterdam) is refused, or None when it is allowed."""
    agreement = processor.agreement
    if agreement is None:
        return Refusal("agreement_missing", N_("no data-processing agreement is recorded for this processor"))
    if agreement.signed is None:
        return Refusal("agreement_unsigned", N_("the data-processing agreement %(reference)s is not signed yet",
                                                reference=agreement.reference))
    if day < agreement.signed:
        return Refusal("agreement_not_in_force", N_("the data-processing agreement %(reference)s applies from %(day)s",
                                                    reference=agreement.reference, day=agreement.signed.isoformat()))
    if agreement.ends is not None and day > agreement.ends:
        return Refusal("agreement_expired", N_("the data-processing agreement %(reference)s ended on %(day)s",
                                               reference=agreement.reference, day=agreement.ends.isoformat()))
    gap = transfer_gap(processor.country, processor.transfer, processor.scc_version)
    if gap is not None:
        return Refusal(gap[0], gap[1])
    for sub in processor.sub_processors:
        gap = transfer_gap(sub.country, sub.transfer, sub.scc_version)
        if gap is not None:
            return Refusal(f"sub_processor_{gap[0]}", N_("sub-processor %(name)s: %(reason)s", name=sub.name,
                                                         reason=gap[1]))
    return None


def days_left(agreement: Agreement | None, day: date) -> int | None:
    """Days from ``day`` to the agreement's last day (0: it ends today; negative: it has ended), or None when it has
    no end."""
    if agreement is None or agreement.ends is None:
        return None
    return (agreement.ends - day).days


@dataclass(frozen=True)
class AgreementState:
    """One processor's agreement as the console lists it."""

    processor: Processor
    refusal: Refusal | None
    days_left: int | None

    @property
    def ending_soon(self) -> bool:
        return self.days_left is not None and 0 <= self.days_left <= ENDING_WITHIN_DAYS


def agreements(policy: Policy, day: date) -> list[AgreementState]:
    """Every processor's agreement on ``day``: those ending soonest first, open-ended ones last."""
    states = [AgreementState(p, share_refusal(p, day), days_left(p.agreement, day)) for p in policy.processors]
    return sorted(states, key=lambda s: (s.days_left is None, s.days_left or 0, s.processor.id))


def reminders_due(policy: Policy, day: date) -> list[tuple[Processor, Agreement, int]]:
    """(processor, agreement, days before) for each agreement whose reminder day has come and which has not ended:
    the nearest of ``REMINDER_DAYS`` at or after the days left. The caller records each one it sends, so each goes
    out once; one a worker missed (down for a week) still goes, and an agreement entered with 10 days left gets
    the 14-day reminder only, not the 60-day one as well."""
    due = []
    for processor in policy.processors:
        agreement = processor.agreement
        left = days_left(agreement, day)
        if agreement is None or left is None or left < 0:
            continue
        reached = [before for before in REMINDER_DAYS if left <= before]
        if reached:
            due.append((processor, agreement, min(reached)))
    return due
