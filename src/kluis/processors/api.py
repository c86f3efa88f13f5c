"""/api/v1/processors: the processors register with each data-processing agreement's state (R-SHR-2), for a DPO's
tools. A key needs the power processors_register. Company data from the policy in force: nothing personal."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field

from kluis.access.service import PROCESSORS_REGISTER
from kluis.policy.agreements import ENDING_WITHIN_DAYS, AgreementState
from kluis.processors.service import agreement_states
from kluis.web.deps import CallerDep, KluisDep

router = APIRouter(prefix="/api/v1/processors", tags=["processors"])
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "no valid key"}, 403: {"description": "the key lacks the power processors_register"}}

Status = Literal["in_force", "ending_soon", "expired", "not_in_force", "refused"]


class SubProcessorOut(BaseModel):
    name: str
    country: str
    transfer: str | None
    scc_version: str | None


class ProcessorOut(BaseModel):
    id: str
    name: str
    country: Annotated[str, Field(description="ISO 3166-1 alpha-2")]
    transfer: Annotated[str | None, Field(description="eea, adequacy or scc (the transfer mechanism)")]
    scc_version: str | None
    agreement_reference: str | None
    agreement_signed_on: date | None
    agreement_ends_on: date | None
    days_left: Annotated[int | None, Field(description="days to the agreement's last day; negative: it ended")]
    status: Annotated[Status, Field(description=f"in_force; ending_soon (within {ENDING_WITHIN_DAYS} days); "
                                                "expired; not_in_force (missing, unsigned or not started); "
                                                "refused (in force, but a transfer lacks its safeguard)")]
    refusal: Annotated[str | None, Field(description="why sharing is refused today (a stable code), if it is")]
    sub_processors: list[SubProcessorOut]


def _status(state: AgreementState) -> Status:
    code = state.refusal.code if state.refusal else None
    if code == "agreement_expired":
        return "expired"
    if code in ("agreement_missing", "agreement_unsigned", "agreement_not_in_force"):
        return "not_in_force"
    if code is not None:
        return "refused"
    return "ending_soon" if state.ending_soon else "in_force"


@router.get("", response_model=list[ProcessorOut], responses=ERRORS)
def list_processors(kluis: KluisDep, caller: CallerDep) -> list[ProcessorOut]:
    """Every processor with its agreement and its state today (Amsterdam), those ending soonest first."""
    caller.require_power(PROCESSORS_REGISTER)
    out = []
    for state in agreement_states(kluis):
        processor, agreement = state.processor, state.processor.agreement
        out.append(ProcessorOut(
            id=processor.id, name=processor.name, country=processor.country,
            transfer=str(processor.transfer) if processor.transfer else None, scc_version=processor.scc_version,
            agreement_reference=agreement.reference if agreement else None,
            agreement_signed_on=agreement.signed if agreement else None,
            agreement_ends_on=agreement.ends if agreement else None, days_left=state.days_left,
            status=_status(state), refusal=state.refusal.code if state.refusal else None,
            sub_processors=[SubProcessorOut(name=s.name, country=s.country,
                                            transfer=str(s.transfer) if s.transfer else None,
                                            scc_version=s.scc_version) for s in processor.sub_processors]))
    return out
