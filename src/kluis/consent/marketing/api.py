"""/api/v1 endpoints of marketing: opt-in/out for services, clicks, campaigns and audiences (R-CONS-2,3,5)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter
from fastapi.responses import StreamingResponse
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from kluis.consent.marketing.service import MAX_TOPIC, PROFILING, Marketing
from kluis.kit.errors import NotAllowed, Problem
from kluis.policy.schemas import BasisWrite
from kluis.web import problems
from kluis.web.deps import CallerDep, KluisDep, PurposeDep
from kluis.web.gated import gated

router = APIRouter(prefix="/api/v1", tags=["marketing"])
CONSENT = str(BasisWrite.CONSENT)


class OptIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    notice_text: Annotated[str, Field(min_length=1, max_length=10_000)]
    lang: Literal["nl", "en"] = "nl"


class OptOut(BaseModel):
    model_config = ConfigDict(extra="forbid")

    route: Literal["account", "dpo_email"]
    reference: Annotated[str | None, Field(max_length=80)] = None
    # The language of the page or e-mail the person used; the confirmation goes in it (default: their own).
    lang: Literal["nl", "en"] | None = None
    # dpo_email: when the e-mail reached benVitaal; the withdrawal counts from then.
    received_at: AwareDatetime | None = None


class Click(BaseModel):
    model_config = ConfigDict(extra="forbid")

    topic: Annotated[str, Field(min_length=1, max_length=MAX_TOPIC)]


class CampaignIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Field(min_length=1, max_length=60)]
    title: Annotated[str, Field(min_length=1, max_length=200)]
    text: Annotated[str, Field(min_length=1, max_length=20_000)]


@router.post("/people/{person_id}/marketing/opt-in", status_code=202)
def opt_in(person_id: UUID, body: OptIn, kluis: KluisDep, caller: CallerDep, purpose: PurposeDep) -> dict[str, Any]:
    """Start a double opt-in: a confirmation mail goes out; consent counts only once its link is used. A basis
    write (`consent`), as recording a consent is."""
    name = caller.require(purpose)
    with gated(kluis, caller, "marketing.opt_in", name, [("purpose", person_id, name)], write=CONSENT) as session:
        outbox = Marketing(session, kluis, caller.actor).request_opt_in(person_id, notice_text=body.notice_text,
                                                                        lang=body.lang)
    return {"confirmation_mail": str(outbox)}


@router.post("/people/{person_id}/marketing/opt-out")
def opt_out(person_id: UUID, body: OptOut, kluis: KluisDep, caller: CallerDep, purpose: PurposeDep) -> dict[str, str]:
    """Routes (b) account preferences and (c) an e-mail to the DPO registered by staff (with its reference and
    when it was received). Either way the person gets a confirmation mail."""
    name = caller.require(purpose)
    if body.route == "dpo_email" and not body.reference:
        raise NotAllowed("staff register the DPO e-mail with its reference", code="reference_required",
                         problems=[Problem("reference", "required", "the reference of the e-mail to the DPO")])
    with gated(kluis, caller, "marketing.opt_out", name, [("purpose", person_id, name)], write=CONSENT) as session:
        Marketing(session, kluis, caller.actor).opt_out(person_id, body.route, reference=body.reference,
                                                        lang=body.lang, received_at=body.received_at)
    return {"status": "unsubscribed"}


@router.post("/people/{person_id}/clicks", status_code=202)
def click(person_id: UUID, body: Click, kluis: KluisDep, caller: CallerDep) -> dict[str, bool]:
    """A click for the interest profile; dropped at once when the person objected to profiling."""
    caller.require(PROFILING)
    with kluis.db.transaction() as session:
        return {"counted": Marketing(session, kluis, caller.actor).record_click(person_id, body.topic)}


@router.get("/people/{person_id}/interests")
def interests(person_id: UUID, kluis: KluisDep, caller: CallerDep) -> dict[str, Any]:
    caller.require(PROFILING)
    with kluis.db.sessions() as session:
        decision = kluis.gate(session, caller.actor).decide(person_id, PROFILING)
        if not decision.allowed:
            raise NotAllowed(f"profiling is refused: {decision.reason}", code="processing_refused",
                             problems=[Problem("purpose", decision.reason, "the gate refuses profiling")])
        return {"interests": Marketing(session, kluis, caller.actor).profile(person_id)}


@router.post("/campaigns", status_code=201)
def create_campaign(body: CampaignIn, kluis: KluisDep, caller: CallerDep) -> dict[str, str]:
    caller.require("marketing_email")
    with kluis.db.transaction() as session:
        campaign = Marketing(session, kluis, caller.actor).add_campaign(body.name, body.title, body.text)
    return {"name": campaign.id, "list": campaign.list_id}


@router.get("/campaigns/{name}/audience", response_class=StreamingResponse,
            responses=problems.body_of("application/x-ndjson", "One JSON object per line, one line per person"))
def audience(name: str, kluis: KluisDep, caller: CallerDep) -> StreamingResponse:
    """Exactly the people who may receive this campaign, as newline-delimited JSON, streamed."""
    caller.require("marketing_email")
    with kluis.db.sessions() as session:  # a 404 before streaming starts, not a broken stream
        Marketing(session, kluis, caller.actor).campaign(name)

    def lines() -> Iterator[bytes]:
        with kluis.db.sessions() as stream:
            for person_id in Marketing(stream, kluis, caller.actor).audience(name):
                yield (json.dumps({"person_id": str(person_id)}) + "\n").encode()

    return StreamingResponse(lines(), media_type="application/x-ndjson")


@router.post("/campaigns/{name}/send", status_code=202)
def send(name: str, kluis: KluisDep, caller: CallerDep) -> dict[str, int]:
    caller.require("marketing_email")
    with kluis.db.transaction() as session:
        return {"queued": Marketing(session, kluis, caller.actor).send_campaign(name)}
