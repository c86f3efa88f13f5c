"""The erasure job: how far it got, what it did, and the signed certificate. Ids, counts and
dates only — nothing here is personal data."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from kluis import jobs
from kluis.db import Base, UTCDateTime
from kluis.erasure.rules import RETRY, JobState


class ErasureJob(Base):
    """One person's erasure, run step by step; each step is its own transaction and safe to repeat,
    so a job killed at any point finishes when it is run again (docs/erasure.md)."""

    __tablename__ = "erasure_job"
    __table_args__ = (Index("ix_erasure_job_state_next", "state", "next_attempt_at"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    # No foreign key: the job and its certificate outlive the person they erased.
    person_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    request_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("data_subject_request.id"), unique=True)
    reason: Mapped[str] = mapped_column(String(16))  # request | retention | staff
    state: Mapped[str] = mapped_column(String(16))
    # datasets → vault → keys → certificate → done; state says queued, running, waiting, done or cancelled.
    step: Mapped[str] = mapped_column(String(16))
    result: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime())
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    locked_by: Mapped[str | None] = mapped_column(String(32))
    last_error: Mapped[str | None] = mapped_column(Text)
    certificate: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


# Erasure jobs as jobs: a run holds its job through several transactions, renewing the lease at each. A claim leaves
# ``next_attempt_at`` alone (a lapsed lease is found by ``locked_until``), and ``attempts`` counts the waits.
ERASURE_JOBS = jobs.JobKind(ErasureJob, waiting=(JobState.QUEUED, JobState.WAITING), running=JobState.RUNNING,
                            backoff=RETRY, counts_claims=False, lease_ends_next_attempt=False)
