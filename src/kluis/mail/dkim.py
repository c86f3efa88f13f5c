"""DKIM signatures (RFC 6376) on outgoing mail, made with dkimpy.

RFC 8058 asks that a one-click unsubscribe be covered by a DKIM signature: receivers only trust
``List-Unsubscribe`` and ``List-Unsubscribe-Post`` when a valid signature includes them. Kluis signs when a key
is configured (``KLUIS_DKIM_SELECTOR``, ``KLUIS_DKIM_DOMAIN``, ``KLUIS_DKIM_PRIVATE_KEY``); otherwise the relay
must sign, which ``kluis worker`` says at start (docs/mail.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import SMTP, SMTPUTF8
from pathlib import Path

import dkim

from kluis.config import Settings
from kluis.kit.errors import ConfigurationError

# Signed whether present or not (an absent one signed as empty cannot be added on the way). From is required by
# RFC 6376, the unsubscribe headers by RFC 8058.
HEADERS = ("from", "to", "subject", "date", "message-id", "mime-version", "content-type", "auto-submitted",
           "list-unsubscribe", "list-unsubscribe-post")
NO_KEY_WARNING = ("no DKIM key is configured (KLUIS_DKIM_*): the relay must sign outgoing mail with DKIM, "
                  "covering List-Unsubscribe and List-Unsubscribe-Post (RFC 8058); see docs/mail.md")


@dataclass(frozen=True)
class DkimSigner:
    selector: str
    domain: str
    private_key: bytes  # PEM

    def sign(self, raw: bytes) -> bytes:
        """The message with its DKIM-Signature header in front. Relaxed canonicalisation, so that a relay
        that refolds a header or re-ends a line does not break the signature."""
        signature = dkim.sign(raw, self.selector.encode(), self.domain.encode(), self.private_key,
                              canonicalize=(b"relaxed", b"relaxed"), include_headers=[h.encode() for h in HEADERS])
        return signature + raw


def signer_of(settings: Settings) -> DkimSigner | None:
    """The signer the settings describe, or None when no key is configured. Half a configuration is an error."""
    values = (settings.dkim_selector, settings.dkim_domain, settings.dkim_private_key)
    if not any(values):
        return None
    if not all(values):
        raise ConfigurationError("DKIM needs all of KLUIS_DKIM_SELECTOR, KLUIS_DKIM_DOMAIN and KLUIS_DKIM_PRIVATE_KEY",
                                 code="dkim_incomplete")
    assert settings.dkim_private_key is not None and settings.dkim_selector and settings.dkim_domain
    key = settings.dkim_private_key.get_secret_value().strip()
    if not key.startswith("-----BEGIN"):
        path = Path(key).expanduser()
        if not path.is_file():
            raise ConfigurationError("KLUIS_DKIM_PRIVATE_KEY is neither a PEM key nor the path of a file",
                                     code="dkim_key_missing")
        key = path.read_text(encoding="ascii").strip()
    return DkimSigner(settings.dkim_selector, settings.dkim_domain, key.encode())


def flatten(message: EmailMessage, international: bool) -> bytes:
    """The bytes that go over the wire (what smtplib's send_message would send): what is signed must be exactly
    what is sent."""
    return message.as_bytes(policy=(SMTPUTF8 if international else SMTP))
