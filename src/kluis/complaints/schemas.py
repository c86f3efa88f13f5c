"""Pydantic I/O of the complaints API (R-GOV-2)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from kluis.complaints.models import Complaint
from kluis.complaints.rules import MAX_TEXT, short_reference


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
