"""Pure rules of authority orders (R-SHR-3): what a document must be, what an order must say, who may decide it,
when a deferral ends, and the form of an export's download token. No database and no web framework here."""

from __future__ import annotations

import base64
import binascii
import re
import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum

from kluis.kit.clock import AMSTERDAM, EARLIEST
from kluis.kit.errors import Problem
from kluis.kit.i18n import N_

MAX_DOCUMENT = 10 * 1024 * 1024
MAX_PEOPLE = 100  # an order names people one by one; an export of more is not an order but a trawl
EXPORT_LIFETIME = timedelta(days=7)
FREE_AUTHORITY = "authority:"
_HEADER = re.compile(rb"%PDF-(1\.[0-7]|2\.0)[\r\n \t%]")
_STARTXREF = re.compile(rb"startxref\s+(\d{1,12})\s+%%EOF")
_XREF_AT = re.compile(rb"\s*(xref|\d{1,10}\s+\d{1,5}\s+obj)\b")
TAIL = 1024  # the PDF standard has %%EOF in the last 1024 bytes


class OrderState(StrEnum):
    RECORDED = "recorded"
    APPROVED = "approved"
    REJECTED = "rejected"


def document_problems(data: bytes) -> list[Problem]:
    """Why ``data`` is not accepted as the order's PDF: empty, too large, not a PDF by its magic bytes, or without
    the trailer a PDF ends with (a cross-reference offset that points at a cross-reference). The document is stored
    and handed back, never rendered, so a structural check is enough; a full parser would be attack surface."""
    if not data:
        return [Problem("document", "document_required", N_("attach the order itself (a PDF)"))]
    if len(data) > MAX_DOCUMENT:
        return [Problem("document", "document_too_large", N_("at most %(mb)s MB", mb=MAX_DOCUMENT // (1024 * 1024)))]
    if not _HEADER.match(data[:16]):
        return [Problem("document", "document_not_pdf", N_("the file is not a PDF (it does not start with %PDF-)"))]
    trailer = _STARTXREF.search(data[-TAIL:].rstrip())
    if trailer is None:
        return [Problem("document", "document_damaged", N_("the PDF has no trailer: it is cut short or damaged"))]
    offset = int(trailer.group(1))
    if offset >= len(data) or not _XREF_AT.match(data, offset):
        return [Problem("document", "document_damaged", N_("the PDF's cross-reference offset points nowhere"))]
    return []


@dataclass(frozen=True)
class OrderFacts:
    """What staff say about an order, as given (before the people and the policy are checked)."""

    party: str
    legal_basis: str
    reference: str
    order_date: date | None
    defer_until: date | None
    categories: tuple[str, ...]
    person_ids: tuple[uuid.UUID, ...]


def order_problems(facts: OrderFacts, today: date) -> list[Problem]:
    """The checks that need neither the vault nor the policy."""
    problems: list[Problem] = []
    if not facts.legal_basis.strip():
        problems.append(Problem("legal_basis", "legal_basis_required",
                                N_("name the legal basis of the order (e.g. art. 126nd Sv, or the court's order)")))
    elif len(facts.legal_basis.strip()) > 200:
        problems.append(Problem("legal_basis", "too_long", N_("at most 200 characters")))
    if not facts.reference.strip():
        problems.append(Problem("reference", "reference_required", N_("give the order's reference (case number)")))
    elif len(facts.reference.strip()) > 80:
        problems.append(Problem("reference", "too_long", N_("at most 80 characters")))
    if facts.order_date is None:
        problems.append(Problem("order_date", "order_date_required", N_("give the date of the order")))
    elif facts.order_date > today:
        problems.append(Problem("order_date", "in_future", N_("an order is recorded once it has been issued")))
    elif facts.order_date < EARLIEST.date():
        problems.append(Problem("order_date", "too_early",
                                N_("an order is dated %(day)s or later", day=f"{EARLIEST:%Y-%m-%d}")))
    if facts.defer_until is not None and facts.order_date is not None and facts.defer_until <= facts.order_date:
        problems.append(Problem("defer_until", "deferral_before_order",
                                N_("the deferral must end after the order's date")))
    if not facts.categories:
        problems.append(Problem("categories", "categories_required", N_("name the categories the order covers")))
    if not facts.person_ids:
        problems.append(Problem("person_ids", "people_required", N_("name the people the order covers")))
    elif len(set(facts.person_ids)) > MAX_PEOPLE:
        problems.append(Problem("person_ids", "too_many", N_("at most %(count)s people per order", count=MAX_PEOPLE)))
    return problems


def free_authority(name: str) -> str | None:
    """The party of an authority the policy does not list, by its name; None when the name is unusable."""
    name = " ".join(name.split())
    if not name or len(FREE_AUTHORITY) + len(name) > 80:
        return None
    return FREE_AUTHORITY + name


def decision_problem(state: str, recorded_by: str, decider: str, decider_is_dpo: bool, reasons: str) -> Problem | None:
    """Four eyes: a DPO who did not record the order decides it, once, and says why."""
    if state != OrderState.RECORDED:
        return Problem("order", "already_decided", N_("this order was already %(state)s", state=state))
    if not decider_is_dpo:
        return Problem("decider", "dpo_required", N_("only a staff member with the DPO role decides an order"))
    if decider == recorded_by:
        return Problem("decider", "recorder_may_not_decide",
                       N_("you recorded this order; a second DPO who did not record it must approve or reject it"))
    if not reasons.strip():
        return Problem("reasons", "reasons_required", N_("say why the order is approved or rejected"))
    return None


def withheld_until(defer_until: date | None) -> datetime | None:
    """The instant a deferred disclosure becomes visible to the person: the start of that day in Amsterdam."""
    return None if defer_until is None else datetime.combine(defer_until, time(0), tzinfo=AMSTERDAM)


def export_token(export_id: uuid.UUID, key: bytes) -> str:
    """The download link's secret: the export's id and its 256-bit key. The key is stored nowhere else."""
    return base64.urlsafe_b64encode(export_id.bytes + key).decode().rstrip("=")


def parse_export_token(token: str) -> tuple[uuid.UUID, bytes] | None:
    if not re.fullmatch(r"[A-Za-z0-9_-]{64}", token):
        return None
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (binascii.Error, ValueError):
        return None
    return uuid.UUID(bytes=raw[:16]), raw[16:]
