"""A real SMTP relay on loopback (aiosmtpd in this process) that can be told how to answer, and helpers."""

from __future__ import annotations

import email
import threading
import uuid
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from kluis.config import Settings
from kluis.mail import service
from kluis.mail.catcher import free_port
from kluis.mail.models import Outbox
from kluis.mail.worker import MailPoller
from kluis.vault.schemas import IdentifierIn, PersonIn
from kluis.wiring import Kluis

TEMPLATES = Path(__file__).parent / "templates"
NEWSLETTER = "test_newsletter"
# People who "opted out" after their mail was queued; the test builder cancels their mail at send time,
# as the consent domain's builders do.
OPTED_OUT: set[uuid.UUID] = set()


def newsletter(session, kluis: Kluis, row: Outbox) -> service.MessageContext:
    if row.person_id in OPTED_OUT:
        raise service.Cancelled("opted_out")
    url = f"https://kluis.benvitaal.nl/u/{row.context['token']}"
    headers = service.unsubscribe_headers(url, "unsubscribe@benvitaal.nl") if row.context.get("one_click") else {}
    return service.MessageContext(values={"unsubscribe_url": url}, headers=headers)


service.register_template(NEWSLETTER, newsletter, "marketing", directory=TEMPLATES)


@dataclass
class Received:
    to: list[str]
    message: EmailMessage
    raw: bytes = b""  # as it came over the wire (what a receiver verifies a DKIM signature on)

    @property
    def message_id(self) -> str:
        return str(self.message["Message-ID"])


class ScriptedRelay:
    """Accepts mail, unless told to answer the next messages otherwise: an SMTP reply code given at
    RCPT (``"451"``, ``"550"``) or ``"drop"``: close the connection in the middle of DATA."""

    def __init__(self) -> None:
        self.script: deque[str] = deque()
        self.received: list[Received] = []
        self.transactions = 0
        self.port = 0
        self._lock = threading.Lock()

    def answer_next(self, *actions: str) -> None:
        self.script.extend(actions)

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: list[str]) -> str:
        with self._lock:
            self.transactions += 1
            action = self.script.popleft() if self.script else "accept"
        envelope.scripted = action
        if action[:1] in "45":
            return f"{action} {'try again later' if action[0] == '4' else 'mailbox unavailable'}"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if getattr(envelope, "scripted", "accept") == "drop":
            server.transport.abort()
            return "421 gone"
        message = email.message_from_bytes(envelope.original_content, policy=default_policy)
        with self._lock:
            self.received.append(Received(list(envelope.rcpt_tos), message,  # type: ignore[arg-type]
                                          envelope.original_content))
        return "250 OK"


@pytest.fixture
def relay() -> Iterator[ScriptedRelay]:
    handler = ScriptedRelay()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    handler.port = controller.port
    yield handler
    controller.stop()


@pytest.fixture
def settings(settings: Settings, relay: ScriptedRelay) -> Settings:
    return settings.model_copy(update={"smtp_port": relay.port, "mail_max_attempts": 4, "mail_lease_seconds": 300,
                                       "smtp_timeout_seconds": 10.0})


@pytest.fixture
def poller() -> MailPoller:
    """Jitter fixed at the middle (factor 1.0), so that retry times are exact."""
    return MailPoller(random=lambda: 0.5, batch=5)


@pytest.fixture
def opted_out() -> Iterator[set[uuid.UUID]]:
    """The people the test newsletter's builder treats as opted out."""
    OPTED_OUT.clear()
    yield OPTED_OUT
    OPTED_OUT.clear()


class MailDesk:
    """Test helpers bound to one Kluis: people, queued notices, outbox rows, draining the worker."""

    def __init__(self, kluis: Kluis, poller: MailPoller) -> None:
        self.kluis = kluis
        self.poller = poller

    def add_person(self, address: str | None) -> uuid.UUID:
        identifiers = [IdentifierIn(kind="email", value=address)] if address else []
        with self.kluis.db.transaction() as session:
            vault = self.kluis.vault(session, "test")
            return vault.create_person(PersonIn(subject_types=["lead"], identifiers=identifiers)).id

    def queue(self, person_id: uuid.UUID | None = None, *, template: str = "account_notice", lang: str = "nl",
              **options: Any) -> uuid.UUID:
        context = options.pop("context", {"notice": "request_received"})
        with self.kluis.db.transaction() as session:
            row = service.enqueue(session, self.kluis.clock, template=template, person_id=person_id, lang=lang,
                                  context=context, actor="test", **options)
        return row.id

    def row(self, outbox_id: uuid.UUID) -> Outbox:
        with self.kluis.db.sessions() as session:
            row = session.get(Outbox, outbox_id)
            assert row is not None
            return row

    def drain(self) -> int:
        total = 0
        while (done := self.poller.poll(self.kluis)) > 0:
            total += done
        return total


@pytest.fixture
def desk(kluis: Kluis, poller: MailPoller) -> MailDesk:
    return MailDesk(kluis, poller)
