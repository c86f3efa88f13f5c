"""Pydantic I/O of the complaints API (R-GOV-2): the account API's and the staff API's."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from kluis.complaints.models import Complaint
from kluis.complaints.rules import MAX_TEXT, is_overdue, short_reference


class ComplaintIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: Annotated[str, Field(min_length=1, max_length=MAX_TEXT, description="the complaint, as the person wrote "
                                                                             "it; sealed at rest")]
    lang: Literal["nl", "en"] = "nl"
    request_id: Annotated[UUID | None, Field(description="a request of this person the complaint is about")] = None


class ComplaintOut(BaseModel):
    id: UUID
    reference: str
    channel: str
    state: Annotated[str, Field(description="open | answered")]
    received_at: datetime
    deadline: Annotated[date, Field(description="the last Amsterdam calendar day to answer on")]
    deadline_at: datetime
    answered_at: datetime | None

    @classmethod
    def of(cls, complaint: Complaint) -> ComplaintOut:
        return cls(id=complaint.id, reference=short_reference(complaint.id), channel=complaint.channel,
                   state=complaint.state, received_at=complaint.received_at, deadline=complaint.deadline_on,
                   deadline_at=complaint.deadline_at, answered_at=complaint.answered_at)


# --- the staff API ------------------------------------------------------------------------------------------


class RegisterIn(BaseModel):
    """A complaint that came by mail, phone or letter, registered by staff."""

    model_config = ConfigDict(extra="forbid")

    text: Annotated[str, Field(min_length=1, max_length=MAX_TEXT, description="the complaint; sealed at rest")]
    received_at: Annotated[datetime, Field(description="when it reached benVitaal, with its offset (e.g. "
                                                       "2026-11-20T16:30:00+01:00); not in the future, not before "
                                                       "2000")]
    reference: Annotated[str, Field(min_length=1, max_length=80, description="of the mail, call or letter")]
    lang: Literal["nl", "en"] = "nl"
    person_id: Annotated[UUID | None, Field(description="whose complaint it is, if known")] = None
    request_id: Annotated[UUID | None, Field(description="a request the complaint is about")] = None
    breach_ref: Annotated[str | None, Field(max_length=64, description="a breach register id")] = None


class HandlerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    handler_id: Annotated[UUID, Field(description="an active DPO or support staff account")]


class LinkIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    person_id: UUID | None = None
    request_id: Annotated[UUID | None, Field(description="a request of the complaint's person")] = None
    breach_ref: Annotated[str | None, Field(max_length=64, description="a breach register id")] = None


class TextIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: Annotated[str, Field(min_length=1, max_length=MAX_TEXT, description="sealed at rest")]


class CaseOut(BaseModel):
    """A complaint as staff handling it see it: ids, dates and state; never its text."""

    id: UUID
    reference: str
    channel: str
    state: Annotated[str, Field(description="open | answered | lapsed")]
    lang: str
    received_at: datetime
    deadline: Annotated[date, Field(description="the last Amsterdam calendar day to answer on")]
    deadline_at: datetime
    overdue: bool
    answered_at: datetime | None
    handler_id: UUID | None
    person_id: UUID | None
    request_id: UUID | None
    breach_ref: str | None
    staff_reference: Annotated[str | None, Field(description="of the mail, call or letter it came by")]

    @classmethod
    def of(cls, complaint: Complaint, now: datetime) -> CaseOut:
        return cls(id=complaint.id, reference=short_reference(complaint.id), channel=complaint.channel,
                   state=complaint.state, lang=complaint.lang, received_at=complaint.received_at,
                   deadline=complaint.deadline_on, deadline_at=complaint.deadline_at,
                   overdue=is_overdue(complaint.deadline_at, now, complaint.state), answered_at=complaint.answered_at,
                   handler_id=complaint.handler_id, person_id=complaint.person_id, request_id=complaint.request_id,
                   breach_ref=complaint.breach_ref, staff_reference=complaint.staff_reference)


class LetterOut(BaseModel):
    kind: Annotated[str, Field(description="complaint | note | answer")]
    by: str
    at: datetime
    text: str


class CaseRead(CaseOut):
    readable: Annotated[bool, Field(description="whether this staff member, through this key, reads the text")]
    correspondence: Annotated[list[LetterOut] | None, Field(description="the complaint, notes and answer, oldest "
                                                                        "first; null when not readable")]


class QueueOut(BaseModel):
    counts: Annotated[dict[str, int], Field(description="complaints per state, and how many open ones are overdue")]
    items: Annotated[list[CaseOut] | None, Field(description="by deadline; null for a role that sees counts only")]
    next_after: Annotated[UUID | None, Field(description="pass as `after` for the next page; null on the last")]
