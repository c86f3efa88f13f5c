"""Requests about data benVitaal holds for an employer (R-DSR-8): the employer is the controller of that data.

On verification the request is forwarded: mailed to the employer's privacy contact (what was asked, the
request's reference instead of the person's name or address, the deadline), and the person is told which
employer handles that part and how to reach it. benVitaal's own (controller) data in the same request is
handled at once: the access package leaves out only the employer's records until its instruction comes.
An employer without a privacy contact holds nothing up silently: the person is told, and the console lists
the request until the contact is recorded, when the waiting requests are mailed.

The employer's instruction is sealed with the person's data key, like their records (erasing the person
leaves it unreadable), with who recorded it and when; the audit names ids only.
"""

from __future__ import annotations

import uuid

from sqlalchemy import select

from kluis.erasure import partial
from kluis.kit.errors import Conflict, Invalid, Problem
from kluis.kit.i18n import N_
from kluis.mail import service as mail
from kluis.mail.rules import EMPLOYER_PARTY
from kluis.rights import mail as rights_mail
from kluis.rights import rules
from kluis.rights.models import DataSubjectRequest
from kluis.rights.requests import MAX_REASON, Requests
from kluis.vault import employers
from kluis.vault.crypto import Unreadable, open_sealed, seal
from kluis.vault.models import Record

INSTRUCTION = "request:instruction"  # the associated data's label: the instruction cannot move to another row


def employer_party(employer_id: uuid.UUID) -> str:
    """The outbox's recipient for an employer's privacy contact (read when the mail leaves)."""
    return f"{EMPLOYER_PARTY}{employer_id}"


class Forwarding(Requests):
    """Forwarding to the employer, the requests waiting for its contact, and its instruction."""

    def _forward_if_processor(self, request: DataSubjectRequest) -> None:
        """On verification: does benVitaal hold any of the person's data for an employer? Then that part goes
        to the employer, and the person is told so."""
        employer_id = self.session.scalars(select(Record.controller_employer_id).where(
            Record.person_id == request.person_id, Record.controller == "employer",
            Record.controller_employer_id.is_not(None)).limit(1)).first()
        if employer_id is None:
            return
        employer = employers.get(self.session, employer_id)
        request.processor_role, request.forwarded_employer_id = True, employer_id
        request.forwarded_at = self._now()
        self._audit(request, "request.forwarded", employer_id=str(employer_id),
                    contact="yes" if employer.privacy_contact else "missing")
        if employer.privacy_contact:
            self._mail_employer(request)
        self._notify(request, "forwarded")

    def _mail_employer(self, request: DataSubjectRequest) -> None:
        assert request.forwarded_employer_id is not None
        mail.enqueue(self.session, self.kluis.clock, template=rights_mail.EMPLOYER_TEMPLATE,
                     party=employer_party(request.forwarded_employer_id), lang="nl",
                     context={"request_id": str(request.id)}, actor=self.actor)
        request.employer_mailed_at = request.updated_at = self._now()
        self._audit(request, "request.employer_mailed", employer_id=str(request.forwarded_employer_id))

    def waiting_for_contact(self) -> list[DataSubjectRequest]:
        """Open forwarded requests whose employer had no privacy contact: the DPO records one (console)."""
        return list(self.session.scalars(select(DataSubjectRequest).where(
            DataSubjectRequest.processor_role.is_(True), DataSubjectRequest.employer_mailed_at.is_(None),
            DataSubjectRequest.state.not_in([s.value for s in rules.CLOSED]))
            .order_by(DataSubjectRequest.deadline_at, DataSubjectRequest.id)))

    def forward_waiting(self, employer_id: uuid.UUID) -> int:
        """The employer has a privacy contact now: mail it the open requests that waited for one."""
        if not employers.get(self.session, employer_id).privacy_contact:
            return 0
        waiting = [r for r in self.waiting_for_contact() if r.forwarded_employer_id == employer_id]
        for request in waiting:
            self._mail_employer(request)
        return len(waiting)

    def record_employer_instruction(self, request_id: uuid.UUID, instruction: str,
                                    decision: str | None = None) -> DataSubjectRequest:
        """What the employer (the controller) told benVitaal to do with a forwarded request, sealed. On an erasure
        request it also decides (``erase`` or ``keep``) the employer's part, once: benVitaal's own part was erased
        without waiting (``kluis.erasure.partial``); an instruction to erase erases the rest, one to keep closes
        the request with the instruction as its reason (the person is told)."""
        request = self.get(request_id)
        if not request.processor_role or request.person_id is None:
            raise Conflict(N_("this request was not forwarded to an employer"), code="not_forwarded")
        if request.state in rules.CLOSED:
            raise Conflict(N_("the request is closed"), code="request_closed")
        erasing = request.type == rules.RequestType.ERASURE
        if erasing and request.employer_decision is not None:
            raise Conflict(N_("the employer's instruction on this erasure is already recorded"),
                           code="instruction_recorded")
        text = instruction.strip()
        problems = []
        if not text:
            problems.append(Problem("instruction", "instruction_required", N_("write down the employer's instruction")))
        elif len(text) > MAX_REASON:
            problems.append(Problem("instruction", "instruction_too_long",
                                    N_("at most %(count)s characters", count=MAX_REASON)))
        if erasing and decision not in partial.DECISIONS:
            problems.append(Problem("decision", "decision_required",
                                    N_("say whether the employer's data is to be erased or kept")))
        elif not erasing and decision is not None:
            problems.append(Problem("decision", "decision_not_applicable",
                                    N_("only an erasure request takes a decision to erase or keep")))
        if problems:
            raise Invalid(N_("the instruction was not recorded"), code=problems[0].code, problems=problems)
        key = self.kluis.keystore.data_keys(self.session, [request.person_id]).get(request.person_id)
        if key is None:
            raise Conflict(N_("the person's data was erased: nothing is left to instruct about"),
                           code="person_erased")
        request.instruction_sealed = seal(key, request.person_id, request.id, INSTRUCTION, text.encode())
        request.instruction_at = request.updated_at = self._now()
        request.instruction_by = self.actor[:120]
        request.employer_decision = decision
        self._audit(request, "request.instruction_recorded", employer_id=str(request.forwarded_employer_id),
                    **({"decision": decision} if decision else {}))
        if erasing and decision is not None:
            job = partial.decided(self.session, self.kluis, request.id, decision, self.actor)
            if decision == partial.KEEP and job is not None and job.state == "done":
                self._notify(request, "employer_kept")
        return request

    def instruction_of(self, request: DataSubjectRequest) -> str | None:
        """The instruction's text for staff; None when none was recorded or it can no longer be read (the person
        was erased, or it was recorded before instructions were sealed)."""
        if request.instruction_sealed is None or request.person_id is None:
            return None
        key = self.kluis.keystore.data_keys(self.session, [request.person_id]).get(request.person_id)
        if key is None:
            return None
        try:
            return open_sealed(key, request.person_id, request.id, INSTRUCTION, request.instruction_sealed).decode()
        except Unreadable:
            return None

