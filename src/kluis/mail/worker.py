"""The mail poller: claim due messages, compose them from the vault at send time, send, record.

Guarantees (docs/mail.md):
- never lost: a message is a row committed with the change that caused it; a worker that dies before
  sending leaves it queued (or claimed until its lease runs out), and it is sent later;
- never sent twice by two workers: a claim is exclusive (``FOR UPDATE SKIP LOCKED`` / SQLite's single
  writer) and only the claim holder records the outcome;
- at most a repeat with the same Message-ID: a worker killed after the relay accepted the message but
  before it recorded "sent" leaves the row claimed; after the lease another worker sends it again with
  the same Message-ID, so receivers can drop the duplicate. Exactly-once across SMTP is not possible.
"""

from __future__ import annotations

import logging
import random as random_module
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from kluis import jobs
from kluis.kit import i18n
from kluis.kit.errors import ConfigurationError, NotFound
from kluis.mail import rules, service
from kluis.mail.models import Outbox
from kluis.mail.rules import EMPLOYER_PARTY
from kluis.mail.smtp import DeliveryError, RelayUnavailable, SmtpConnection, SmtpTransport
from kluis.mail.templates import Cancelled, Undeliverable, context_id, message_type
from kluis.policy.schemas import UnknownPolicyId
from kluis.staff.models import StaffAccount
from kluis.staff.service import email_of
from kluis.vault.identifiers import IdentifierKind
from kluis.vault.models import Employer

if TYPE_CHECKING:
    from kluis.wiring import Kluis

log = logging.getLogger("kluis.mail")


@dataclass
class MailPoller:
    """One poll sends at most ``batch`` due messages over one SMTP connection. ``random`` drives the
    retry jitter (inject a fixed one in tests)."""

    random: Callable[[], float] = field(default=random_module.random)
    batch: int = 20
    name: str = "mail"

    def poll(self, kluis: Kluis) -> int:
        with _Sending(self, kluis) as sending:
            return len(jobs.poll(kluis.db, sending, jobs.new_owner(), self.batch).claim)

    def _deliver(self, kluis: Kluis, conn: SmtpConnection, row: Outbox) -> None:
        outcome, code = self._attempt(kluis, conn, row)
        self._record(kluis, row, outcome, code)

    def _record(self, kluis: Kluis, row: Outbox, outcome: str, code: str) -> None:
        """Write the outcome in its own transaction (queued: a retry, or failed when attempts are used up)."""
        clock = kluis.clock
        with kluis.db.transaction() as session:
            if outcome == rules.SENT:
                recorded = outcome if service.mark_sent(session, clock, row) else None
            elif outcome == rules.CANCELLED:
                recorded = outcome if service.mark_cancelled(session, clock, row, code) else None
            elif outcome == rules.FAILED:
                recorded = outcome if service.mark_failed(session, clock, row, code) else None
            else:
                recorded = service.defer(session, clock, row, code, max_attempts=kluis.settings.mail_max_attempts,
                                         random=self.random)
        if recorded is not None:
            log.log(logging.WARNING if recorded == rules.FAILED else logging.INFO, "mail %s %s (%s, attempt %d%s)",
                    row.id, recorded, row.template, row.attempts, f", {code}" if code else "")

    def _attempt(self, kluis: Kluis, conn: SmtpConnection, row: Outbox) -> tuple[str, str]:
        """What became of one message: (sent, ""), (cancelled, reason), (failed, code) or (queued, code)
        for a retry. Raises RelayUnavailable when nothing can be sent now."""
        try:
            with kluis.db.sessions() as session:
                message, to = compose(session, kluis, row)
        except Cancelled as exc:
            return rules.CANCELLED, exc.reason
        except Undeliverable as exc:
            return rules.FAILED, exc.code
        except ConfigurationError as exc:  # e.g. a worker that does not know a newer template yet
            return rules.QUEUED, exc.code
        except Exception as exc:  # any other fault is retried; its text may hold personal data: keep the class
            return rules.QUEUED, f"compose_{type(exc).__name__}"
        try:
            conn.send(message, to)
        except RelayUnavailable:
            raise
        except DeliveryError as exc:
            return (rules.FAILED if exc.permanent else rules.QUEUED), exc.code
        # The relay has it. If this worker dies before the outcome commits, the lease runs out and
        # the same Message-ID goes again (see the module docstring).
        return rules.SENT, ""


class _Sending:
    """The mail's job handler for one poll: each claimed message is composed and sent over the poll's one SMTP
    connection, opened at the first message. Once the relay is unavailable, the poll's other messages wait for a
    retry without being tried."""

    def __init__(self, poller: MailPoller, kluis: Kluis) -> None:
        self.poller, self.kluis = poller, kluis
        self._open = ExitStack()
        self._conn: SmtpConnection | None = None
        self._down: RelayUnavailable | None = None
        self._waiting = 0

    def __enter__(self) -> _Sending:
        return self

    def __exit__(self, *exc: object) -> None:
        self._open.close()
        if self._down is not None:
            log.warning("mail relay %s:%s unavailable (%s); %d message(s) wait for a retry",
                        self.kluis.settings.smtp_host, self.kluis.settings.smtp_port, self._down.code, self._waiting)

    def claim(self, session: Session, owner: str, limit: int) -> jobs.Claim[Outbox]:
        settings = self.kluis.settings
        return service.claim(session, self.kluis.clock, limit=limit,
                             lease=timedelta(seconds=settings.mail_lease_seconds),
                             max_attempts=settings.mail_max_attempts, domain=settings.mail_domain, owner=owner)

    def handle(self, row: Outbox) -> None:
        if self._down is None:
            try:
                self.poller._deliver(self.kluis, self._connection(), row)
                return
            except RelayUnavailable as exc:
                self._down = exc
        self._waiting += 1
        self.poller._record(self.kluis, row, rules.QUEUED, self._down.code)

    def _connection(self) -> SmtpConnection:
        if self._conn is None:
            self._conn = self._open.enter_context(SmtpTransport(self.kluis.settings).connection())
        return self._conn


def compose(session: Session, kluis: Kluis, row: Outbox) -> tuple[EmailMessage, str]:
    """The message as it goes out now, and its recipient's address (read from the vault or the staff
    register, never from the outbox)."""
    found = message_type(row.template)
    to = recipient(session, kluis, row)
    built = found.builder(session, kluis, row)
    if rules.check_headers(built.headers):
        raise Undeliverable("header_reserved")
    if row.kind == rules.MARKETING and not rules.has_one_click_unsubscribe(built.headers):
        raise Undeliverable("unsubscribe_missing")
    base = kluis.settings.base_url.rstrip("/")
    values = {"lang": row.lang, "base_url": base,
              "privacy_url": f"{base}/privacy{i18n.query(row.lang)}"} | dict(built.values)
    rendered = found.render(row.lang, values)
    message = EmailMessage()
    message["From"] = kluis.settings.mail_from
    message["To"] = to
    message["Subject"] = rendered.subject
    message["Date"] = format_datetime(kluis.clock.now())
    message["Message-ID"] = row.message_id or rules.message_id(row.id, kluis.settings.mail_domain)
    message["Auto-Submitted"] = "auto-generated"
    for name, value in built.headers.items():
        message[name] = value
    message.set_content(rendered.text)
    message.add_alternative(rendered.html, subtype="html")
    for attachment in built.attachments:
        maintype, subtype = attachment.media_type.split("/", 1)
        message.add_attachment(attachment.data, maintype=maintype, subtype=subtype, filename=attachment.filename)
    return message, to


def recipient(session: Session, kluis: Kluis, row: Outbox) -> str:
    """The address to send to, decrypted now. An erased person's mail is cancelled, not sent."""
    if row.party is not None and row.party.startswith(EMPLOYER_PARTY):
        # R-DSR-8: an employer's privacy contact, as it stands when the mail leaves.
        employer = session.get(Employer, context_id({"id": row.party.removeprefix(EMPLOYER_PARTY)}, "id"))
        if employer is None:
            raise Cancelled("party_unknown")
        if not employer.privacy_contact:
            raise Undeliverable("no_address")
        return employer.privacy_contact
    if row.party is not None:
        try:
            contact = kluis.policy.party(row.party).contact
        except UnknownPolicyId:
            raise Cancelled("party_unknown") from None
        if contact is None:
            raise Undeliverable("no_address")
        return str(contact)
    if row.staff_id is not None:
        account = session.get(StaffAccount, row.staff_id)
        if account is None:
            raise Cancelled("staff_removed")
        return email_of(kluis.keys, account)
    if row.sealed_to is not None:  # a person being erased, or an address given for this message alone
        return service.open_address(kluis.keys.secret, row.person_id or row.id, row.sealed_to)
    if row.person_id is None:  # an address alone whose seal was cleared: it went, failed or was cancelled before
        raise Undeliverable("no_address")
    vault = kluis.vault(session, actor=service.WORKER)
    try:
        vault.person(row.person_id)
        emails = [i for i in vault.identifiers_of(row.person_id) if i.kind == IdentifierKind.EMAIL]
        if not emails:
            raise Undeliverable("no_address")
        return vault.identifier_value(emails[0])
    except NotFound:
        raise Cancelled("person_erased") from None
