"""Authority orders (R-SHR-3) as use cases: refuse an informal request, record an order with its document,
decide it with four eyes, produce its export and log the disclosure, download and expire exports, delete an order
(its document shredded).

Services never commit; the request or command boundary does. Every change writes one audit event with ids,
counts and codes only. Bad input raises a typed error before anything is written.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from kluis import jobs
from kluis.audit import service as audit
from kluis.disclosures.service import Disclosures
from kluis.kit.clock import AMSTERDAM, as_utc, past_instant
from kluis.kit.errors import Conflict, DomainError, Invalid, NotAllowed, NotFound, Problem
from kluis.kit.i18n import N_
from kluis.kit.ids import new_id
from kluis.orders import rules, sealing
from kluis.orders.export import build_export
from kluis.orders.models import AuthorityOrder, AuthorityOrderPerson, AuthorityRefusal, OrderExport
from kluis.orders.rules import OrderFacts, OrderState
from kluis.policy.schemas import Recipient, RecipientKind
from kluis.vault.crypto import Unreadable
from kluis.vault.resealing import SealedColumn

if TYPE_CHECKING:
    from kluis.wiring import Kluis

MAX_ANSWER = 2000
# What the master key seals here, sealed anew when it rotates (the document's key is an object key: it rotates
# with the key store).
SEALED = (SealedColumn(AuthorityRefusal.answer_ciphertext, lambda row_id: sealing.text_context("answer", row_id)),
          SealedColumn(AuthorityOrder.reasons_ciphertext, lambda row_id: sealing.text_context("reasons", row_id)))


class DocumentGone(DomainError):
    """The order's document was shredded when the order was deleted."""

    def __init__(self) -> None:
        super().__init__("This order's document was destroyed when the order was deleted.",
                         code="document_destroyed", status=410)


class ExportGone(DomainError):
    """The link's export has expired or was deleted."""

    def __init__(self) -> None:
        super().__init__("This export has expired and was deleted; produce a new one from the order.",
                         code="export_expired", status=410)


@dataclass(frozen=True)
class Issued:
    """An export just made, with its link's secret: shown once, stored nowhere."""

    export: OrderExport
    token: str


@dataclass
class Orders:
    session: Session
    kluis: Kluis
    actor: str

    # --- informal requests ----------------------------------------------------------------------

    def refuse_informal(self, authority: str, asked_at: datetime | None, answer: str) -> AuthorityRefusal:
        """Record that an authority asked without a written order and was refused. Nothing about the person asked
        about is kept: the authority, when, and the answer given (sealed: staff may quote the request in it)."""
        now = self._now()
        problems = []
        if not " ".join(authority.split()) or len(authority.strip()) > 120:
            problems.append(Problem("authority", "authority_required", N_("name the authority that asked (120 max)")))
        if asked_at is not None:
            try:
                past_instant(asked_at, now, N_("the time asked"), "asked_at")
            except Invalid as exc:
                problems.append(Problem("asked_at", exc.code, exc.message))
        if not answer.strip() or len(answer) > MAX_ANSWER:
            problems.append(Problem("answer", "answer_required",
                                    N_("give the answer sent (up to %(count)s)", count=MAX_ANSWER)))
        if problems:
            raise Invalid(N_("the refusal was not recorded"), code="refusal_invalid", problems=problems)
        row = AuthorityRefusal(id=new_id(), authority=" ".join(authority.split()),
                               asked_at=as_utc(asked_at) if asked_at else now, recorded_by=self.actor,
                               recorded_at=now, answer_ciphertext=b"")
        row.answer_ciphertext = sealing.seal_text(self.kluis.keys, "answer", row.id, answer.strip())
        self.session.add(row)
        self.session.flush()
        self._audit("order.informal_refused", [row.id], authority=row.authority)
        return row

    def refusals(self, limit: int = 200) -> list[AuthorityRefusal]:
        return list(self.session.scalars(select(AuthorityRefusal).order_by(AuthorityRefusal.recorded_at.desc())
                                         .limit(limit)))

    def answer_of(self, row: AuthorityRefusal) -> str:
        return sealing.open_text(self.kluis.keys, "answer", row.id, row.answer_ciphertext)

    # --- orders -----------------------------------------------------------------------------------

    def record(self, facts: OrderFacts, document: bytes) -> AuthorityOrder:
        """Record a written order and its PDF; every problem is reported at once and nothing is written."""
        today = self._now().astimezone(AMSTERDAM).date()
        problems = rules.document_problems(document) + rules.order_problems(facts, today)
        party, party_problem = self._party(facts.party)
        problems += [party_problem] if party_problem else []
        problems += self._category_problems(facts.categories, party)
        people = list(dict.fromkeys(facts.person_ids))
        problems += self._people_problems(people)
        if problems:
            raise Invalid(N_("the order was not recorded"), code="order_invalid", problems=problems)
        assert facts.order_date is not None and party is not None
        order_id = new_id()
        key = self.kluis.keystore.create_object_key(self.session, sealing.DOCUMENT_KEY, order_id, self._now())
        order = AuthorityOrder(
            id=order_id, state=OrderState.RECORDED, party=party, legal_basis=facts.legal_basis.strip(),
            reference=facts.reference.strip(), order_date=facts.order_date, defer_until=facts.defer_until,
            categories=sorted(set(facts.categories)),
            document_ciphertext=sealing.seal_document(key, order_id, document),
            document_sha256=hashlib.sha256(document).hexdigest(), document_size=len(document),
            recorded_by=self.actor, recorded_at=self._now())
        self.session.add(order)
        self.session.flush()
        self.session.add_all([AuthorityOrderPerson(order_id=order.id, person_id=pid) for pid in people])
        self.session.flush()
        self._audit("order.recorded", [order.id], people=len(people), categories=order.categories,
                    party=party, deferred=facts.defer_until is not None, document_bytes=len(document))
        return order

    def get(self, order_id: uuid.UUID, lock: bool = False) -> AuthorityOrder:
        query = select(AuthorityOrder).where(AuthorityOrder.id == order_id)
        order = self.session.scalars(query.with_for_update() if lock else query).one_or_none()
        if order is None:
            raise NotFound(N_("no such order"), code="order_not_found")
        return order

    def list_orders(self, limit: int = 200) -> list[AuthorityOrder]:
        return list(self.session.scalars(select(AuthorityOrder).order_by(AuthorityOrder.recorded_at.desc())
                                         .limit(limit)))

    def people_of(self, order_id: uuid.UUID) -> list[uuid.UUID]:
        return list(self.session.scalars(select(AuthorityOrderPerson.person_id)
                                         .where(AuthorityOrderPerson.order_id == order_id)
                                         .order_by(AuthorityOrderPerson.person_id)))

    def document(self, order_id: uuid.UUID) -> tuple[AuthorityOrder, bytes]:
        """The order's PDF, decrypted; each read is audited."""
        order = self.get(order_id)
        key = self.kluis.keystore.object_key(self.session, sealing.DOCUMENT_KEY, order.id)
        if key is None or order.deleted:
            raise DocumentGone()
        pdf = sealing.open_document(key, order.id, order.document_ciphertext)
        self._audit("order.document_read", [order.id])
        return order, pdf

    def delete(self, order_id: uuid.UUID, by_dpo: bool) -> bool:
        """A DPO deletes an order: its document's key is destroyed in the key store (logged in the erasure log), so
        the document can never be read again, from this database or any backup of it. An order that disclosed
        data stays as the disclosure log's reference, without its document; any other goes with its people
        and exports. Whether the row stayed."""
        if not by_dpo:
            raise NotAllowed(N_("only a DPO may delete an order"), code="dpo_required")
        order = self.get(order_id, lock=True)
        if order.deleted:
            raise Conflict(N_("this order was deleted already"), code="order_deleted")
        self.kluis.keystore.destroy(self.session, [order.id], reason="order")
        kept = order.disclosed_at is not None
        if kept:
            order.document_ciphertext = b""
        else:
            self.session.execute(delete(AuthorityOrderPerson).where(AuthorityOrderPerson.order_id == order.id))
            self.session.execute(delete(OrderExport).where(OrderExport.order_id == order.id))
            self.session.delete(order)
        self.session.flush()
        self._audit("order.deleted", [order.id], kept_as_proof=kept)
        return kept

    def reasons_of(self, order: AuthorityOrder) -> str | None:
        if order.reasons_ciphertext is None:
            return None
        return sealing.open_text(self.kluis.keys, "reasons", order.id, order.reasons_ciphertext)

    def decide(self, order_id: uuid.UUID, approve: bool, reasons: str, decider_is_dpo: bool) -> Issued | None:
        """A second DPO approves or rejects. Approval produces the export at once and logs the disclosure; the
        export's link is returned, to be shown once."""
        order = self.get(order_id, lock=True)
        problem = rules.decision_problem(order.state, order.recorded_by, self.actor, decider_is_dpo, reasons)
        if problem is not None:
            error = Conflict if problem.code == "already_decided" else (
                Invalid if problem.code == "reasons_required" else NotAllowed)
            raise error(problem.message, code=problem.code, problems=[problem])
        order.state = OrderState.APPROVED if approve else OrderState.REJECTED
        order.decided_by, order.decided_at = self.actor, self._now()
        order.reasons_ciphertext = sealing.seal_text(self.kluis.keys, "reasons", order.id, reasons.strip())
        self._audit("order.approved" if approve else "order.rejected", [order.id])
        return self.produce(order.id) if approve else None

    # --- exports ------------------------------------------------------------------------------------

    def produce(self, order_id: uuid.UUID) -> Issued:
        """Export the data the approved order names, sealed under a one-time key. The first export logs the
        disclosure per person in the disclosure log; a later one (the first link expired) does not log it again."""
        order = self.get(order_id, lock=True)
        if order.state != OrderState.APPROVED:
            raise Conflict(N_("data is produced only for an order a second DPO approved"), code="order_not_approved")
        if order.deleted:
            raise Conflict(N_("this order was deleted: it produces no more data"), code="order_deleted")
        now = self._now()
        produced = build_export(self.kluis, self.session, order, self.people_of(order.id), now, self.actor)
        export_id = new_id()
        key, sealed = sealing.seal_export(export_id, produced.zipped)
        export = OrderExport(id=export_id, order_id=order.id, ciphertext=sealed, size=len(produced.zipped),
                             people=len(produced.people), records=produced.records, created_by=self.actor,
                             created_at=now, expires_at=now + rules.EXPORT_LIFETIME, downloads=0)
        self.session.add(export)
        self.session.flush()
        self._audit("order.export_made", [order.id, export.id], people=export.people, records=export.records,
                    bytes=export.size)
        if order.disclosed_at is None and produced.people:
            order.disclosed_at = now
            Disclosures(self.session, self.kluis.policy, self.kluis.clock, self.actor).record_by_order(
                order.id, order.party, produced.people, order.categories, order.reference,
                rules.withheld_until(order.defer_until))
        return Issued(export, rules.export_token(export.id, key))

    def exports_of(self, order_id: uuid.UUID) -> list[OrderExport]:
        return list(self.session.scalars(select(OrderExport).where(OrderExport.order_id == order_id)
                                          .order_by(OrderExport.created_at)))

    def download(self, token: str) -> tuple[OrderExport, bytes]:
        """The export's ZIP, when the link is whole and unexpired; each download is counted and audited."""
        parsed = rules.parse_export_token(token)
        export = self.session.get(OrderExport, parsed[0], with_for_update=True) if parsed else None
        if parsed is None or export is None:
            raise NotFound(N_("no such export"), code="export_not_found")
        if export.ciphertext is None or self._now() >= as_utc(export.expires_at):
            raise ExportGone()
        try:
            zipped = sealing.open_export(export.id, parsed[1], export.ciphertext)
        except Unreadable:
            raise NotFound(N_("no such export"), code="export_not_found") from None
        export.downloads += 1
        export.last_download_at = self._now()
        self._audit("order.export_downloaded", [export.order_id, export.id], downloads=export.downloads,
                    bytes=export.size)
        return export, zipped

    def expire_due(self, limit: int = 50) -> int:
        """Delete the ciphertext of exports whose link has expired; the row stays as proof."""
        now = self._now()
        rows = list(self.session.scalars(jobs.unclaimed(select(OrderExport).where(
            OrderExport.ciphertext.is_not(None), OrderExport.expires_at <= now)
            .order_by(OrderExport.expires_at).limit(limit))))
        for export in rows:
            export.ciphertext, export.deleted_at = None, now
            self._audit("order.export_deleted", [export.order_id, export.id], downloads=export.downloads)
        return len(rows)

    # --- inside ---------------------------------------------------------------------------------------

    def authorities(self) -> list[Recipient]:
        return [r for r in self.kluis.policy.recipients if r.kind == RecipientKind.AUTHORITY]

    def _party(self, given: str) -> tuple[str | None, Problem | None]:
        """``recipient:<id>`` (or the id alone) of an authority in the policy; otherwise a free name."""
        given = given.strip()
        ref = given.removeprefix("recipient:")
        listed = {r.id: r for r in self.authorities()}
        if ref in listed:
            return f"recipient:{ref}", None
        if given.startswith("recipient:"):
            return None, Problem("authority", "authority_unknown", N_("not an authority of the policy's recipients"))
        party = rules.free_authority(given)
        if party is None:
            return None, Problem("authority", "authority_required", N_("name the issuing authority (70 characters)"))
        return party, None

    def _category_problems(self, categories: Sequence[str], party: str | None) -> list[Problem]:
        known = self.kluis.policy.category_ids
        listed = {f"recipient:{r.id}": r for r in self.authorities()}
        shared = listed[party].categories if party in listed else None
        problems = []
        for category in dict.fromkeys(categories):
            if category not in known:
                problems.append(Problem("categories", "category_unknown",
                                        N_("unknown category %(category)s", category=repr(category))))
            elif shared is not None and category not in shared:
                problems.append(Problem("categories", "category_not_shared",
                                        f"the policy does not name {category!r} for this authority"))
        return problems

    def _people_problems(self, people: Sequence[uuid.UUID]) -> list[Problem]:
        vault = self.kluis.vault(self.session, self.actor)
        problems = []
        for pid in people[:rules.MAX_PEOPLE + 1]:
            try:
                vault.person(pid)
            except NotFound:
                problems.append(Problem("person_ids", "person_not_found", N_("no such person: %(id)s", id=pid)))
        return problems

    def _now(self) -> datetime:
        return self.kluis.clock.now()

    def _audit(self, action: str, ids: list[uuid.UUID], **details: object) -> None:
        audit.append(self.session, self.kluis.clock, actor=self.actor, action=action, object_type="authority_order",
                     object_ids=ids, details=details)
