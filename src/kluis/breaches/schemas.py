"""Input and output of the breach register's API (R-GOV-3)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from kluis.breaches import rules
from kluis.breaches.models import Breach, BreachFiling
from kluis.breaches.service import MAX_TEXT, Breaches, IncidentIn, reference

Long = Annotated[str, Field(max_length=MAX_TEXT)]
Id = Annotated[str, Field(max_length=40)]


class IncidentBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    aware_at: Annotated[datetime, Field(description="when benVitaal became aware, with its offset; not in the future")]
    happened_from: Annotated[datetime, Field(description="when the breach began")]
    happened_until: Annotated[datetime | None, Field(description="when it ended (none: still going on)")] = None
    nature: Annotated[list[Literal["confidentiality", "integrity", "availability"]], Field(min_length=1, max_length=3)]
    categories: Annotated[list[Id], Field(min_length=1, max_length=40, description="category ids of the policy")]
    subject_types: Annotated[list[Id], Field(min_length=1, max_length=20, description="data subject ids of the policy")]
    employer_ids: Annotated[list[UUID], Field(max_length=1000, description="none: every employer")] = []
    cross_border: bool = False
    summary: Long
    systems: Long = ""
    consequences: Long = ""
    measures: Long = ""

    def incident(self) -> IncidentIn:
        return IncidentIn(**self.model_dump())


class AmendBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    summary: Long | None = None
    systems: Long | None = None
    consequences: Long | None = None
    measures: Long | None = None
    happened_until: datetime | None = None

    def texts(self) -> dict[str, str]:
        return {k: v for k, v in self.model_dump(exclude={"happened_until"}).items() if v is not None}


class DecisionBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    risk: Literal["no_risk", "risk", "high_risk"]
    reason: Annotated[str, Field(max_length=MAX_TEXT, description="why: recorded, audited, sealed")]


class FilingBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ap_reference: Annotated[str, Field(max_length=80, description="the reference the AP gave the filing")]
    filed_at: Annotated[datetime | None, Field(description="when it was filed (default: now)")] = None
    late_reason: Annotated[str, Field(max_length=MAX_TEXT, description="required when filed after the deadline")] = ""
    changes: Annotated[str, Field(max_length=MAX_TEXT, description="a follow-up: which facts changed")] = ""


class FilingOut(BaseModel):
    id: UUID
    kind: str
    filed_at: datetime
    filed_by: str
    ap_reference: str
    late: bool

    @classmethod
    def of(cls, row: BreachFiling) -> FilingOut:
        return cls(id=row.id, kind=row.kind, filed_at=row.filed_at, filed_by=row.filed_by,
                   ap_reference=row.ap_reference, late=row.late)


class NotificationOut(BaseModel):
    state: str | None
    notified: int
    skipped: int


class BreachOut(BaseModel):
    id: UUID
    reference: str
    aware_at: datetime
    deadline_at: datetime
    deadline_amsterdam: str
    countdown: str
    happened_from: datetime
    happened_until: datetime | None
    nature: list[str]
    categories: list[str]
    subject_types: list[str]
    employer_ids: list[str]
    cross_border: bool
    summary: str
    systems: str
    consequences: str
    measures: str
    reported_by: str
    reported_at: datetime
    risk: str | None
    risk_reason: str
    decided_at: datetime | None
    affected: Annotated[int, Field(description="the people concerned: counted now, or frozen at the decision")]
    ap_filed_at: datetime | None
    filings: list[FilingOut]
    notification: NotificationOut

    @classmethod
    def of(cls, breaches: Breaches, row: Breach) -> BreachOut:
        now = breaches.kluis.clock.now()
        return cls(id=row.id, reference=reference(row.id), aware_at=row.aware_at, deadline_at=row.deadline_at,
                   deadline_amsterdam=rules.amsterdam(row.deadline_at), countdown=rules.countdown(row.deadline_at, now),
                   happened_from=row.happened_from, happened_until=row.happened_until, nature=row.nature,
                   categories=row.categories, subject_types=row.subject_types, employer_ids=row.employer_ids,
                   cross_border=row.cross_border, **breaches.texts(row), reported_by=row.reported_by,
                   reported_at=row.reported_at, risk=row.risk, risk_reason=breaches.risk_reason(row),
                   decided_at=row.decided_at, affected=breaches.count_affected(row), ap_filed_at=row.ap_filed_at,
                   filings=[FilingOut.of(f) for f in breaches.filings(row.id)],
                   notification=NotificationOut(state=row.notify_state, notified=row.notified, skipped=row.skipped))


class BreachListed(BaseModel):
    id: UUID
    reference: str
    aware_at: datetime
    deadline_at: datetime
    risk: str | None
    ap_filed_at: datetime | None
    notify_state: str | None

    @classmethod
    def of(cls, row: Breach) -> BreachListed:
        return cls(id=row.id, reference=reference(row.id), aware_at=row.aware_at, deadline_at=row.deadline_at,
                   risk=row.risk, ap_filed_at=row.ap_filed_at, notify_state=row.notify_state)


class AffectedPage(BaseModel):
    person_ids: list[UUID]
    next_after: Annotated[UUID | None, Field(description="pass as ?after= for the next page; none: the last page")]
