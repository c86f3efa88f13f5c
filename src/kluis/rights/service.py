"""Request use cases (R-DSR-1..8): requests carried out, extended, reminded of, refused. Receiving and verifying
them is ``verification``, what all share ``requests``. Services never commit; the caller's boundary does.

Every change writes one audit event (ids only) and, where the person is known, queues a notice in the
same transaction.
"""

from __future__ import annotations

import uuid
from typing import Any

from kluis.datasets.service import audit_rectification
from kluis.disclosures.notices import Cause, tell_parties
from kluis.erasure import service as erasure
from kluis.erasure.rules import Reason
from kluis.gate.models import PENDING
from kluis.gate.service import RESTRICTION_REASONS
from kluis.kit.errors import Conflict, Invalid
from kluis.kit.i18n import N_
from kluis.mail import service as mail
from kluis.rights import mail as rights_mail
from kluis.rights import rules
from kluis.rights.models import AccessPackage, DataSubjectRequest, Rectification
from kluis.rights.rectification import Rectifications
from kluis.rights.requests import MAX_REASON
from kluis.rights.rules import RequestType, State
from kluis.rights.verification import Verification
from kluis.staff import service as staff_service


class Rights(Verification):
    """The request use cases: received and verified (``Verification``), then carried out here."""

    # --- lifecycle ----------------------------------------------------------------------------

    def start(self, request_id: uuid.UUID) -> DataSubjectRequest:
        """Take the request up. An erasure request queues its erasure job (R-DSR-6), which completes
        the request when done. With data held for an employer (R-DSR-8), benVitaal's own part is erased at once and
        the employer's as its instruction says, when it comes, unless it already said to erase everything."""
        request = self.get(request_id)
        if request.type == rules.RequestType.ERASURE:
            rules.check_transition(request.state, State.IN_PROGRESS)
            if request.person_id is None:
                raise Conflict(N_("the request is not verified"), code="not_verified")
            # An instruction recorded before decisions were (``instruction_by = before-sealing`` era) erased all.
            own_first = request.processor_role and request.employer_decision != "erase" and not (
                request.instruction_at is not None and request.employer_decision is None)
            erasure.queue(self.session, self.kluis, request.person_id, Reason.REQUEST, self.actor, request.id,
                          own_part_first=own_first, employer_decision=request.employer_decision)
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
            raise Conflict(N_("an erasure request is completed by its erasure job, with its certificate"),
                           code="erasure_job_completes")
        self._check_not_pending(self.get(request_id))
        return self._move(request_id, State.DONE)

    # --- access and portability packages (R-DSR-3, R-DSR-4) -----------------------------------

    def package_ready(self, package: AccessPackage) -> DataSubjectRequest:
        """The package is built: the request is done (unless staff are waiting on the person). The person's
        mail is the package's own, with its link."""
        request = self.get(package.request_id)
        if request.state == State.VERIFIED:
            self._move(request.id, State.IN_PROGRESS, notify=False)
        if package.controller_only:
            return request  # R-DSR-8: benVitaal's own part is answered; the employer's part is still to come
        if request.state == State.IN_PROGRESS:
            self._move(request.id, State.DONE, notify=False)
        return request

    # --- rectification, restriction, objection (R-DSR-5, R-DSR-7) ------------------------------

    def rectify(self, request_id: uuid.UUID, record_id: uuid.UUID, changes: dict[str, Any]) -> Rectification:
        """Staff carry out a checked rectification request, one record at a time; then mark it done."""
        request = self.get(request_id)
        if request.processor_role and request.instruction_at is None and request.person_id is not None \
                and self.kluis.vault(self.session, self.actor).record_of(request.person_id, record_id).controller \
                == "employer":
            # R-DSR-8: benVitaal's own records are corrected at once; the employer's wait for its instruction.
            raise Conflict("record the employer's instruction first: benVitaal holds this record for the employer",
                           code="instruction_required")
        if request.state == State.VERIFIED and request.type == RequestType.RECTIFICATION:
            self._move(request.id, State.IN_PROGRESS)
        return Rectifications(self.session, self.kluis, self.actor).by_staff(request, record_id, changes)

    def rectify_dataset(self, request_id: uuid.UUID, dataset_id: str, changes: dict[str, Any]) -> int:
        """R-DSR-5 / R-DSR-9: a checked correction in one of benVitaal's service databases: the declared
        columns are set in the person's rows (one transaction there); how many rows, audited without values.
        A dataset that is down raises ``DatasetUnavailable`` and changes nothing: staff try again."""
        request = self.get(request_id)
        if request.type != RequestType.RECTIFICATION or request.person_id is None or request.state not in (
                State.VERIFIED, State.IN_PROGRESS):
            raise Conflict(N_("only a verified, open rectification request corrects a dataset"),
                           code="request_not_open")
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
            raise Conflict(N_("only a restriction or objection request is carried out here"), code="not_gate_request")
        if request.person_id is None or request.state not in (State.VERIFIED, State.IN_PROGRESS):
            raise Conflict(N_("only a verified, open request is carried out"), code="request_not_open")
        gate, reference = self.kluis.gate(self.session, self.actor), rules.short_reference(request.id)
        if request.type == RequestType.RESTRICTION:
            if reason not in RESTRICTION_REASONS:
                raise Invalid(N_("give the ground of the restriction: one of %(choices)s",
                                 choices=", ".join(RESTRICTION_REASONS)),
                              code="restriction_reason_required")
            request.restriction_id = gate.restrict(request.person_id, reason, "person", reference).id
            # Art. 19: the parties that received the person's data hear of the restriction.
            tell_parties(self.session, self.kluis.clock, self.kluis.policy, self.actor, request.person_id,
                         self.kluis.policy.category_ids, Cause("restriction", request.id))
        else:
            # Recorded in the gate on verification; one on legitimate interest is closed by the DPO's assessment.
            self._record_objection(request)
            self._check_not_pending(request)
        if request.state == State.VERIFIED:
            self._move(request.id, State.IN_PROGRESS, notify=False)
        return self._move(request.id, State.DONE)

    def assess_objection(self, request_id: uuid.UUID, upheld: bool, grounds: str) -> DataSubjectRequest:
        """Art. 21(1): the DPO upholds the objection (it stays in force) or records the compelling legitimate
        grounds that override it (processing resumes). Either way the person is told the reasons, and of an
        override also their right to complain to the Autoriteit Persoonsgegevens; the request is closed."""
        request = self.get(request_id)
        if request.type != RequestType.OBJECTION or request.person_id is None or request.objection_id is None \
                or request.state not in (State.VERIFIED, State.IN_PROGRESS):
            raise Conflict(N_("only a verified, open objection request is assessed"), code="request_not_open")
        self.kluis.gate(self.session, self.actor).assess_objection(request.person_id, request.objection_id,
                                                                   upheld, grounds)
        if request.state == State.VERIFIED:
            self._move(request.id, State.IN_PROGRESS, notify=False)
        self._move(request.id, State.DONE, notify=False)
        self._notify(request, "objection_upheld" if upheld else "objection_overridden")
        return request

    def _check_not_pending(self, request: DataSubjectRequest) -> None:
        """An objection waiting for the DPO's assessment is closed only by that assessment, which the person is
        told with its reasons: not carried out or refused around it (it would stay pending in the gate)."""
        if request.objection_id is None or request.person_id is None:
            return
        objection = self.kluis.gate(self.session, self.actor).objection(request.person_id, request.objection_id)
        if objection.assessment == PENDING and objection.lifted_at is None:
            raise Conflict(N_("the DPO assesses this objection first: uphold it, or record compelling grounds"),
                           code="objection_pending")

    def lift_restriction(self, request_id: uuid.UUID) -> DataSubjectRequest:
        """Art. 18(3): the person is told before the restriction is lifted. The notice is queued first, in the
        same transaction: if it cannot be queued, nothing is lifted."""
        request = self.get(request_id)
        if request.restriction_id is None or request.person_id is None:
            raise Conflict(N_("this request recorded no restriction"), code="no_restriction")
        mail.enqueue(self.session, self.kluis.clock, template=rights_mail.RESTRICTION_LIFTED_TEMPLATE,
                     person_id=request.person_id, lang=request.lang, context={"request_id": str(request.id)},
                     actor=self.actor)
        self.kluis.gate(self.session, self.actor).lift_restriction(request.person_id, request.restriction_id,
                                                                   tell_person=False)
        self._audit(request, "request.restriction_lifted", restriction_id=str(request.restriction_id))
        return request

    # --- refusal, deadlines, employers' instructions (R-DSR-2, R-DSR-8) ------------------------------

    def refuse(self, request_id: uuid.UUID, reason: str) -> DataSubjectRequest:
        self._hold_erasure(request_id, State.REFUSED, reason)
        self._check_not_pending(self.get(request_id))
        return self._move(request_id, State.REFUSED, reason)

    def _hold_erasure(self, request_id: uuid.UUID, target: State, reason: str | None = None) -> None:
        """An erasure request that stops or waits takes its job off the queue, if nothing was erased yet."""
        request = self.get(request_id)
        if request.type == rules.RequestType.ERASURE:
            rules.check_transition(request.state, target, reason)
            erasure.cancel_for_request(self.session, self.kluis, request.id, self.actor)

    def extend(self, request_id: uuid.UUID, reason: str) -> DataSubjectRequest:
        """Two more months, once, with reasons, told to the person within the first month."""
        request = self.get(request_id)
        now = self._now()
        rules.check_extension(request.received_at, now, request.state, request.extended_at is not None, reason)
        deadline = rules.extended_deadline(request.received_at)
        request.extended_at, request.extension_reason = now, reason.strip()[:MAX_REASON]
        request.deadline_on, request.deadline_at, request.updated_at = deadline.day, deadline.at, now
        request.reminders_sent = []  # the reminders count down to the new deadline
        self._audit(request, "request.extended", deadline=deadline.day.isoformat())
        self._notify(request, "extended")
        return request

    def send_reminders(self) -> int:
        """R-DSR-2: tell the DPOs about each open request 7 and 2 days before its deadline (once each)."""
        dpos = staff_service.active_dpos(self.session, self._now())  # each in their language
        sent = 0
        for listed in self.open_requests():
            if listed.reminder_due is None:
                continue
            request = listed.request
            request.reminders_sent = [*(request.reminders_sent or []), listed.reminder_due]
            self._audit(request, "request.reminded", days=listed.reminder_due, staff=len(dpos))
            for dpo in dpos:
                mail.enqueue(self.session, self.kluis.clock, template=rights_mail.REMINDER_TEMPLATE,
                             staff_id=dpo.id, lang=staff_service.mail_language(dpo, self.kluis.settings),
                             actor=self.actor,
                             context={"request_id": str(request.id), "days": listed.reminder_due})
            sent += 1
        return sent

    def tell_overdue(self) -> int:
        """R-DSR-2: the DPOs are mailed as soon as an open request has passed its deadline (the extended one,
        if extended): once per deadline missed, however often the worker looks. The mail says how late it is
        when it leaves."""
        dpos = staff_service.active_dpos(self.session, self._now())  # each in their language
        told = 0
        for request in self.overdue_untold():
            request.overdue_notice_for = request.deadline_on
            self._audit(request, "request.overdue", deadline=request.deadline_on.isoformat(),
                        days_late=rules.days_late(request.deadline_on, self._now()), staff=len(dpos))
            for dpo in dpos:
                mail.enqueue(self.session, self.kluis.clock, template=rights_mail.OVERDUE_TEMPLATE,
                             staff_id=dpo.id, lang=staff_service.mail_language(dpo, self.kluis.settings),
                             actor=self.actor, context={"request_id": str(request.id)})
            told += 1
        return told
