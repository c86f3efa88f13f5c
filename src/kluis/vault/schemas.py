"""What the vault API takes and gives."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

MAX_BATCH = 10_000


class IdentifierIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["email", "phone", "employee_number"]
    value: Annotated[str, Field(min_length=1, max_length=320)]
    scope: Annotated[str | None, Field(max_length=64)] = None


class PersonIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    subject_types: Annotated[list[str], Field(min_length=1, max_length=10)]
    employer_id: UUID | None = None
    identifiers: Annotated[list[IdentifierIn], Field(max_length=20)] = []


class PersonPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    subject_types: Annotated[list[str] | None, Field(min_length=1, max_length=10)] = None
    employer_id: UUID | None = None
    add_identifiers: Annotated[list[IdentifierIn], Field(max_length=20)] = []
    remove_identifiers: Annotated[list[IdentifierIn], Field(max_length=20)] = []


class IdentifierOut(BaseModel):
    kind: str
    scope: str


class PersonOut(BaseModel):
    id: UUID
    subject_types: list[str]
    employer_id: UUID | None
    identifiers: list[IdentifierOut]
    created_at: datetime
    updated_at: datetime


class LookupIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    identifier: IdentifierIn


class FileIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    media_type: Annotated[str, Field(max_length=100)]
    data_base64: Annotated[str, Field(max_length=14_000_000)]


class RecordIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    category: Annotated[str, Field(max_length=40)]
    purposes: Annotated[list[Annotated[str, Field(max_length=40)]], Field(min_length=1, max_length=20)]
    legal_basis: Annotated[str, Field(max_length=24)]
    source: Annotated[str, Field(max_length=24)]
    controller: Literal["benvitaal", "employer"] = "benvitaal"
    controller_employer_id: UUID | None = None
    content: dict[str, Any] | None = None
    file: FileIn | None = None
    collected_at: datetime | None = None
    last_activity_at: datetime | None = None


class BatchRecordIn(RecordIn):
    person_id: UUID


class RecordBatchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    items: Annotated[list[BatchRecordIn], Field(min_length=1, max_length=MAX_BATCH)]


class RecordOut(BaseModel):
    id: UUID
    person_id: UUID
    category: str
    purposes: list[str]
    legal_basis: str
    source: str
    controller: str
    controller_employer_id: UUID | None
    collected_at: datetime
    last_activity_at: datetime
    content: dict[str, Any] | None = None
    file: FileIn | None = None


class RecordsCreated(BaseModel):
    ids: list[UUID]
