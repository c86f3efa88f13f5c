"""Complaint use cases (R-GOV-2): received from the privacy centre (confirmed by a code, as requests are), from
a service's account page or registered by staff; acknowledged at once with the deadline; handled by the DPO or
the one handler assigned, who alone read the sealed text (each read audited); answered in writing.

Every change writes one audit event (ids and counts only); mail is queued in the same transaction.
Services never commit; the caller's boundary does.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy.orm import Session

from kluis.audit import service as audit
from kluis.complaints import mail as complaint_mail
from kluis.complaints import repository, rules, sealing
from kluis.complaints.models import Complaint, ComplaintCode, ComplaintMessage
from kluis.complaints.rules import Channel, State
from kluis.kit.errors import Conflict, Invalid, NotAllowed, NotFound
from kluis.kit.i18n import N_
from kluis.kit.ids import new_id
from kluis.kit.signing import BadToken, sign, verify
from kluis.mail import service as mail
from kluis.rights import intake
from kluis.rights import rules as request_rules
from kluis.rights.service import Rights
from kluis.staff import service as staff_service
from kluis.staff.rules import Permission, may
from kluis.vault.schemas import IdentifierIn

if TYPE_CHECKING:
    from kluis.wiring import Kluis

LOOKUP_PURPOSE = "support"  # the statement's purpose for answering the person's questions and complaints
STATUS_LINK = "complaints/status"
HANDLER_ROLES = ("dpo", "support")


class Reader(Protocol):
    """The staff member acting (``staff.service.SignedIn`` or the CLI's account)."""

    @property
    def staff_id(self) -> uuid.UUID: ...

    @property
    def role(self) -> str: ...


@dataclass(frozen=True)
class QueueQuery:
    """Which part of the queue: ``state`` open, closed or all; only overdue ones; one handler's (``handler_id``)
    or the unassigned; ``limit`` after the complaint ``after`` (a keyset page)."""

    state: str = "open"
    overdue: bool = False
    handler_id: uuid.UUID | None = None
    unassigned: bool = False
    after: uuid.UUID | None = None
    limit: int | None = None


@dataclass(frozen=True)
class Queue:
    counts: dict[str, int]
    items: list[Complaint] | None  # None: the reader's role sees counts only
    next_after: uuid.UUID | None = None


@dataclass(frozen=True)
class Letter:
    kind: str
    by: str
    at: datetime
    text: str


@dataclass(frozen=True)
class Read:
    complaint: Complaint
    letters: list[Letter]


@dataclass(frozen=True)
class View:
    complaint: Complaint
    letters: list[Letter] | None  # None: this reader sees that the complaint exists, not what it says


@dataclass
class Complaints:
    """One transaction's view of the complaint register, acting for ``actor``."""

    session: Session
    kluis: Kluis
    actor: str
    via: str = ""  # the API key a staff member acted through, kept in each audit event

    # --- intake -------------------------------------------------------------------------------

    def receive_public(self, email: str, text: str, lang: str) -> tuple[Complaint, str]:
        """The privacy centre's form: (complaint, status token). Known address or not, the same outcome; only
        a known address gets the code, and the complaint is nobody's until the code is confirmed."""
        text = rules.check_text(text)
        try:
            claimed: uuid.UUID | None = self.kluis.vault(self.session, self.actor).find_person(
                IdentifierIn(kind="email", value=email), LOOKUP_PURPOSE).id
        except NotFound:
            claimed = None
        complaint = self._new(Channel.PRIVACY_CENTRE, State.UNVERIFIED, lang, self._now(), claimed, text, "person")
        complaint.claimed_person_id = claimed
        complaint.address_key = intake.address_key(self.kluis, email)
        self._issue_code(complaint)
        return complaint, self.token_of(complaint)

    def receive_from_account(self, person_id: uuid.UUID, text: str, lang: str,
                             request_id: uuid.UUID | None = None) -> Complaint:
        """A service files the complaint of a person it knows (signed in to its account page)."""
        text = rules.check_text(text)
        self.kluis.vault(self.session, self.actor).person(person_id)
        request = self._request(request_id, person_id)
        complaint = self._new(Channel.ACCOUNT, State.OPEN, lang, self._now(), person_id, text, self.actor)
        complaint.request_id = request
        self._open(complaint, person_id)
        return complaint

    def register_by_staff(self, text: str, received_at: datetime, reference: str, lang: str = "nl",
                          person_id: uuid.UUID | None = None, request_id: uuid.UUID | None = None,
                          breach_ref: str | None = None) -> Complaint:
        """One that came by mail, phone or letter: receipt is when it first reached benVitaal (with offset)."""
        text = rules.check_text(text)
        received = rules.check_received_at(received_at, self._now())
        if not reference.strip():
            raise Invalid(N_("give the reference of the mail, call or letter"), code="reference_required")
        if person_id is not None:
            self.kluis.vault(self.session, self.actor).person(person_id)
        request, breach = self._request(request_id, person_id), self._breach(breach_ref)
        complaint = self._new(Channel.STAFF, State.OPEN, lang, received, person_id, text, self.actor)
        complaint.staff_reference, complaint.request_id, complaint.breach_ref = reference.strip()[:80], request, breach
        self._open(complaint, person_id)
        return complaint

    # --- the privacy centre's code ------------------------------------------------------------

    def token_of(self, complaint: Complaint) -> str:
        return sign(self.kluis.keys.secret, STATUS_LINK, complaint.id, "", complaint.received_at)

    def by_token(self, token: str) -> Complaint | None:
        try:
            complaint_id = verify(self.kluis.keys.secret, STATUS_LINK, token).subject
        except BadToken:
            return None
        return self.session.get(Complaint, complaint_id)

    def request_code(self, complaint: Complaint) -> None:
        if complaint.state != State.UNVERIFIED:
            raise Conflict(N_("this complaint is already confirmed"), code="already_verified")
        self._issue_code(complaint)

    def verify_code(self, complaint: Complaint, code: str) -> bool:
        """True when the code matches the newest live code; each wrong try counts. On success the complaint
        is the person's, opens, and is acknowledged."""
        if complaint.state != State.UNVERIFIED:
            return complaint.person_id is not None
        now, code = self._now(), code.strip()
        current = repository.newest_code(self.session, complaint.id)
        if (current is None or current.used_at is not None or now >= current.expires_at
                or current.tries >= request_rules.CODE_MAX_TRIES):
            return False
        current.tries += 1
        digest = request_rules.code_digest(self.kluis.keys.secret, str(complaint.id), code)
        if not (request_rules.code_format_ok(code) and secrets.compare_digest(digest, current.digest)
                and complaint.claimed_person_id is not None):
            self._audit(complaint, "complaint.code_refused", tries=current.tries)
            return False
        current.used_at = now
        complaint.address_key = None
        self._open(complaint, complaint.claimed_person_id)
        return True

    # --- reading ------------------------------------------------------------------------------

    def get(self, complaint_id: uuid.UUID) -> Complaint:
        found = self.session.get(Complaint, complaint_id)
        if found is None or found.state == State.UNVERIFIED:
            raise NotFound(N_("no such complaint"), code="complaint_not_found")
        return found

    def of_person(self, person_id: uuid.UUID, complaint_id: uuid.UUID) -> Complaint:
        """A person's own complaint; someone else's is as unknown as one that does not exist."""
        found = self.session.get(Complaint, complaint_id)
        if found is None or found.person_id != person_id:
            raise NotFound(N_("no such complaint"), code="complaint_not_found")
        return found

    def queue(self, staff: Reader, query: QueueQuery) -> Queue:
        """Counts for every role that may see counts (an auditor: no more); the complaints themselves, by
        deadline, for those who may list them. Never a text."""
        if not may(staff.role, Permission.COUNTS):
            raise NotAllowed("this role does not see the complaint register", code="role_not_allowed")
        if query.state not in ("open", "closed", "all"):
            raise Invalid("state is open, closed or all", code="state_unknown")
        now = self._now()
        counts = repository.counts(self.session, now)
        if not may(staff.role, Permission.COMPLAINTS_LIST):
            return Queue(counts, None)
        after = self.session.get(Complaint, query.after) if query.after is not None else None
        if query.after is not None and (after is None or after.state == State.UNVERIFIED):
            raise Invalid("page after a complaint of the queue", code="after_unknown")
        items = repository.queue(self.session, now, state=query.state, overdue=query.overdue,
                                 handler_id=query.handler_id, unassigned=query.unassigned, after=after,
                                 limit=query.limit)
        full = query.limit is not None and len(items) == query.limit
        return Queue(counts, items, items[-1].id if full else None)

    def view(self, complaint_id: uuid.UUID, staff: Reader, open_text: bool = True) -> View:
        """Dates, links and state for whoever may list complaints; the text too, read (and audited) here, for
        the DPO and the assigned handler when ``open_text`` (an API key without the handling power: never)."""
        if not may(staff.role, Permission.COMPLAINTS_LIST):
            raise NotAllowed("this role sees complaint counts only", code="role_not_allowed")
        complaint = self.get(complaint_id)
        if open_text and rules.may_read(staff.role, staff.staff_id, complaint.handler_id):
            return View(complaint, self.read(complaint.id, staff).letters)
        return View(complaint, None)

    def handlers(self) -> list[tuple[uuid.UUID, str, str]]:
        """Who may be assigned a complaint: (id, role, e-mail) of every active DPO and support account."""
        now = self._now()
        return [(a.id, a.role, staff_service.email_of(self.kluis.keys, a)) for a in staff_service.list_staff(
            self.session) if a.role in HANDLER_ROLES and staff_service.status_of(a, now) != "disabled"]

    def read(self, complaint_id: uuid.UUID, staff: Reader) -> Read:
        """The text and correspondence, for DPO staff or the assigned handler; every read is audited."""
        complaint = self.get(complaint_id)
        if not rules.may_read(staff.role, staff.staff_id, complaint.handler_id):
            raise NotAllowed(N_("only the DPO and the assigned handler read a complaint"),
                             code="complaint_confidential")
        key = sealing.key_of(self.session, self.kluis, complaint)
        letters = [Letter(m.kind, m.by, m.at, sealing.open_text(key, complaint.id, m.id, m.kind, m.sealed))
                   for m in repository.messages(self.session, complaint.id)]
        self._audit(complaint, "complaint.read", messages=len(letters))
        return Read(complaint, letters)

    def for_package(self, person_id: uuid.UUID) -> list[dict[str, Any]]:
        """The person's complaints as their access package shows them, with what they wrote and were answered."""
        found = []
        for complaint in repository.of_person(self.session, person_id):
            key = sealing.key_of(self.session, self.kluis, complaint)
            found.append({"reference": rules.short_reference(complaint.id), "channel": complaint.channel,
                          "state": complaint.state, "received_at": complaint.received_at.isoformat(),
                          "deadline": complaint.deadline_on.isoformat(),
                          "answered_at": complaint.answered_at.isoformat() if complaint.answered_at else None,
                          "correspondence": [
                              {"kind": m.kind, "at": m.at.isoformat(),
                               "text": sealing.open_text(key, complaint.id, m.id, m.kind, m.sealed)}
                              for m in repository.messages(self.session, complaint.id) if m.kind != "note"]})
        return found

    # --- handling -----------------------------------------------------------------------------

    def assign(self, complaint_id: uuid.UUID, staff: Reader, handler_id: uuid.UUID) -> Complaint:
        """The DPO gives the complaint to one handler (DPO or support staff), who may then read it."""
        if not may(staff.role, Permission.COMPLAINTS_READ):
            raise NotAllowed(N_("only the DPO assigns a complaint"), code="role_not_allowed")
        complaint = self._open_one(complaint_id)
        account = staff_service.account_by_id(self.session, handler_id)
        if (account is None or account.role not in HANDLER_ROLES
                or staff_service.status_of(account, self._now()) == "disabled"):
            raise Invalid(N_("the handler is an active DPO or support staff member"), code="handler_invalid")
        complaint.handler_id, complaint.updated_at = handler_id, self._now()
        self._audit(complaint, "complaint.assigned", handler_id=str(handler_id))
        return complaint

    def add_note(self, complaint_id: uuid.UUID, staff: Reader, text: str) -> Complaint:
        complaint = self._handled_by(complaint_id, staff)
        self._letter(complaint, "note", rules.check_text(text, "the note"), self.actor)
        self._audit(complaint, "complaint.note_added")
        return complaint

    def answer(self, complaint_id: uuid.UUID, staff: Reader, text: str) -> Complaint:
        """The written answer: sealed, mailed to the person (with the right to complain to the AP), closing it."""
        complaint = self._handled_by(complaint_id, staff)
        self._letter(complaint, "answer", rules.check_text(text, "the answer"), self.actor)
        now = self._now()
        complaint.state, complaint.answered_at, complaint.updated_at = State.ANSWERED, now, now
        self._audit(complaint, "complaint.answered", mailed=int(complaint.person_id is not None))
        self._mail(complaint, complaint_mail.ANSWER_TEMPLATE)
        return complaint

    def link(self, complaint_id: uuid.UUID, staff: Reader, *, person_id: uuid.UUID | None = None,
             request_id: uuid.UUID | None = None, breach_ref: str | None = None) -> Complaint:
        """Tie the complaint to a person, a request or a breach (the breach register's id, opaque here)."""
        complaint = self._handled_by(complaint_id, staff, closed_too=True)
        if person_id is not None:
            if complaint.person_id not in (None, person_id):
                raise Conflict(N_("this complaint is already another person's"), code="person_already_linked")
            self.kluis.vault(self.session, self.actor).person(person_id)
            complaint.person_id = person_id
        if request_id is not None:
            complaint.request_id = self._request(request_id, complaint.person_id)
        if breach_ref is not None:
            complaint.breach_ref = self._breach(breach_ref)
        complaint.updated_at = self._now()
        self._audit(complaint, "complaint.linked", person=int(person_id is not None),
                    request=int(request_id is not None), breach=int(breach_ref is not None))
        return complaint

    def send_reminders(self, batch: int = 500) -> int:
        """Before the deadline (7 and 2 days) and once overdue, tell the handler and every DPO; once each."""
        now, sent = self._now(), 0
        dpos = staff_service.active_dpos(self.session, now)
        for complaint in repository.reminder_candidates(self.session, now, batch):
            due = rules.reminder_due(complaint.deadline_on, complaint.deadline_at, now, complaint.state,
                                     tuple(complaint.reminders_sent or ()))
            if due is None:
                continue
            complaint.reminders_sent = [*(complaint.reminders_sent or []), due]
            handler = staff_service.account_by_id(self.session, complaint.handler_id) if complaint.handler_id \
                else None
            to = list({a.id: a for a in [*([handler] if handler else []), *dpos]}.values())
            for account in to:  # each in the language they chose (docs/i18n.md)
                mail.enqueue(self.session, self.kluis.clock, template=complaint_mail.REMINDER_TEMPLATE,
                             staff_id=account.id, lang=staff_service.mail_language(account, self.kluis.settings),
                             actor=self.actor,
                             context={"complaint_id": str(complaint.id), "days": due})
            self._audit(complaint, "complaint.reminded", days=due, staff=len(to))
            sent += 1
        return sent

    def lapse_unverified(self, batch: int = 500) -> int:
        """Privacy-centre complaints never confirmed within KLUIS_UNVERIFIED_REQUEST_DAYS: their text, codes, code
        mail and ties to an address are deleted (the address never proved itself); one audit event, the count."""
        days = self.kluis.settings.unverified_request_days
        due = repository.unverified_before(self.session, self._now() - timedelta(days=days), batch)
        for complaint in due:
            repository.forget_unverified(self.session, complaint, complaint_mail.CODE_TEMPLATE)
            sealing.forget_own_key(self.session, self.kluis, complaint)
            complaint.state, complaint.updated_at = State.LAPSED, self._now()
            complaint.claimed_person_id = complaint.address_key = None
        if due:
            audit.append(self.session, self.kluis.clock, actor=self.actor, action="complaint.unverified_lapsed",
                         object_type="complaint", details={"complaints": len(due), "days": days})
        return len(due)

    # --- inside -------------------------------------------------------------------------------

    def _now(self) -> datetime:
        return self.kluis.clock.now()

    def _new(self, channel: Channel, state: State, lang: str, received_at: datetime, key_person: uuid.UUID | None,
             text: str, by: str) -> Complaint:
        """Every check is made before the key is: a separate key store commits it at once."""
        lang, complaint_id, now = rules.check_lang(lang), new_id(), self._now()
        due = rules.deadline(received_at, self.kluis.policy.complaints.answer_within_days)
        key, wrapped = sealing.new_key(self.session, self.kluis, complaint_id, key_person)
        complaint = Complaint(id=complaint_id, channel=channel, state=state, lang=lang,
                              received_at=received_at, deadline_on=due.day, deadline_at=due.at,
                              key_owner_id=key_person or complaint_id, wrapped_key=wrapped, reminders_sent=[],
                              created_at=now, updated_at=now)
        self.session.add(complaint)
        self.session.flush()
        self._letter(complaint, "complaint", text, by, key)
        self._audit(complaint, "complaint.received", channel=channel)
        return complaint

    def _letter(self, complaint: Complaint, kind: str, text: str, by: str, key: bytes | None = None) -> None:
        key = key if key is not None else sealing.key_of(self.session, self.kluis, complaint)
        message_id = new_id()
        self.session.add(ComplaintMessage(id=message_id, complaint_id=complaint.id, kind=kind, by=by[:64],
                                          seq=repository.next_seq(self.session, complaint.id),
                                          at=self._now(), sealed=sealing.seal(key, complaint.id, message_id, kind,
                                                                              text)))
        self.session.flush()

    def _open(self, complaint: Complaint, person_id: uuid.UUID | None) -> None:
        """The complaint is someone's: acknowledged at once (when there is a person to mail)."""
        complaint.person_id, complaint.state, complaint.updated_at = person_id, State.OPEN, self._now()
        self._audit(complaint, "complaint.opened", mailed=int(person_id is not None))
        self._mail(complaint, complaint_mail.ACK_TEMPLATE)

    def _mail(self, complaint: Complaint, template: str) -> None:
        if complaint.person_id is not None:
            mail.enqueue(self.session, self.kluis.clock, template=template, person_id=complaint.person_id,
                         lang=complaint.lang, context={"complaint_id": str(complaint.id)}, actor=self.actor)

    def _issue_code(self, complaint: Complaint) -> None:
        now = self._now()
        if not request_rules.may_issue_code(repository.codes_since(self.session, complaint.id,
                                                                   now - timedelta(hours=1))):
            raise Conflict(N_("three codes were sent in the last hour; try again later"), code="code_rate_limited",
                           status=429)
        code_id = new_id()
        code = request_rules.derive_code(self.kluis.keys.secret, code_id)
        self.session.add(ComplaintCode(
            id=code_id, complaint_id=complaint.id, tries=0, created_at=now,
            digest=request_rules.code_digest(self.kluis.keys.secret, str(complaint.id), code),
            expires_at=now + request_rules.CODE_LIFETIME))
        self.session.flush()
        self._audit(complaint, "complaint.code_issued")
        if complaint.claimed_person_id is not None:
            mail.enqueue(self.session, self.kluis.clock, template=complaint_mail.CODE_TEMPLATE,
                         person_id=complaint.claimed_person_id, lang=complaint.lang, actor=self.actor,
                         context={"complaint_id": str(complaint.id), "code_id": str(code_id)})

    def _open_one(self, complaint_id: uuid.UUID, closed_too: bool = False) -> Complaint:
        """The complaint, locked for this transaction: two hands writing to it take turns."""
        complaint = self.get(complaint_id)
        self.session.refresh(complaint, with_for_update=True)
        if complaint.state != State.OPEN and not closed_too:
            raise Conflict(N_("this complaint is %(state)s", state=complaint.state), code="complaint_closed")
        return complaint

    def _handled_by(self, complaint_id: uuid.UUID, staff: Reader, closed_too: bool = False) -> Complaint:
        complaint = self._open_one(complaint_id, closed_too)
        if not rules.may_read(staff.role, staff.staff_id, complaint.handler_id):
            raise NotAllowed(N_("only the DPO and the assigned handler handle a complaint"),
                             code="complaint_confidential")
        return complaint

    def _request(self, request_id: uuid.UUID | None, person_id: uuid.UUID | None) -> uuid.UUID | None:
        """A request to link: it must exist and, where both are known, be the same person's."""
        if request_id is None:
            return None
        found = Rights(self.session, self.kluis, self.actor).get(request_id)
        if person_id is not None and found.person_id not in (None, person_id):
            raise NotFound(N_("no such request"), code="request_not_found")
        return request_id

    @staticmethod
    def _breach(breach_ref: str | None) -> str | None:
        cleaned = (breach_ref or "").strip()
        if len(cleaned) > 64:
            raise Invalid(N_("a breach reference is at most 64 characters"), code="breach_ref_invalid")
        return cleaned or None

    def _audit(self, complaint: Complaint, action: str, **details: str | int) -> None:
        ids: list[uuid.UUID | str] = [complaint.id]
        if complaint.person_id:
            ids.append(complaint.person_id)
        via: dict[str, str | int] = {"via": self.via} if self.via else {}
        audit.append(self.session, self.kluis.clock, actor=self.actor, action=action, object_type="complaint",
                     object_ids=ids, details={"state": complaint.state, **via, **details})
