"""Queries of the complaint register (R-GOV-2): ids, dates and states only; texts stay sealed."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import and_, delete, func, or_, select
from sqlalchemy.orm import Session

from kluis import jobs
from kluis.complaints.models import Complaint, ComplaintCode, ComplaintMessage
from kluis.complaints.rules import CLOSED, REMINDER_DAYS, State
from kluis.mail.models import Outbox


def queue(session: Session, now: datetime, *, state: str = "open", overdue: bool = False,
          handler_id: uuid.UUID | None = None, unassigned: bool = False, after: Complaint | None = None,
          limit: int | None = None) -> list[Complaint]:
    """The queue by deadline, soonest first, then by id: ``state`` open, closed or all; only overdue ones; one
    handler's or the unassigned; a page after ``after`` (keyset: constant cost per page at any size).
    Unconfirmed privacy-centre complaints are nobody's yet: never listed."""
    query = select(Complaint).where(Complaint.state != State.UNVERIFIED)
    closed = [s.value for s in CLOSED]
    if state == "open":
        query = query.where(Complaint.state.not_in(closed))
    elif state == "closed":
        query = query.where(Complaint.state.in_(closed))
    if overdue:
        query = query.where(Complaint.state == State.OPEN, Complaint.deadline_at <= now)
    if handler_id is not None:
        query = query.where(Complaint.handler_id == handler_id)
    if unassigned:
        query = query.where(Complaint.handler_id.is_(None))
    if after is not None:
        query = query.where(or_(Complaint.deadline_at > after.deadline_at,
                                and_(Complaint.deadline_at == after.deadline_at, Complaint.id > after.id)))
    query = query.order_by(Complaint.deadline_at, Complaint.id)
    return list(session.scalars(query if limit is None else query.limit(limit)))


def counts(session: Session, now: datetime) -> dict[str, int]:
    """How many complaints are in each state, and how many open ones are overdue: no ids, no people."""
    found = {str(state): int(n) for state, n in session.execute(
        select(Complaint.state, func.count()).group_by(Complaint.state))}
    found["overdue"] = int(session.scalar(select(func.count()).select_from(Complaint).where(
        Complaint.state == State.OPEN, Complaint.deadline_at <= now)) or 0)
    return found


def reminder_candidates(session: Session, now: datetime, batch: int) -> Sequence[Complaint]:
    """Open complaints within the longest reminder's reach of their deadline (a day spare for time zones),
    locked so that two workers do not remind twice."""
    horizon = now + timedelta(days=max(REMINDER_DAYS) + 1)
    return list(session.scalars(jobs.unclaimed(select(Complaint).where(Complaint.state == State.OPEN,
                                                                       Complaint.deadline_at <= horizon)
                                               .order_by(Complaint.deadline_at, Complaint.id).limit(batch))))


def unverified_before(session: Session, before: datetime, batch: int) -> Sequence[Complaint]:
    return list(session.scalars(jobs.unclaimed(select(Complaint).where(Complaint.state == State.UNVERIFIED,
                                                                       Complaint.received_at <= before)
                                               .order_by(Complaint.received_at, Complaint.id).limit(batch))))


def messages(session: Session, complaint_id: uuid.UUID, kind: str | None = None) -> list[ComplaintMessage]:
    query = select(ComplaintMessage).where(ComplaintMessage.complaint_id == complaint_id)
    if kind is not None:
        query = query.where(ComplaintMessage.kind == kind)
    return list(session.scalars(query.order_by(ComplaintMessage.seq)))


def next_seq(session: Session, complaint_id: uuid.UUID) -> int:
    return int(session.scalar(select(func.coalesce(func.max(ComplaintMessage.seq), 0)).where(
        ComplaintMessage.complaint_id == complaint_id)) or 0) + 1


def of_person(session: Session, person_id: uuid.UUID) -> list[Complaint]:
    return list(session.scalars(select(Complaint).where(Complaint.person_id == person_id)
                                .order_by(Complaint.received_at, Complaint.id)))


def codes_since(session: Session, complaint_id: uuid.UUID, since: datetime) -> int:
    return int(session.scalar(select(func.count()).select_from(ComplaintCode).where(
        ComplaintCode.complaint_id == complaint_id, ComplaintCode.created_at > since)) or 0)


def newest_code(session: Session, complaint_id: uuid.UUID) -> ComplaintCode | None:
    return session.scalars(select(ComplaintCode).where(ComplaintCode.complaint_id == complaint_id)
                           .order_by(ComplaintCode.created_at.desc()).limit(1)).first()


def forget_unverified(session: Session, complaint: Complaint, code_template: str) -> None:
    """Delete what ties a lapsed complaint to an address: its sealed text, its codes and the code mail."""
    session.execute(delete(ComplaintMessage).where(ComplaintMessage.complaint_id == complaint.id))
    session.execute(delete(ComplaintCode).where(ComplaintCode.complaint_id == complaint.id))
    if complaint.claimed_person_id is not None:
        for row in session.scalars(select(Outbox).where(Outbox.person_id == complaint.claimed_person_id,
                                                        Outbox.template == code_template)):
            if (row.context or {}).get("complaint_id") == str(complaint.id):
                session.delete(row)
