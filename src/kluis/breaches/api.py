"""/api/v1/breaches: the breach register for staff tools (R-GOV-3). A key needs the power breach_report to
register incidents and read the register, breach_decide to decide, list the affected people, file with the AP
and notify the people concerned: the same split as the support and DPO roles in the console."""

from __future__ import annotations

from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Query
from fastapi.responses import Response

from kluis.access.service import BREACH_DECIDE, BREACH_REPORT
from kluis.breaches import form
from kluis.breaches.schemas import (
    AffectedPage,
    AmendBody,
    BreachListed,
    BreachOut,
    DecisionBody,
    FilingBody,
    FilingOut,
    IncidentBody,
)
from kluis.breaches.service import Breaches, reference
from kluis.web.deps import CallerDep, KluisDep

router = APIRouter(prefix="/api/v1/breaches", tags=["breaches"])
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "no valid key"}, 403: {"description": "the key lacks the power"},
    404: {"description": "no such breach"}}


@router.post("", status_code=201, response_model=BreachOut, responses={**ERRORS, 422: {"description": "refused"}})
def report(body: IncidentBody, kluis: KluisDep, caller: CallerDep) -> BreachOut:
    """Register an incident. Awareness may lie in the past, not in the future; the AP deadline is awareness + 72
    elapsed hours. Unknown categories or subject types, or a period that makes no sense, are refused whole."""
    caller.require_power(BREACH_REPORT)
    with kluis.db.transaction() as session:
        breaches = Breaches(session, kluis, caller.actor)
        return BreachOut.of(breaches, breaches.report(body.incident()))


@router.get("", response_model=list[BreachListed], responses=ERRORS)
def register(kluis: KluisDep, caller: CallerDep) -> list[BreachListed]:
    """Every incident, newest awareness first, notified or not (Art. 33(5))."""
    caller.require_power(BREACH_REPORT)
    with kluis.db.sessions() as session:
        return [BreachListed.of(b) for b in Breaches(session, kluis, caller.actor).register()]


@router.get("/register.csv", response_class=Response, responses={**ERRORS, 200: {"content": {"text/csv": {}}}})
def register_csv(kluis: KluisDep, caller: CallerDep) -> Response:
    """The register as CSV (Art. 33(5)): facts, effects, measures, decisions and filings of every incident."""
    caller.require_power(BREACH_DECIDE)
    with kluis.db.transaction() as session:
        text = form.register_csv(Breaches(session, kluis, caller.actor))
    return Response(text, media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="breach-register.csv"'})


@router.get("/{breach_id}", response_model=BreachOut, responses=ERRORS)
def one(breach_id: UUID, kluis: KluisDep, caller: CallerDep) -> BreachOut:
    caller.require_power(BREACH_REPORT)
    with kluis.db.sessions() as session:
        breaches = Breaches(session, kluis, caller.actor)
        return BreachOut.of(breaches, breaches.get(breach_id))


@router.patch("/{breach_id}", response_model=BreachOut, responses={**ERRORS, 422: {"description": "refused"}})
def amend(breach_id: UUID, body: AmendBody, kluis: KluisDep, caller: CallerDep) -> BreachOut:
    """New facts: replace texts, set when the breach ended. Tell the AP with a follow-up filing."""
    caller.require_power(BREACH_REPORT)
    with kluis.db.transaction() as session:
        breaches = Breaches(session, kluis, caller.actor)
        return BreachOut.of(breaches, breaches.amend(breach_id, body.texts(), body.happened_until))


@router.get("/{breach_id}/affected", response_model=AffectedPage, responses=ERRORS)
def affected(breach_id: UUID, kluis: KluisDep, caller: CallerDep, after: UUID | None = None,
             limit: Annotated[int, Query(ge=1, le=10_000)] = 1000) -> AffectedPage:
    """The people concerned, as ids, a page at a time in id order (keyset: constant cost per page at any size).
    Before the decision the selection is live; after it, the frozen snapshot. Each page read is audited."""
    caller.require_power(BREACH_DECIDE)
    with kluis.db.transaction() as session:
        breaches = Breaches(session, kluis, caller.actor)
        ids = breaches.affected_page(breaches.get(breach_id), after, limit)
    return AffectedPage(person_ids=ids, next_after=ids[-1] if len(ids) == limit else None)


@router.post("/{breach_id}/decision", response_model=BreachOut, responses={**ERRORS, 409: {"description":
                                                                                          "already notifying"}})
def decide(breach_id: UUID, body: DecisionBody, kluis: KluisDep, caller: CallerDep) -> BreachOut:
    """No risk (documented only), risk (notify the AP) or high risk (also the people): with a reason. Freezes the
    affected people."""
    caller.require_power(BREACH_DECIDE)
    with kluis.db.transaction() as session:
        breaches = Breaches(session, kluis, caller.actor)
        return BreachOut.of(breaches, breaches.decide(breach_id, body.risk, body.reason))


@router.get("/{breach_id}/ap-draft", responses={**ERRORS, 200: {"content": {"application/json": {},
                                                                           "application/pdf": {}}}})
def ap_draft(breach_id: UUID, kluis: KluisDep, caller: CallerDep,
             format: Literal["json", "pdf"] = "json") -> Response:
    """The AP's notification form (Meldformulier datalekken), filled from the register, in Dutch."""
    caller.require_power(BREACH_DECIDE)
    with kluis.db.transaction() as session:
        breaches = Breaches(session, kluis, caller.actor)
        breach = breaches.get(breach_id)
        draft = form.draft(breaches, breach, follow_up=breach.ap_filed_at is not None)
        breaches.audit_draft(breach, format)
    name = f"ap-melding-{reference(breach_id)}.{format}"
    headers = {"Content-Disposition": f'attachment; filename="{name}"'}
    if format == "pdf":
        return Response(form.as_pdf(draft), media_type="application/pdf", headers=headers)
    return Response(form.as_json(draft), media_type="application/json", headers=headers)


@router.post("/{breach_id}/filings", status_code=201, response_model=FilingOut,
             responses={**ERRORS, 409: {"description": "not decided as a risk"}, 422: {"description": "refused"}})
def file(breach_id: UUID, body: FilingBody, kluis: KluisDep, caller: CallerDep) -> FilingOut:
    """Record that the AP was notified (or sent a follow-up), when and with its reference. After the deadline the
    first filing needs the reasons for the delay (Art. 33(1)); a follow-up says what changed."""
    caller.require_power(BREACH_DECIDE)
    with kluis.db.transaction() as session:
        breaches = Breaches(session, kluis, caller.actor)
        breach = breaches.get(breach_id)
        draft = form.draft(breaches, breach, follow_up=breach.ap_filed_at is not None, late_reason=body.late_reason)
        return FilingOut.of(breaches.file(breach_id, ap_reference=body.ap_reference, filed_at=body.filed_at,
                                          late_reason=body.late_reason, changes=body.changes, form=draft))


@router.post("/{breach_id}/notification", status_code=202, response_model=BreachOut,
             responses={**ERRORS, 409: {"description": "not high risk, or already started"}})
def notify(breach_id: UUID, kluis: KluisDep, caller: CallerDep) -> BreachOut:
    """Start mailing the people concerned by a high-risk breach (Art. 34); the worker sends them in batches."""
    caller.require_power(BREACH_DECIDE)
    with kluis.db.transaction() as session:
        breaches = Breaches(session, kluis, caller.actor)
        return BreachOut.of(breaches, breaches.start_notifying(breach_id))
