"""Recording disclosures and reading them back (R-DSR-3: access packages show them; Art. 19: who to tell).

A disclosure is recorded only when it was allowed: the party is in the policy's register and receives those
categories (R-SHR-1), a processor's data-processing agreement is signed and in force on the Amsterdam day of the
disclosure and its transfer is lawful (R-SHR-2, ``policy.agreements``), the gate allows the purpose for the person
at that moment (R-GATE-1), and an authority is never a routine recipient (R-SHR-3: only by order). A batch is
checked whole before anything is written: one refused item refuses the batch. A share refused by the register
(``ShareRefused``) is audited by the caller in a transaction of its own (``audit_refusal``), since the refused
one writes nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kluis.audit import service as audit
from kluis.disclosures.models import Disclosure
from kluis.gate.service import Gate
from kluis.kit.clock import Clock, as_utc
from kluis.kit.errors import Invalid, NotAllowed, Problem
from kluis.kit.ids import new_id
from kluis.kit.messages import N_
from kluis.policy.agreements import amsterdam_day, share_refusal
from kluis.policy.schemas import Policy, Processor, Recipient, UnknownPolicyId

MAX_BATCH = 10_000
# The purpose of a disclosure by an authority's order: not a purpose of the policy, a legal duty to comply.
ORDER_PURPOSE = "authority_order"
# A disclosure is logged when it happens; a service that logs afterwards may date it back this far.
MAX_BACKDATE = timedelta(days=31)


@dataclass(frozen=True)
class DisclosureIn:
    person_id: uuid.UUID
    party: str
    categories: Sequence[str]
    purpose: str
    at: datetime | None = None
    reference: str | None = None


@dataclass
class ShareRefused(NotAllowed):
    """R-SHR-2: the register does not allow data to go to a processor at that moment. ``refused``: per refused item,
    (person id, party, reason code)."""

    code: str = "share_refused"
    refused: list[tuple[uuid.UUID, str, str]] = field(default_factory=list)


def audit_refusal(session: Session, clock: Clock, actor: str, refused: ShareRefused) -> None:
    """Record that shares were refused (ids, parties and reason codes only), in the caller's own transaction."""
    audit.append(session, clock, actor=actor, action="disclosure.refused", object_type="person",
                 object_ids=sorted({person_id for person_id, _, _ in refused.refused}, key=str)[:100],
                 details={"refused": len(refused.refused), "people": len({r[0] for r in refused.refused}),
                          "parties": sorted({r[1] for r in refused.refused}),
                          "reasons": sorted({r[2] for r in refused.refused})})


@dataclass
class Disclosures:
    session: Session
    policy: Policy
    clock: Clock
    actor: str

    def record(self, items: Sequence[DisclosureIn], allowed_purposes: Sequence[str] | None = None,
               single: bool = False) -> list[Disclosure]:
        """Record these disclosures, all or none. ``allowed_purposes``: the purposes the caller's key may use
        (None: staff, any purpose)."""
        if not items:
            raise Invalid("no disclosures given", code="disclosures_empty",
                          problems=[Problem("items", "empty", "give at least one disclosure")])
        if len(items) > MAX_BATCH:
            raise Invalid(f"at most {MAX_BATCH:,} disclosures per call", code="disclosures_too_many",
                          problems=[Problem("items", "too_many", f"at most {MAX_BATCH:,}")])
        now = self.clock.now()
        self._check_agreements(items, single, now)
        problems: list[Problem] = []
        foreign: list[Problem] = []
        for i, item in enumerate(items):
            at = "" if single else f"items[{i}]."
            problems += self._check(item, at, now)
            if allowed_purposes is not None and item.purpose in self.policy.purpose_ids \
                    and item.purpose not in allowed_purposes:
                foreign.append(Problem(f"{at}purpose", "purpose_not_allowed",
                                       f"this key may not be used for purpose {item.purpose!r}"))
        if problems:
            raise Invalid("the disclosure was not recorded" if single else "no disclosure of the batch was recorded",
                          code="disclosure_invalid", problems=problems)
        if foreign:
            raise NotAllowed("a key may only log disclosures for its own purposes", code="purpose_not_allowed",
                             problems=foreign)
        self._check_people_and_gate(items, single)
        rows = [Disclosure(id=new_id(), person_id=item.person_id, party=item.party,
                           categories=sorted(set(item.categories)), purpose=item.purpose,
                           at=as_utc(item.at) if item.at else now, reference=item.reference,
                           recorded_by=self.actor, recorded_at=now) for item in items]
        self.session.add_all(rows)
        self.session.flush()
        audit.append(self.session, self.clock, actor=self.actor, action="disclosure.recorded",
                     object_type="disclosure", object_ids=[r.id for r in rows][:100],
                     details={"disclosures": len(rows), "people": len({r.person_id for r in rows}),
                              "parties": sorted({r.party for r in rows}),
                              "purposes": sorted({r.purpose for r in rows})})
        return rows

    def of(self, person_id: uuid.UUID, shown_at: datetime | None = None) -> list[Disclosure]:
        """The person's disclosures; with ``shown_at``, only those the person may see then: an authority's order
        can defer telling them (R-SHR-3) until ``withheld_until``."""
        rows = self.session.scalars(select(Disclosure).where(Disclosure.person_id == person_id)
                                    .order_by(Disclosure.at, Disclosure.party, Disclosure.id))
        return [d for d in rows if shown_at is None or d.withheld_until is None or as_utc(d.withheld_until) <= shown_at]

    def for_package(self, person_id: uuid.UUID, at: datetime) -> list[dict[str, Any]]:
        """As the access package made at ``at`` shows them (disclosures.json and the report): without those an
        authority's order still keeps from the person then (R-SHR-3)."""
        return [{"recipient": d.party, "at": d.at.isoformat(), "categories": list(d.categories),
                 "purpose": d.purpose, "reference": d.reference} for d in self.of(person_id, at)]

    def record_by_order(self, order_id: uuid.UUID, party: str, person_ids: Sequence[uuid.UUID],
                        categories: Sequence[str], reference: str, withheld_until: datetime | None) -> list[Disclosure]:
        """Log the disclosure to an authority under an approved order (R-SHR-3), one row per person. The routine
        checks do not apply: the order service checked the order, its people and its DPO's approval; the gate
        does not apply either, as an order overrides consent and objection."""
        now = self.clock.now()
        rows = [Disclosure(id=new_id(), person_id=pid, party=party, categories=sorted(set(categories)),
                           purpose=ORDER_PURPOSE, at=now, reference=reference[:80], recorded_by=self.actor,
                           recorded_at=now, order_id=order_id, withheld_until=withheld_until) for pid in person_ids]
        self.session.add_all(rows)
        self.session.flush()
        audit.append(self.session, self.clock, actor=self.actor, action="disclosure.recorded",
                     object_type="disclosure", object_ids=[order_id, *[r.id for r in rows][:100]],
                     details={"disclosures": len(rows), "people": len(rows), "parties": [party],
                              "purposes": [ORDER_PURPOSE], "order": str(order_id),
                              "withheld": withheld_until is not None})
        return rows

    # --- checks -------------------------------------------------------------------------------

    def _check(self, item: DisclosureIn, at: str, now: datetime) -> list[Problem]:
        problems: list[Problem] = []
        party = self._party(item.party)
        if party is None:
            problems.append(Problem(f"{at}party", "party_unknown",
                                    "a recipient or processor of the policy: recipient:<id> or processor:<id>"))
        elif isinstance(party, Recipient) and party.requires_order:
            problems.append(Problem(f"{at}party", "order_required",
                                    "an authority receives data only by a written order, approved by the DPO "
                                    "(R-SHR-3); it is not logged as a routine disclosure"))
        if item.purpose not in self.policy.purpose_ids:
            problems.append(Problem(f"{at}purpose", "purpose_unknown", f"unknown purpose {item.purpose!r}"))
        if not item.categories:
            problems.append(Problem(f"{at}categories", "categories_required", "name the categories disclosed"))
        known = {c.id for c in self.policy.categories}
        for category in item.categories:
            if category not in known:
                problems.append(Problem(f"{at}categories", "category_unknown", f"unknown category {category!r}"))
            elif party is not None and category not in party.categories:
                problems.append(Problem(f"{at}categories", "category_not_shared",
                                        f"the policy does not share {category!r} with {item.party}"))
        if item.at is not None:
            if item.at.tzinfo is None:
                problems.append(Problem(f"{at}at", "timezone_required", "give a time zone"))
            elif item.at > now:
                problems.append(Problem(f"{at}at", "in_future", "a disclosure is logged once it has happened"))
            elif item.at < now - MAX_BACKDATE:
                problems.append(Problem(f"{at}at", "too_old", "log a disclosure within 31 days of it"))
        if item.reference is not None and len(item.reference) > 80:
            problems.append(Problem(f"{at}reference", "too_long", "at most 80 characters"))
        return problems

    def _check_agreements(self, items: Sequence[DisclosureIn], single: bool, now: datetime) -> None:
        """R-SHR-2: every item to a processor must fall on a day its agreement covers (the day of ``at``, in
        Amsterdam, else today), and its transfers must be lawful. Checked first, so that a refusal is always
        audited, whatever else is wrong with the batch."""
        problems: list[Problem] = []
        refused: list[tuple[uuid.UUID, str, str]] = []
        for i, item in enumerate(items):
            party = self._party(item.party)
            if not isinstance(party, Processor):
                continue
            when = item.at if item.at is not None and item.at.tzinfo is not None else now
            refusal = share_refusal(party, amsterdam_day(when))
            if refusal is not None:
                problems.append(Problem("party" if single else f"items[{i}].party", refusal.code,
                                        N_("%(party)s: %(reason)s (R-SHR-2)", party=item.party,
                                           reason=refusal.reason)))
                refused.append((item.person_id, item.party, refusal.code))
        if refused:
            raise ShareRefused("personal data may not go to this processor now: " + problems[0].message
                               if single else "no disclosure of the batch was recorded: a processor may not "
                               "receive personal data then", problems=problems[:100], refused=refused)

    def _check_people_and_gate(self, items: Sequence[DisclosureIn], single: bool) -> None:
        """One read of the gate's facts answers both: is the person held (not erased), and is the purpose
        allowed for them now."""
        decisions = Gate(self.session, self.policy, self.clock, self.actor).decide_many(
            [(item.person_id, item.purpose) for item in items])
        unknown, refused = [], []
        for i, (item, decision) in enumerate(zip(items, decisions, strict=True)):
            if decision.reason in ("person_unknown", "person_erased"):
                unknown.append(Problem("person_id" if single else f"items[{i}].person_id", "person_not_found",
                                       "no such person"))
            elif not decision.allowed:
                refused.append(Problem("purpose" if single else f"items[{i}].purpose", decision.reason,
                                       f"the gate refuses purpose {item.purpose!r} for this person "
                                       f"({decision.reason})"))
        if unknown:
            raise Invalid("the disclosure names a person Kluis does not hold", code="person_not_found",
                          problems=unknown[:100])
        if refused:
            raise NotAllowed("processing for this purpose is not allowed, so neither is the disclosure",
                             code="disclosure_refused", problems=refused[:100])

    def _party(self, ref: str) -> Recipient | Processor | None:
        try:
            return self.policy.party(ref)
        except (UnknownPolicyId, KeyError, ValueError):
            return None
