"""What every request use case shares (R-DSR-1, R-DSR-2, R-DSR-8): reading requests, moving them from state to
state, telling the person and auditing each change, queueing a package. ``verification`` receives and verifies
requests on top of it; ``service.Rights`` carries them out. Services never commit; the caller's boundary does.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from kluis import jobs
from kluis.audit import service as audit
from kluis.kit.errors import Conflict, Invalid, NotFound
from kluis.kit.messages import N_
from kluis.mail import service as mail
from kluis.rights import mail as rights_mail
from kluis.rights import queue as rights_queue
from kluis.rights import rules
from kluis.rights.models import AccessPackage, DataSubjectRequest
from kluis.rights.packages.service import Packages
from kluis.rights.rules import State
from kluis.staff import service as staff_service
from kluis.staff.rules import Permission, may

if TYPE_CHECKING:
    from kluis.wiring import Kluis

MAX_REASON = 2000


@dataclass(frozen=True)
class Listed:
    request: DataSubjectRequest
    overdue: bool
    reminder_due: int | None


@dataclass
class Requests:
    """One transaction's view of the requests, acting for ``actor``."""

    session: Session
    kluis: Kluis
    actor: str
    via: str = ""  # the API key a staff member acted through (``Kluis-Staff``), kept in each audit event

    # --- reading ------------------------------------------------------------------------------

    def get(self, request_id: uuid.UUID) -> DataSubjectRequest:
        found = self.session.get(DataSubjectRequest, request_id)
        if found is None:
            raise NotFound("no such request", code="request_not_found")
        return found

    def by_token(self, token: str) -> DataSubjectRequest | None:
        request_id = rules.request_of_token(self.kluis.keys.secret, token)
        return None if request_id is None else self.session.get(DataSubjectRequest, request_id)

    def token_of(self, request: DataSubjectRequest) -> str:
        return rules.status_token(self.kluis.keys.secret, request.id, request.received_at)

    def open_requests(self, include_closed: bool = False) -> list[Listed]:
        """For staff: by deadline, soonest first, with overdue flags and due reminders."""
        query = select(DataSubjectRequest).order_by(DataSubjectRequest.deadline_at, DataSubjectRequest.id)
        if not include_closed:
            query = query.where(DataSubjectRequest.state.not_in([s.value for s in rules.CLOSED]))
        return [self.flags_of(r) for r in self.session.scalars(query)]

    def queue(self, query: rights_queue.QueueQuery, limit: int = rights_queue.PAGE
              ) -> tuple[list[Listed], uuid.UUID | None]:
        """One page of the staff's queue and the id to continue after (None on the last page)."""
        after = self.session.get(DataSubjectRequest, query.after) if query.after else None
        if query.after and after is None:
            raise NotFound("no such request", code="request_not_found")
        rows = list(self.session.scalars(rights_queue.select_page(query, self._now(), after, limit + 1)))
        more = len(rows) > limit
        return [self.flags_of(r) for r in rows[:limit]], rows[limit - 1].id if more else None

    def overdue_untold(self) -> list[DataSubjectRequest]:
        """Open requests past their deadline (the extended one, if extended) whose DPOs were not yet told of
        missing that deadline; locked, and skipped when another worker holds them."""
        return list(self.session.scalars(jobs.unclaimed(select(DataSubjectRequest).where(
            DataSubjectRequest.state.not_in([s.value for s in rules.CLOSED]),
            DataSubjectRequest.deadline_at <= self._now(),
            or_(DataSubjectRequest.overdue_notice_for.is_(None),
                DataSubjectRequest.overdue_notice_for != DataSubjectRequest.deadline_on))
            .order_by(DataSubjectRequest.deadline_at, DataSubjectRequest.id))))

    def flags_of(self, request: DataSubjectRequest) -> Listed:
        now = self._now()
        return Listed(request, rules.is_overdue(request.deadline_at, now, request.state),
                      rules.reminder_due(request.deadline_on, now, request.state, tuple(request.reminders_sent or ())))

    # --- assignment (issue 19 §2) --------------------------------------------------------------

    def assignable(self) -> list[tuple[uuid.UUID, str, str]]:
        """Who may be given a request: (id, role, e-mail) of every active account that may handle requests."""
        now = self._now()
        return [(a.id, a.role, staff_service.email_of(self.kluis.keys, a)) for a in staff_service.list_staff(
            self.session) if may(a.role, Permission.REQUESTS_RECORD) and staff_service.status_of(a, now) != "disabled"]

    def assign(self, request_id: uuid.UUID, staff_id: uuid.UUID | None) -> DataSubjectRequest:
        """Give the request to one staff member who may handle requests, or (``None``) back to the team."""
        request = self.get(request_id)
        if staff_id is not None:
            account = staff_service.account_by_id(self.session, staff_id)
            if (account is None or not may(account.role, Permission.REQUESTS_RECORD)
                    or staff_service.status_of(account, self._now()) == "disabled"):
                raise Invalid(N_("the assignee is an active staff member who may handle requests"),
                              code="assignee_invalid")
        request.assigned_to, request.updated_at = staff_id, self._now()
        self._audit(request, "request.assigned", assigned_to=str(staff_id) if staff_id else "")
        return request

    # --- access and portability packages (R-DSR-3, R-DSR-4) -----------------------------------

    def build_package(self, request_id: uuid.UUID) -> AccessPackage:
        """Queue the package of a verified access or portability request (on verification; staff: after the
        employer's instruction, or after a failed build). The worker builds it and closes the request."""
        request = self.get(request_id)
        if request.state not in (State.VERIFIED, State.IN_PROGRESS):
            raise Conflict(f"a request that is {request.state} gets no package", code="package_not_possible")
        return self._packages().queue(request)

    def _packages(self) -> Packages:
        return Packages(self.session, self.kluis, self.actor)

    # --- inside -------------------------------------------------------------------------------

    def _now(self) -> datetime:
        return self.kluis.clock.now()

    def _move(self, request_id: uuid.UUID, target: State, reason: str | None = None, notify: bool = True
              ) -> DataSubjectRequest:
        request = self.get(request_id)
        rules.check_transition(request.state, target, reason)
        now = self._now()
        request.state, request.updated_at = target, now
        if target == State.REFUSED:
            request.refusal_reason = (reason or "").strip()[:MAX_REASON]
        if target in rules.CLOSED:
            request.closed_at = now
        self._audit(request, f"request.{target.value}")
        if notify:
            self._notify(request, target.value)
        return request

    def _notify(self, request: DataSubjectRequest, notice: str, person_id: uuid.UUID | None = None) -> None:
        to = person_id or request.person_id
        if to is None:
            return
        mail.enqueue(self.session, self.kluis.clock, template=rights_mail.NOTICE_TEMPLATE, person_id=to,
                     lang=request.lang, context={"notice": notice, "request_id": str(request.id)}, actor=self.actor)

    def _audit(self, request: DataSubjectRequest, action: str, **details: str | int) -> None:
        ids: list[uuid.UUID | str] = [request.id]
        if request.person_id:
            ids.append(request.person_id)
        via: dict[str, str | int] = {"via": self.via} if self.via else {}
        audit.append(self.session, self.kluis.clock, actor=self.actor, action=action, object_type="request",
                     object_ids=ids, details={"type": request.type, "state": request.state, **via, **details})
