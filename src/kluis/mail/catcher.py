"""The demo's mail catcher: an SMTP server on loopback that keeps what it receives in memory only.

Nothing is written to disk and nothing is relayed: the demo's mail can be read at ``/demo/mail`` and
is gone when the process stops. Not for production.
"""

from __future__ import annotations

import email
import logging
import socket
import threading
from collections import deque
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import default as default_policy
from typing import Any

from aiosmtpd.controller import Controller

KEEP = 200


@dataclass(frozen=True)
class CaughtMessage:
    envelope_from: str
    to: tuple[str, ...]
    subject: str
    message_id: str
    headers: tuple[tuple[str, str], ...]
    text: str
    html: str
    # (file name, media type, bytes) of each attached file
    attachments: tuple[tuple[str, str, bytes], ...] = ()


class _Inbox:
    """The aiosmtpd handler: accepts every message and keeps the newest ``keep`` of them."""

    def __init__(self, keep: int) -> None:
        self._messages: deque[CaughtMessage] = deque(maxlen=keep)
        self._lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd hook
        raw = envelope.original_content or envelope.content
        parsed = email.message_from_bytes(raw if isinstance(raw, bytes) else raw.encode(), policy=default_policy)
        assert isinstance(parsed, EmailMessage)
        caught = CaughtMessage(
            envelope_from=envelope.mail_from or "", to=tuple(envelope.rcpt_tos),
            subject=str(parsed.get("Subject", "")), message_id=str(parsed.get("Message-ID", "")),
            headers=tuple((name, str(value)) for name, value in parsed.items()),
            text=_part(parsed, "plain"), html=_part(parsed, "html"),
            attachments=tuple(_attachment(part) for part in parsed.iter_attachments()))
        with self._lock:
            self._messages.append(caught)
        return "250 OK: caught (kept in memory only)"

    def messages(self) -> list[CaughtMessage]:
        with self._lock:
            return list(self._messages)

    def clear(self) -> None:
        with self._lock:
            self._messages.clear()


def _part(message: EmailMessage, subtype: str) -> str:
    part = message.get_body((subtype,))
    return str(part.get_content()) if part is not None else ""


def _attachment(part: EmailMessage) -> tuple[str, str, bytes]:
    """(file name, media type, bytes); an attached message (message/rfc822) decodes to no bytes of its own."""
    payload = part.get_payload(decode=True)
    return str(part.get_filename()), part.get_content_type(), payload if isinstance(payload, bytes) else b""


class MailCatcher:
    """A running catcher. ``messages`` lists what arrived, oldest first."""

    def __init__(self, controller: Controller, inbox: _Inbox, host: str, port: int) -> None:
        self._controller = controller
        self._inbox = inbox
        self.host = host
        self.port = port

    @property
    def messages(self) -> list[CaughtMessage]:
        return self._inbox.messages()

    def clear(self) -> None:
        self._inbox.clear()

    def stop(self) -> None:
        self._controller.stop()


def start_catcher(host: str = "127.0.0.1", port: int = 8025, keep: int = KEEP) -> MailCatcher:
    """Start catching on ``host:port`` (port 0: any free port) in a background thread."""
    if port == 0:
        port = free_port(host)
    # aiosmtpd logs every sender and recipient address at INFO: keep addresses out of the logs.
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    inbox = _Inbox(keep)
    controller = Controller(inbox, hostname=host, port=port, server_hostname="kluis-demo-catcher",
                            enable_SMTPUTF8=True)
    controller.start()
    return MailCatcher(controller, inbox, host, port)


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])
