"""Request use cases (R-DSR-1, R-DSR-2, R-DSR-8). Services never commit; the caller's boundary does.

Every change writes one audit event (ids only) and, where the person is known, queues a notice in the
same transaction.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kluis.audit import service as audit
from kluis.gate.service import RESTRICTION_REASONS
from kluis.kit.clock import as_utc
from kluis.kit.errors import Conflict, Invalid, NotFound
from kluis.kit.ids import new_id
from kluis.mail import service as mail
from kluis.rights import intake, rules
from kluis.rights import mail as rights_mail
from kluis.rights.models import AccessPackage, DataSubjectRequest, Rectification, VerificationCode
from kluis.rights.packages import Packages
from kluis.rights.rectification import Rectifications
from kluis.rights.rules import Channel, RequestType, State
from kluis.staff import service as staff_service
from kluis.vault.models import Record
from kluis.vault.schemas import IdentifierIn

if TYPE_CHECKING:
    from kluis.wiring import Kluis

LOOKUP_PURPOSE = "support"  # the statement's purpose for answering the person's questions and requests
MAX_REASON = 2000


@dataclass(frozen=True)
class Received:
    request: DataSubjectRequest
    token: str  # the public reference for the status page


@dataclass(frozen=True)
class Listed:
    request: DataSubjectRequest
    overdue: bool
    reminder_due: int | None


@dataclass
class Rights:
    session: Session
    kluis: Kluis
    actor: str

    # --- intake -------------------------------------------------------------------------------

    def receive_public(self, kind: str, email: str, lang: str, scope: str | None = None) -> Received:
        """The privacy centre's form. Known address or not, the visible outcome is the same: a request,
        a code issued; only for a known address does the code go out (no disclosure of who is held)."""
        claimed = None
        try:
            claimed = self.kluis.vault(self.session, self.actor).find_person(
                IdentifierIn(kind="email", value=email), LOOKUP_PURPOSE).id
        except NotFound:
            claimed = None
        request = self._new(kind, scope, Channel.PRIVACY_CENTRE, lang, self._now())
        request.claimed_person_id = claimed
        request.address_key = intake.address_key(self.kluis, email)
        self._audit(request, "request.received", channel=request.channel)
        self._issue_code(request)
        return Received(request, self.token_of(request))

    def receive_from_account(self, person_id: uuid.UUID, kind: str, lang: str, scope: str | None = None
                             ) -> Received:
        """A signed-in person asks from the account page: who they are is already known."""
        self.kluis.vault(self.session, self.actor).person(person_id)
        request = self._new(kind, scope, Channel.ACCOUNT, lang, self._now())
        self._audit(request, "request.received", channel=request.channel)
        self._notify(request, "received", person_id)
        self._bind(request, person_id, "account", None)
        return Received(request, self.token_of(request))

    def register_by_staff(self, kind: str, received_at: datetime, reference: str, lang: str = "nl",
                          scope: str | None = None, person_id: uuid.UUID | None = None,
                          verification: str | None = None) -> Received:
        """A request that came by e-mail or letter. Receipt is when it first reached benVitaal, so it may
        lie in the past. With a person and a verification note, it is verified at once."""
        received_at = as_utc(received_at)
        if received_at > self._now():
            raise Invalid("the receipt date cannot lie in the future", code="received_in_future")
        if not reference.strip():
            raise Invalid("give the reference of the e-mail or letter", code="reference_required")
        request = self._new(kind, scope, Channel.STAFF, lang, received_at)
        request.staff_reference = reference.strip()[:80]
        self._audit(request, "request.received", channel=request.channel)
        if person_id is not None:
            self.kluis.vault(self.session, self.actor).person(person_id)
            request.claimed_person_id = person_id
            self._notify(request, "received", person_id)
            if verification:
                self.record_verification(request.id, person_id, verification)
        return Received(request, self.token_of(request))

    # --- verification -------------------------------------------------------------------------

    def request_code(self, request_id: uuid.UUID) -> None:
        """A new code for a request still awaiting verification (at most three an hour)."""
        request = self.get(request_id)
        if request.state == State.EXPIRED:
            raise Conflict("this request lapsed: it was not verified in time; ask again", code="request_expired")
        if request.state != State.RECEIVED:
            raise Conflict("this request is already verified", code="already_verified")
        self._issue_code(request)

    def verify_code(self, request_id: uuid.UUID, code: str) -> bool:
        """True when the code matches the request's newest live code; each wrong try counts."""
        request = self.get(request_id)
        if request.state != State.RECEIVED:
            return request.person_id is not None and request.verified_by == "code"
        now = self._now()
        current = self.session.scalars(select(VerificationCode).where(VerificationCode.request_id == request.id)
                                       .order_by(VerificationCode.created_at.desc()).limit(1)).first()
        if (current is None or current.used_at is not None or now >= current.expires_at
                or current.tries >= rules.CODE_MAX_TRIES):
            return False
        current.tries += 1
        digest = rules.code_digest(self.kluis.keys.secret, str(request.id), code.strip())
        if not (rules.code_format_ok(code.strip()) and secrets.compare_digest(digest, current.digest)
                and request.claimed_person_id is not None):
            self._audit(request, "request.code_refused", tries=current.tries)
            return False
        current.used_at = now
        self._bind(request, request.claimed_person_id, "code", None)
        return True

    def record_verification(self, request_id: uuid.UUID, person_id: uuid.UUID, note: str) -> DataSubjectRequest:
        """Staff confirmed the person's identity another way (e.g. through the employer), with a reason."""
        if not note.strip():
            raise Invalid("say how the identity was verified", code="reason_required")
        request = self.get(request_id)
        self.kluis.vault(self.session, self.actor).person(person_id)
        self._bind(request, person_id, "staff", note.strip()[:200])
        return request

    # --- lifecycle ----------------------------------------------------------------------------

    def start(self, request_id: uuid.UUID) -> DataSubjectRequest:
        """Take the request up. An erasure request queues its erasure job (R-DSR-6), which completes
        the request when done; data held for an employer waits for the employer's instruction (R-DSR-8)."""
        request = self.get(request_id)
        if request.type == rules.RequestType.ERASURE:
            if request.processor_role and not request.employer_instruction:
                raise Conflict("record the employer's instruction first: benVitaal holds this data for the "
                               "employer", code="instruction_required")
            rules.check_transition(request.state, State.IN_PROGRESS)
            if request.person_id is None:
                raise Conflict("the request is not verified", code="not_verified")
            from kluis.erasure import service as erasure
            from kluis.erasure.rules import Reason
            erasure.queue(self.session, self.kluis, request.person_id, Reason.REQUEST, self.actor, request.id)
        return self._move(request_id, State.IN_PROGRESS)

    def complete_erasure(self, request_id: uuid.UUID) -> DataSubjectRequest | None:
        """The erasure job finished: the request is done. The person was told by the job's own notice,
        queued before their address was erased, so no second notice goes out."""
        request = self.get(request_id)
        if request.state in rules.CLOSED:
            return None
        if request.state != State.IN_PROGRESS:
            request.state = State.IN_PROGRESS
        return self._move(request_id, State.DONE, notify=False)

    def wait_on_person(self, request_id: uuid.UUID) -> DataSubjectRequest:
        self._hold_erasure(request_id, State.WAITING_ON_PERSON)
        return self._move(request_id, State.WAITING_ON_PERSON)

    def complete(self, request_id: uuid.UUID) -> DataSubjectRequest:
        if self.get(request_id).type == rules.RequestType.ERASURE:
            raise Conflict("an erasure request is completed by its erasure job, with its certificate",
                           code="erasure_job_completes")
        return self._move(request_id, State.DONE)

    # --- access and portability packages (R-DSR-3, R-DSR-4) -----------------------------------

    def build_package(self, request_id: uuid.UUID) -> AccessPackage:
        """Queue the package of a verified access or portability request (on verification; staff: after the
        employer's instruction, or after a failed build). The worker builds it and closes the request."""
        request = self.get(request_id)
        if request.state not in (State.VERIFIED, State.IN_PROGRESS):
            raise Conflict(f"a request that is {request.state} gets no package", code="package_not_possible")
        return self._packages().queue(request)

    def package_ready(self, package: AccessPackage) -> DataSubjectRequest:
        """The package is built: the request is done (unless staff are waiting on the person). The person's
        mail is the package's own, with its link."""
        request = self.get(package.request_id)
        if request.state == State.VERIFIED:
            self._move(request.id, State.IN_PROGRESS, notify=False)
        if request.state == State.IN_PROGRESS:
            self._move(request.id, State.DONE, notify=False)
        return request

    # --- rectification, restriction, objection (R-DSR-5, R-DSR-7) ------------------------------

    def rectify(self, request_id: uuid.UUID, record_id: uuid.UUID, changes: dict[str, Any]) -> Rectification:
        """Staff carry out a checked rectification request, one record at a time; then mark it done."""
        request = self.get(request_id)
        if request.state == State.VERIFIED and request.type == RequestType.RECTIFICATION:
            self._move(request.id, State.IN_PROGRESS)
        return Rectifications(self.session, self.kluis, self.actor).by_staff(request, record_id, changes)

    def rectify_dataset(self, request_id: uuid.UUID, dataset_id: str, changes: dict[str, Any]) -> int:
        """R-DSR-5 / R-DSR-9: a checked correction in one of benVitaal's service databases: the declared
        columns are set in the person's rows (one transaction there); how many rows, audited without values.
        A dataset that is down raises ``DatasetUnavailable`` and changes nothing: staff try again."""
        from kluis.datasets.service import audit_rectification
        request = self.get(request_id)
        if request.type != RequestType.RECTIFICATION or request.person_id is None or request.state not in (
                State.VERIFIED, State.IN_PROGRESS):
            raise Conflict("only a verified, open rectification request corrects a dataset", code="request_not_open")
        vault = self.kluis.vault(self.session, self.actor)
        identities = [(i.kind, i.scope or None, vault.identifier_value(i)) for i in vault.identifiers_of(
            request.person_id)]
        rows = self.kluis.datasets().rectify(dataset_id, identities, changes)
        if request.state == State.VERIFIED:
            self._move(request.id, State.IN_PROGRESS)
        audit_rectification(self.session, self.kluis.clock, actor=self.actor, person_id=request.person_id,
                            dataset_id=dataset_id, columns=list(changes), rows=rows)
        self._audit(request, "request.dataset_rectified", dataset=dataset_id, rows=rows)
        return rows

    def carry_out(self, request_id: uuid.UUID, reason: str | None = None) -> DataSubjectRequest:
        """A restriction (with its Art. 18 ground) or objection request: record it in the gate, which then
        enforces it (R-GATE-1), and close the request."""
        request = self.get(request_id)
        if request.type not in (RequestType.RESTRICTION, RequestType.OBJECTION):
            raise Conflict("only a restriction or objection request is carried out here", code="not_gate_request")
        if request.person_id is None or request.state not in (State.VERIFIED, State.IN_PROGRESS):
            raise Conflict("only a verified, open request is carried out", code="request_not_open")
        gate, reference = self.kluis.gate(self.session, self.actor), rules.short_reference(request.id)
        if request.type == RequestType.RESTRICTION:
            if reason not in RESTRICTION_REASONS:
                raise Invalid(f"give the ground of the restriction: one of {', '.join(RESTRICTION_REASONS)}",
                              code="restriction_reason_required")
            request.restriction_id = gate.restrict(request.person_id, reason, "person", reference).id
        else:
            # The scopes a person chooses are the gate's own: direct marketing (absolute, Art. 21(2)), the
            # profiling purpose, or every purpose on legitimate interest.
            request.objection_id = gate.object(request.person_id, str(request.scope), "person", reference).id
        if request.state == State.VERIFIED:
            self._move(request.id, State.IN_PROGRESS, notify=False)
        return self._move(request.id, State.DONE)

    def lift_restriction(self, request_id: uuid.UUID) -> DataSubjectRequest:
        """Art. 18(3): the person is told before the restriction is lifted. The notice is queued first, in the
        same transaction: if it cannot be queued, nothing is lifted."""
        request = self.get(request_id)
        if request.restriction_id is None or request.person_id is None:
            raise Conflict("this request recorded no restriction", code="no_restriction")
        mail.enqueue(self.session, self.kluis.clock, template=rights_mail.RESTRICTION_LIFTED_TEMPLATE,
                     person_id=request.person_id, lang=request.lang, context={"request_id": str(request.id)},
                     actor=self.actor)
        self.kluis.gate(self.session, self.actor).lift_restriction(request.person_id, request.restriction_id,
                                                                   tell_person=False)
        self._audit(request, "request.restriction_lifted", restriction_id=str(request.restriction_id))
        return request

    def _packages(self) -> Packages:
        return Packages(self.session, self.kluis, self.actor)

    def refuse(self, request_id: uuid.UUID, reason: str) -> DataSubjectRequest:
        self._hold_erasure(request_id, State.REFUSED, reason)
        return self._move(request_id, State.REFUSED, reason)

    def _hold_erasure(self, request_id: uuid.UUID, target: State, reason: str | None = None) -> None:
        """An erasure request that stops or waits takes its job off the queue, if nothing was erased yet."""
        request = self.get(request_id)
        if request.type == rules.RequestType.ERASURE:
            rules.check_transition(request.state, target, reason)
            from kluis.erasure import service as erasure
            erasure.cancel_for_request(self.session, self.kluis, request.id, self.actor)

    def extend(self, request_id: uuid.UUID, reason: str) -> DataSubjectRequest:
        """Two more months, once, with reasons, told to the person within the first month."""
        request = self.get(request_id)
        now = self._now()
        rules.check_extension(request.received_at, now, request.state, request.extended_at is not None, reason)
        deadline = rules.extended_deadline(request.received_at)
        request.extended_at, request.extension_reason = now, reason.strip()[:MAX_REASON]
        request.deadline_on, request.deadline_at, request.updated_at = deadline.day, deadline.at, now
        self._audit(request, "request.extended", deadline=deadline.day.isoformat())
        self._notify(request, "extended")
        return request

    def record_employer_instruction(self, request_id: uuid.UUID, instruction: str) -> DataSubjectRequest:
        """R-DSR-8: what the employer (the controller) told benVitaal to do with a forwarded request."""
        request = self.get(request_id)
        if not request.processor_role:
            raise Conflict("this request was not forwarded to an employer", code="not_forwarded")
        if not instruction.strip():
            raise Invalid("write down the employer's instruction", code="instruction_required")
        request.employer_instruction = instruction.strip()[:MAX_REASON]
        request.instruction_at = request.updated_at = self._now()
        self._audit(request, "request.instruction_recorded", employer_id=str(request.forwarded_employer_id))
        return request

    def send_reminders(self) -> int:
        """R-DSR-2: tell the DPOs about each open request 7 and 2 days before its deadline (once each)."""
        dpos = [a.id for a in staff_service.list_staff(self.session)
                if a.role == "dpo" and staff_service.status_of(a, self._now()) != "disabled"]
        sent = 0
        for listed in self.open_requests():
            if listed.reminder_due is None:
                continue
            request = listed.request
            request.reminders_sent = [*(request.reminders_sent or []), listed.reminder_due]
            self._audit(request, "request.reminded", days=listed.reminder_due, staff=len(dpos))
            for staff_id in dpos:
                mail.enqueue(self.session, self.kluis.clock, template=rights_mail.REMINDER_TEMPLATE,
                             staff_id=staff_id, lang="en", actor=self.actor,
                             context={"request_id": str(request.id), "days": listed.reminder_due})
            sent += 1
        return sent

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

    def flags_of(self, request: DataSubjectRequest) -> Listed:
        now = self._now()
        return Listed(request, rules.is_overdue(request.deadline_at, now, request.state),
                      rules.reminder_due(request.deadline_on, now, request.state, tuple(request.reminders_sent or ())))

    # --- inside -------------------------------------------------------------------------------

    def _now(self) -> datetime:
        return self.kluis.clock.now()

    def _new(self, kind: str, scope: str | None, channel: Channel, lang: str, received_at: datetime
             ) -> DataSubjectRequest:
        scope = rules.check_scope(kind, scope)
        if lang not in ("nl", "en"):
            raise Invalid("language is nl or en", code="lang_unknown")
        deadline = rules.first_deadline(received_at)
        now = self._now()
        request = DataSubjectRequest(id=new_id(), type=kind, scope=scope, channel=channel, state=State.RECEIVED,
                                     lang=lang, received_at=received_at, deadline_on=deadline.day,
                                     deadline_at=deadline.at, processor_role=False, reminders_sent=[],
                                     created_at=now, updated_at=now)
        self.session.add(request)
        self.session.flush()
        return request

    def _issue_code(self, request: DataSubjectRequest) -> None:
        now = self._now()
        issued = self.session.scalar(select(func.count()).select_from(VerificationCode).where(
            VerificationCode.request_id == request.id, VerificationCode.created_at > now - timedelta(hours=1))) or 0
        if not rules.may_issue_code(issued):
            raise Conflict("three codes were sent in the last hour; try again later", code="code_rate_limited",
                           status=429)
        code_id = new_id()
        code = rules.derive_code(self.kluis.keys.secret, code_id)
        self.session.add(VerificationCode(
            id=code_id, request_id=request.id, digest=rules.code_digest(self.kluis.keys.secret, str(request.id), code),
            tries=0, created_at=now, expires_at=now + rules.CODE_LIFETIME))
        self.session.flush()
        self._audit(request, "request.code_issued")
        if request.claimed_person_id is not None:
            mail.enqueue(self.session, self.kluis.clock, template=rights_mail.CODE_TEMPLATE,
                         person_id=request.claimed_person_id, lang=request.lang,
                         context={"request_id": str(request.id), "code_id": str(code_id)}, actor=self.actor)

    def _bind(self, request: DataSubjectRequest, person_id: uuid.UUID, method: str, note: str | None) -> None:
        rules.check_transition(request.state, State.VERIFIED)
        now = self._now()
        request.person_id, request.state = person_id, State.VERIFIED
        request.address_key = None  # the intake's limit needs it only while codes may still be asked
        request.verified_at, request.verified_by, request.verification_note = now, method, note
        request.updated_at = now
        self._audit(request, "request.verified", method=method)
        self._notify(request, "verified")
        self._forward_if_processor(request)
        if request.type in rules.PACKAGE_TYPES and not request.processor_role:
            # Identity is verified: the worker builds the package. Data held for an employer waits for the
            # employer's instruction; staff then queue it (``build_package``).
            self.build_package(request.id)

    def _forward_if_processor(self, request: DataSubjectRequest) -> None:
        """R-DSR-8: data held for an employer belongs to that employer's answer; tell the person so."""
        employer_id = self.session.scalars(select(Record.controller_employer_id).where(
            Record.person_id == request.person_id, Record.controller == "employer").limit(1)).first()
        if employer_id is None:
            return
        request.processor_role, request.forwarded_employer_id = True, employer_id
        request.forwarded_at = self._now()
        self._audit(request, "request.forwarded", employer_id=str(employer_id))
        self._notify(request, "forwarded")

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
        audit.append(self.session, self.kluis.clock, actor=self.actor, action=action, object_type="request",
                     object_ids=ids, details={"type": request.type, "state": request.state, **details})
