"""Requests received and verified (R-DSR-1, R-DSR-8): the privacy centre's form, the account page and staff
registering a request that came by mail or letter; codes by e-mail to an address already known, or a
verification staff record with a reason; data held for an employer forwarded to it.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from kluis.kit.clock import past_instant
from kluis.kit.errors import Conflict, Invalid, NotFound, Problem
from kluis.kit.ids import new_id
from kluis.kit.messages import N_
from kluis.mail import addressing
from kluis.mail import service as mail
from kluis.mail.models import Outbox
from kluis.mail.service import context_id
from kluis.rights import intake, rules
from kluis.rights import mail as rights_mail
from kluis.rights.codes import issue_code
from kluis.rights.forwarding import Forwarding
from kluis.rights.models import DataSubjectRequest, VerificationCode
from kluis.rights.rules import Channel, State
from kluis.vault.identifiers import normalise
from kluis.vault.schemas import IdentifierIn

if TYPE_CHECKING:
    from kluis.wiring import Kluis

LOOKUP_PURPOSE = "support"  # the statement's purpose for answering the person's questions and requests


@dataclass(frozen=True)
class Received:
    request: DataSubjectRequest
    token: str  # the public reference for the status page


@dataclass(frozen=True)
class Asked(Received):
    """A request from the privacy centre's form, with its code's mail, held until its step runs."""

    code_mail: uuid.UUID


class Verification(Forwarding):
    """Requests received, and bound to a person once their identity is verified (the module's text)."""

    # --- intake -------------------------------------------------------------------------------

    def receive_public(self, kind: str, email: str, lang: str, scope: str | None = None) -> Asked:
        """The privacy centre's form. Known address or not, the visible outcome is the same: a request,
        a code issued; only for a known address does the code go out (no disclosure of who is held). Both steps
        at once; the form's page answers after the first and runs the second (the mail's step) after its answer."""
        received = self.accept_public(kind, email, lang, scope)
        addressing.address(self.session, self.kluis, received.code_mail, self.actor)
        return received

    def accept_public(self, kind: str, email: str, lang: str, scope: str | None = None) -> Asked:
        """The part of the form's intake that is the same work for every address: the address checked for form, a
        request, a code and its mail, held (``_hold_code_mail``). Nothing here asks whether the address is known,
        so the answer takes as long for a known address as for an unknown one (R-DSR-1: the time of the answer
        tells nothing about who is held)."""
        if isinstance(found := normalise("email", email, None, "identifier"), Problem):
            raise Invalid("the identifier is not valid", code="identifier_invalid", problems=[found])
        request = self._new(kind, scope, Channel.PRIVACY_CENTRE, lang, self._now())
        request.address_key = intake.address_key(self.kluis, email)
        self._audit(request, "request.received", channel=request.channel)
        code_mail = self._hold_code_mail(request, self._issue_code(request), email)
        return Asked(request, self.token_of(request), code_mail)

    def claim_address(self, request_id: uuid.UUID, email: str) -> uuid.UUID | None:
        """The per-address part, taken after the answer: the person the request's code goes to. When the request
        has none yet and the address is known, the request claims that person; for an unknown address (or a
        request no longer waiting for its code) there is none."""
        request = self.get(request_id)
        if request.state != State.RECEIVED:
            return None
        if request.claimed_person_id is None and email:
            try:
                request.claimed_person_id = self.kluis.vault(self.session, self.actor).find_person(
                    IdentifierIn(kind="email", value=email), LOOKUP_PURPOSE).id
            except NotFound:
                return None
        return request.claimed_person_id

    def address_code(self, outbox: Outbox, email: str) -> uuid.UUID | None:
        """The step of a held code mail (``_hold_code_mail``): the person it goes to, if any. It carries the
        request's newest code: a code asked for since supersedes the one it was written with."""
        request_id = context_id(outbox.context, "request_id")
        if request_id is None or self.session.get(DataSubjectRequest, request_id) is None:
            raise mail.Cancelled("request_gone")
        person_id = self.claim_address(request_id, email)
        newest = self.session.scalars(select(VerificationCode.id).where(VerificationCode.request_id == request_id)
                                      .order_by(VerificationCode.created_at.desc()).limit(1)).first()
        if person_id is not None and newest is not None:
            outbox.context = {**outbox.context, "code_id": str(newest)}
        return person_id

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
        received_at = past_instant(received_at, self._now(), N_("the receipt date"), "received")
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
        """A new code for a request still awaiting verification (at most three an hour), and its mail's step at
        once (the privacy centre's page runs it after its answer)."""
        addressing.address(self.session, self.kluis, self.new_code(request_id), self.actor)

    def new_code(self, request_id: uuid.UUID) -> uuid.UUID:
        """A new code and its mail, held (``_hold_code_mail``): the same work whether the request's address is
        known or not. The mail's id, for its step."""
        request = self.get(request_id)
        if request.state == State.EXPIRED:
            raise Conflict("this request lapsed: it was not verified in time; ask again", code="request_expired")
        if request.state != State.RECEIVED:
            raise Conflict("this request is already verified", code="already_verified")
        return self._hold_code_mail(request, self._issue_code(request))

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

    # --- inside -------------------------------------------------------------------------------

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

    def _issue_code(self, request: DataSubjectRequest) -> uuid.UUID:
        code_id = issue_code(self.session, self.kluis.keys.secret, request.id, str(request.id), self._now())
        self._audit(request, "request.code_issued")
        return code_id

    def _hold_code_mail(self, request: DataSubjectRequest, code_id: uuid.UUID, email: str = "") -> uuid.UUID:
        """A code's mail, written for every address alike: held, sealed to the address given (``""`` for a new
        code: the request knows its person, if any), until its step (``address_code``) runs after the answer, or
        after a crash in the worker (``kluis.mail.addressing``)."""
        return addressing.hold(self.session, self.kluis.clock, self.kluis.keys.secret,
                               template=rights_mail.CODE_TEMPLATE, lang=request.lang, actor=self.actor,
                               context={"request_id": str(request.id), "code_id": str(code_id)}, address=email)

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
        if request.type == rules.RequestType.OBJECTION:
            self._record_objection(request)
        if request.type in rules.PACKAGE_TYPES:
            # Identity is verified: the worker builds the package. Data held for an employer is left out until
            # the employer's instruction comes (R-DSR-8); staff then queue the whole package (``build_package``).
            self.build_package(request.id)

    def _record_objection(self, request: DataSubjectRequest) -> None:
        """R-DSR-7 / Art. 21(1): a verified objection stops the processing it covers at once, counted from when
        it reached benVitaal; one on legitimate interest waits for the DPO's assessment meanwhile. An unverified
        claim stops nothing: anyone can type someone's address, and processing for security or fraud
        prevention is not stopped on a stranger's word."""
        if request.objection_id is None and request.person_id is not None:
            request.objection_id = self.kluis.gate(self.session, self.actor).object(
                request.person_id, str(request.scope), "person", rules.short_reference(request.id),
                received_at=request.received_at, assess=True).id


def _address_code(session: Session, kluis: Kluis, outbox: Outbox, email: str, actor: str) -> uuid.UUID | None:
    return Verification(session, kluis, actor).address_code(outbox, email)


addressing.register_step(rights_mail.CODE_TEMPLATE, _address_code)
