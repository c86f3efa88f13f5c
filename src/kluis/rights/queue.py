"""The staff's request queue (R-DSR-1, R-DSR-2; issue 19 §2): by deadline, soonest first, filtered by state, type,
being overdue and assignee, a keyset page at a time so that a long queue costs the same per page as a short one.

``parse`` turns the page's query parameters into a ``QueueQuery`` and refuses what it does not know with a
message a person can act on; ``select_page`` is the one query.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, and_, or_, select

from kluis.kit.errors import Invalid, Problem
from kluis.kit.i18n import N_
from kluis.rights.models import DataSubjectRequest
from kluis.rights.rules import CLOSED, RequestType, State

PAGE = 50
STATES = ("open", "all", *(s.value for s in State))
OVERDUE = ("", "yes", "no")


@dataclass(frozen=True)
class QueueQuery:
    state: str = "open"  # open, all, or one state
    type: str = ""  # "" for every type
    overdue: str = ""  # "", yes or no
    assignee: str = ""  # as typed, for the form and the next page: "", a staff id, me or none
    assigned_to: uuid.UUID | None = None  # the staff id ``assignee`` names (``me``: the one looking)
    after: uuid.UUID | None = None  # the last request of the page before


def parse(state: str, kind: str, overdue: str, after: str, assignee: str = "", me: uuid.UUID | None = None
          ) -> QueueQuery:
    """The filters as typed in the address; every unknown value is named in one ``Invalid``. ``me`` is the
    staff member looking, whom ``assignee=me`` names."""
    problems = []
    assigned_to = me if assignee == "me" else None
    if assignee == "me" and me is None:  # nobody signed in to be "me": never quietly the unassigned
        problems.append(Problem("assignee", "assignee_unknown", N_("a staff member's id, me or none")))
    elif assignee not in ("", "me", "none"):
        try:
            assigned_to = uuid.UUID(assignee)
        except ValueError:
            problems.append(Problem("assignee", "assignee_unknown", N_("a staff member's id, me or none")))
    if state not in STATES:
        problems.append(Problem("state", "state_unknown", N_("a request state, open or all")))
    if kind and kind not in {t.value for t in RequestType}:
        problems.append(Problem("type", "type_unknown", N_("a request type")))
    if overdue not in OVERDUE:
        problems.append(Problem("overdue", "overdue_unknown", N_("yes or no")))
    cursor = None
    if after:
        try:
            cursor = uuid.UUID(after)
        except ValueError:
            problems.append(Problem("after", "after_invalid", N_("the id of a listed request")))
    if problems:
        raise Invalid(N_("The queue cannot be filtered that way."), code="queue_filter_invalid", problems=problems)
    return QueueQuery(state, kind, overdue, assignee, assigned_to, cursor)


def select_page(query: QueueQuery, now: datetime, after: DataSubjectRequest | None, limit: int) -> Select:
    """Requests matching ``query``, by deadline then id, the ``limit`` after ``after``."""
    closed = [s.value for s in CLOSED]
    found = select(DataSubjectRequest)
    if query.state == "open":
        found = found.where(DataSubjectRequest.state.not_in(closed))
    elif query.state != "all":
        found = found.where(DataSubjectRequest.state == query.state)
    if query.type:
        found = found.where(DataSubjectRequest.type == query.type)
    late = and_(DataSubjectRequest.state.not_in(closed), DataSubjectRequest.deadline_at <= now)
    if query.overdue == "yes":
        found = found.where(late)
    elif query.overdue == "no":
        found = found.where(~late)
    if query.assignee == "none":
        found = found.where(DataSubjectRequest.assigned_to.is_(None))
    elif query.assignee:
        found = found.where(DataSubjectRequest.assigned_to == query.assigned_to)
    if after is not None:
        found = found.where(or_(DataSubjectRequest.deadline_at > after.deadline_at,
                                and_(DataSubjectRequest.deadline_at == after.deadline_at,
                                     DataSubjectRequest.id > after.id)))
    return found.order_by(DataSubjectRequest.deadline_at, DataSubjectRequest.id).limit(limit)
