"""Pure decisions about mail: what may sit in the outbox, retry timing, headers. No I/O here."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from kluis.jobs.rules import Backoff
from kluis.kit.errors import Problem

ADMINISTRATIVE = "administrative"
MARKETING = "marketing"
KINDS = (ADMINISTRATIVE, MARKETING)
LANGS = ("nl", "en")

QUEUED, SENDING, SENT, FAILED, CANCELLED = "queued", "sending", "sent", "failed", "cancelled"
STATES = (QUEUED, SENDING, SENT, FAILED, CANCELLED)

# A held message's next attempt: never due until ``service.release`` sets it to now.
HELD_UNTIL = datetime(9999, 12, 31, tzinfo=UTC)
# After a failed attempt: 1, 2, 4, ... minutes, at most 6 hours, each ±25 % so that a relay that was down is not
# hit by every waiting message in the same second.
RETRY = Backoff(first=timedelta(minutes=1), longest=timedelta(hours=6), jitter=0.25)
MAX_CONTEXT_TEXT = 200
STUCK_DAYS = 30  # failed mail is shown to staff this long (docs/mail.md)

# Headers the outbox sets itself; a template's builder may not replace them.
RESERVED_HEADERS = frozenset({"from", "to", "cc", "bcc", "subject", "message-id", "date", "sender",
                              "reply-to", "return-path", "mime-version", "content-type",
                              "content-transfer-encoding", "auto-submitted"})
UNSUBSCRIBE = "List-Unsubscribe"
UNSUBSCRIBE_POST = "List-Unsubscribe-Post"
ONE_CLICK = "List-Unsubscribe=One-Click"
LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


def message_id(outbox_id: uuid.UUID, domain: str) -> str:
    """The same id for every attempt of one message, so a receiver can drop a repeated delivery."""
    return f"<{outbox_id}@{domain}>"


# A party that is not in the policy's register: a client employer's privacy contact (R-DSR-8), by the employer's id.
EMPLOYER_PARTY = "employer:"


def check_recipient(kind: str, person_id: uuid.UUID | None, staff_id: uuid.UUID | None,
                    list_id: str | None, party: str | None = None, address: bool = False) -> list[Problem]:
    """``address``: the message goes to an address given for it alone (sealed until sent), not to a person, staff
    account or party (the answer to someone who asked for the sub-processors of a service, say)."""
    problems: list[Problem] = []
    if sum(x is not None for x in (person_id, staff_id, party)) + int(address) != 1:
        problems.append(Problem("recipient", "recipient_one",
                                "give exactly one of person_id, staff_id, party or an address"))
    if kind == MARKETING:
        if person_id is None:
            problems.append(Problem("person_id", "marketing_needs_person", "marketing mail goes to a person"))
        if not list_id:
            problems.append(Problem("list_id", "marketing_needs_list",
                                    "marketing mail names the list it is sent for, so that it can be unsubscribed"))
    return problems


def check_context(context: Mapping[str, Any]) -> list[Problem]:
    """The outbox holds ids and codes only. Addresses, names and free text belong in the vault;
    an '@' or a line break is the usual sign that one slipped in."""
    problems: list[Problem] = []
    for key, value in context.items():
        path = f"context.{key}"
        if not isinstance(key, str) or not key.isidentifier():
            problems.append(Problem(path, "context_key", "context keys are plain names"))
            continue
        for item in value if isinstance(value, list) else [value]:
            problems += _check_context_value(item, path)
    return problems


def _check_context_value(value: Any, path: str) -> list[Problem]:
    if value is None or isinstance(value, bool | int):
        return []
    if not isinstance(value, str):
        return [Problem(path, "context_type", "context values are ids, codes, numbers or lists of them")]
    if len(value) > MAX_CONTEXT_TEXT or "@" in value or "\n" in value or "\r" in value:
        return [Problem(path, "context_personal",
                        "context values are ids and codes; personal values are read from the vault when sending")]
    return []


def check_headers(headers: Mapping[str, str]) -> list[Problem]:
    problems = []
    for name, value in headers.items():
        if name.lower() in RESERVED_HEADERS or not name.replace("-", "").isalnum():
            problems.append(Problem(f"headers.{name}", "header_reserved", "this header is set by the outbox"))
        elif "\n" in value or "\r" in value:
            problems.append(Problem(f"headers.{name}", "header_invalid", "a header value is one line"))
    return problems


def unsubscribe_headers(one_click_url: str, mailto: str) -> dict[str, str]:
    """RFC 8058 one-click unsubscribe (with RFC 2369 mailto as the fallback). The URL must be https
    (plain http only on loopback, for the demo) and must itself carry the proof of who unsubscribes
    (a signed token): no login is asked."""
    if not one_click_url_allowed(one_click_url):
        raise ValueError("RFC 8058 requires an https one-click unsubscribe URL")
    if not mailto.startswith("mailto:"):
        mailto = f"mailto:{mailto}"
    return {UNSUBSCRIBE: f"<{one_click_url}>, <{mailto}>", UNSUBSCRIBE_POST: ONE_CLICK}


def has_one_click_unsubscribe(headers: Mapping[str, str]) -> bool:
    """R-CONS-2 (a): every marketing mail carries the one-click opt-out."""
    found = {k.lower(): v for k, v in headers.items()}
    links = [part.strip().strip("<>") for part in found.get(UNSUBSCRIBE.lower(), "").split(",")]
    return any(one_click_url_allowed(link) for link in links) and found.get(UNSUBSCRIBE_POST.lower()) == ONE_CLICK


def one_click_url_allowed(url: str) -> bool:
    """https (RFC 8058), or plain http on loopback for the demo."""
    parts = urlsplit(url)
    if parts.scheme == "https":
        return bool(parts.hostname)
    return parts.scheme == "http" and parts.hostname in LOOPBACK
