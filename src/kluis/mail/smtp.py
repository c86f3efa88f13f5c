"""Sending over SMTP (smtplib), and sorting what went wrong into retry-later or give-up.

Error codes kept in the outbox name the kind of failure (``smtp_451``, ``disconnected``, ...), never
the server's text, which often repeats the address.
"""

from __future__ import annotations

import smtplib
import socket
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import EmailMessage
from email.utils import parseaddr

from kluis.config import Settings
from kluis.mail.dkim import DkimSigner, flatten, signer_of


class DeliveryError(Exception):
    """One message was not accepted. ``permanent``: the relay refused it for good (5xx for the
    recipient or content); otherwise it may succeed later."""

    def __init__(self, code: str, permanent: bool) -> None:
        super().__init__(code)
        self.code = code
        self.permanent = permanent


class RelayUnavailable(DeliveryError):
    """The relay could not be reached or would not let us in: nothing in this batch can go now."""

    def __init__(self, code: str) -> None:
        super().__init__(code, permanent=False)


class SmtpTransport:
    """Opens one SMTP connection per batch, lazily, and reopens it after any failure."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.signer = signer_of(settings)

    @contextmanager
    def connection(self) -> Iterator[SmtpConnection]:
        conn = SmtpConnection(self.settings, self.signer)
        try:
            yield conn
        finally:
            conn.close()


class SmtpConnection:
    def __init__(self, settings: Settings, signer: DkimSigner | None = None) -> None:
        self.settings = settings
        self.signer = signer
        self.envelope_from = parseaddr(settings.mail_from)[1]
        self._smtp: smtplib.SMTP | None = None

    def send(self, message: EmailMessage, to: str) -> None:
        """Flattened here, as smtplib's send_message would, so that the DKIM signature covers the exact bytes."""
        smtp = self._smtp or self._connect()
        try:
            international = not f"{self.envelope_from}{to}".isascii()
            smtp.ehlo_or_helo_if_needed()
            if international and not smtp.has_extn("smtputf8"):
                raise smtplib.SMTPNotSupportedError("the relay does not take internationalised addresses")
            raw = flatten(message, international)
            if self.signer is not None:
                raw = self.signer.sign(raw)
            smtp.sendmail(self.envelope_from, [to], raw,
                          mail_options=("SMTPUTF8", "BODY=8BITMIME") if international else ())
        except (smtplib.SMTPException, OSError) as exc:
            self.close()
            raise _send_error(exc) from None

    def close(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is None:
            return
        try:
            smtp.quit()
        except (smtplib.SMTPException, OSError):
            smtp.close()

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        context = ssl.create_default_context()
        timeout = s.smtp_timeout_seconds
        smtp: smtplib.SMTP | None = None
        try:
            if s.smtp_ssl:
                smtp = smtplib.SMTP_SSL(s.smtp_host, s.smtp_port, local_hostname=s.mail_domain, timeout=timeout,
                                        context=context)
            else:
                smtp = smtplib.SMTP(s.smtp_host, s.smtp_port, local_hostname=s.mail_domain, timeout=timeout)
                if s.smtp_starttls:
                    smtp.starttls(context=context)
            if s.smtp_username is not None:
                password = s.smtp_password.get_secret_value() if s.smtp_password else ""
                smtp.login(s.smtp_username.get_secret_value(), password)
        except (smtplib.SMTPException, OSError) as exc:
            if smtp is not None:
                smtp.close()
            raise RelayUnavailable(_connect_code(exc)) from None
        self._smtp = smtp
        return smtp


def _connect_code(exc: BaseException) -> str:
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return "smtp_auth"
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"smtp_connect_{exc.smtp_code}"
    if isinstance(exc, ssl.SSLError):
        return "tls"
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return "starttls_unsupported"
    if isinstance(exc, TimeoutError):
        return "timeout"
    if isinstance(exc, ConnectionRefusedError):
        return "connection_refused"
    if isinstance(exc, socket.gaierror):
        return "host_unknown"
    return f"connect_{type(exc).__name__}"[:64]


def _send_error(exc: BaseException) -> DeliveryError:
    """Only the recipient's mailbox or the content being refused (5xx) is final; everything about
    the connection, our sender address or a 4xx reply is worth another try."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()] or [0]
        return DeliveryError(f"smtp_{min(codes)}", permanent=all(500 <= c < 600 for c in codes))
    if isinstance(exc, smtplib.SMTPSenderRefused):
        return DeliveryError(f"smtp_sender_{exc.smtp_code}", permanent=False)
    if isinstance(exc, smtplib.SMTPResponseException):
        return DeliveryError(f"smtp_{exc.smtp_code}", permanent=500 <= exc.smtp_code < 600)
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return DeliveryError("smtputf8_unsupported", permanent=True)
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return DeliveryError("disconnected", permanent=False)
    if isinstance(exc, TimeoutError):
        return DeliveryError("timeout", permanent=False)
    return DeliveryError(f"send_{type(exc).__name__}"[:64], permanent=False)
