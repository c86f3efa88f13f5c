"""The receipts API the banner script calls (R-CONS-4).

Browsers may call it only from the origins declared for the site (CORS, and a refusal of any other
``Origin``); Kluis's own pages (the demo) are always allowed. Bad input is a 422 problem and stores nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Mapping
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import unquote
from uuid import UUID

from fastapi import APIRouter, Depends, Header, Request
from fastapi.responses import Response
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError
from sqlalchemy.orm import Session

from kluis.consent.cookies.models import CookieReceipt
from kluis.consent.cookies.rules import (
    COOKIE_NAME,
    MAX_BODY_BYTES,
    MAX_PATH,
    REVISION_PATTERN,
    VISITOR_PATTERN,
    Action,
    Scope,
    Site,
    canonical_origin,
    is_visitor_id,
    origin_allowed,
)
from kluis.consent.cookies.service import Choice, CookieConsent, configured_sites, find_site
from kluis.kit.errors import DomainError, Invalid, NotAllowed, Problem
from kluis.policy.schemas import Lang
from kluis.web.deps import KluisDep, kluis_of
from kluis.web.problems import problem

VISITOR_HEADER = "Kluis-Visitor"
ALLOWED_HEADERS = f"Content-Type, {VISITOR_HEADER}"


class ReceiptIn(BaseModel):
    """A choice made in the banner. Missing optional categories count as refused."""

    model_config = ConfigDict(extra="forbid", strict=True)

    visitor: Annotated[str, StringConstraints(pattern=VISITOR_PATTERN)]
    path: Annotated[str, StringConstraints(min_length=1, max_length=MAX_PATH)]
    scope: Scope = Scope.PAGE
    action: Action
    categories: Annotated[dict[Annotated[str, StringConstraints(max_length=64)], bool],
                          Field(max_length=32)] = {}
    revision: Annotated[str, StringConstraints(pattern=REVISION_PATTERN)]
    language: Lang = "nl"
    gpc: bool = Field(False, description="navigator.globalPrivacyControl as the banner script read it")


class ReceiptOut(BaseModel):
    id: UUID
    site: str
    path: str
    scope: Scope
    action: Action
    granted: list[str]
    refused: list[str]
    reason: str
    gpc_sources: list[str]
    objects_to_profiling: bool
    revision: str
    language: str
    policy_version: int | None
    given_at: datetime


class ReceiptList(BaseModel):
    site: str
    receipts: list[ReceiptOut]


class RevisionOut(BaseModel):
    revision: str
    current: bool
    first_recorded_at: datetime | None
    content: dict[str, Any]


def sites_of(request: Request) -> Mapping[str, Site]:
    """The declared sites, read from configuration once per application (tests may set their own)."""
    sites: Mapping[str, Site] | None = getattr(request.app.state, "cookie_sites", None)
    if sites is None:
        sites = request.app.state.cookie_sites = configured_sites()
    return sites


def _own_origins(request: Request) -> set[str]:
    found = {canonical_origin(str(request.base_url)), canonical_origin(kluis_of(request).settings.base_url)}
    return {o for o in found if o}


def _cors_origin(request: Request) -> str | None:
    """The request's Origin when the site allows it (the value to echo in Access-Control-Allow-Origin)."""
    origin = request.headers.get("origin")
    site = sites_of(request).get(request.path_params.get("site", ""))
    if origin is None or site is None or not origin_allowed(site, origin, _own_origins(request)):
        return None
    return origin


class CorsRoute(APIRoute):
    """Errors become problems here, so that an allowed origin can read them too; CORS headers on every answer."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                response = await handler(request)
            except DomainError as exc:
                response = problem(exc.status, exc.code, exc.message, exc.problems)
            allowed = _cors_origin(request)
            if allowed:
                response.headers["Access-Control-Allow-Origin"] = allowed
            response.headers["Vary"] = "Origin"
            response.headers["Cache-Control"] = "no-store"
            return response

        return route


router = APIRouter(prefix="/cookies/api", tags=["cookies"], route_class=CorsRoute)


async def _json_body(request: Request) -> bytes:
    """The raw JSON body, refused when it is not JSON or larger than a choice can be."""
    if request.headers.get("content-type", "").split(";")[0].strip().lower() != "application/json":
        raise Invalid("send the choice as application/json", code="request_invalid",
                      problems=[Problem("body", "json_required", "Content-Type must be application/json")])
    too_large = Invalid(f"the choice is larger than {MAX_BODY_BYTES} bytes", code="request_too_large",
                        problems=[Problem("body", "too_large", f"at most {MAX_BODY_BYTES} bytes")])
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise too_large
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            raise too_large
    return bytes(body)


def _parse(raw: bytes) -> ReceiptIn:
    try:
        return ReceiptIn.model_validate_json(raw)
    except ValidationError as exc:
        problems = [Problem(_loc(e["loc"]), e["type"], e["msg"]) for e in exc.errors()]
        raise Invalid(f"the choice was not accepted: {len(problems)} problem(s)", code="request_invalid",
                      problems=problems) from None


def _loc(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "body"


def _consent(request: Request, session: Session) -> CookieConsent:
    kluis = kluis_of(request)
    return CookieConsent(session=session, clock=kluis.clock, keys=kluis.keys, policy=kluis.policy,
                         sites=sites_of(request), policy_version=kluis.policy_version)


def _require_origin(request: Request, site: Site) -> None:
    if not origin_allowed(site, request.headers.get("origin"), _own_origins(request)):
        raise NotAllowed(f"pages of this origin may not record cookie choices for '{site.id}'",
                         code="origin_not_allowed")


def _out(receipt: CookieReceipt) -> ReceiptOut:
    return ReceiptOut(id=receipt.id, site=receipt.site, path=receipt.path, scope=Scope(receipt.scope),
                      action=Action(receipt.action), granted=receipt.granted, refused=receipt.refused,
                      reason=receipt.reason, gpc_sources=receipt.gpc_sources,
                      objects_to_profiling=receipt.objects_to_profiling, revision=receipt.revision,
                      language=receipt.language, policy_version=receipt.policy_version, given_at=receipt.given_at)


def _visitor_from_cookie(value: str | None) -> str | None:
    """The visitor id in a consent cookie (``1|<visitor>|...``), when Kluis's own page sends it."""
    parts = unquote(value or "").split("|")
    return parts[1] if len(parts) >= 2 and parts[0] == "1" and is_visitor_id(parts[1]) else None


@router.options("/sites/{site}/receipts", include_in_schema=False)
def receipts_preflight(site: str, request: Request) -> Response:
    """CORS preflight: only the site's declared origins may send choices and read receipts."""
    declared = find_site(sites_of(request), site)
    if request.headers.get("origin") is None:
        raise Invalid("a preflight request names its Origin", code="origin_missing")
    _require_origin(request, declared)
    return Response(status_code=204, headers={"Access-Control-Allow-Methods": "GET, POST",
                                              "Access-Control-Allow-Headers": ALLOWED_HEADERS,
                                              "Access-Control-Max-Age": "600"})


@router.post("/sites/{site}/receipts", status_code=201, response_model=ReceiptOut,
             summary="Record a cookie choice (R-CONS-4)")
def record_receipt(site: str, request: Request, kluis: KluisDep, raw: Annotated[bytes, Depends(_json_body)],
                   sec_gpc: Annotated[str | None, Header(alias="Sec-GPC")] = None) -> ReceiptOut:
    """Keep the visitor's choice for this page (or the whole site) as a receipt; GPC refuses marketing."""
    _require_origin(request, find_site(sites_of(request), site))
    body = _parse(raw)
    choice = Choice(site=site, visitor=body.visitor, path=body.path, scope=body.scope, action=body.action,
                    categories=body.categories, revision=body.revision, language=body.language,
                    gpc_script=body.gpc)
    with kluis.db.transaction() as session:
        return _out(_consent(request, session).record(choice, gpc_header=(sec_gpc or "").strip() == "1"))


@router.get("/sites/{site}/receipts", response_model=ReceiptList, summary="A visitor's cookie receipts")
def read_receipts(site: str, request: Request, kluis: KluisDep,
                  visitor: Annotated[str | None, Header(alias=VISITOR_HEADER)] = None) -> ReceiptList:
    """Proof of a visitor's choices: by the id in the ``Kluis-Visitor`` header, or in the consent cookie."""
    _require_origin(request, find_site(sites_of(request), site))
    visitor = visitor or _visitor_from_cookie(request.cookies.get(COOKIE_NAME))
    if not visitor:
        raise Invalid("name the visitor in the Kluis-Visitor header (the id in the consent cookie)",
                      code="visitor_missing")
    with kluis.db.sessions() as session:
        return ReceiptList(site=site, receipts=[_out(r) for r in _consent(request, session).receipts(site, visitor)])


@router.get("/revisions/{revision}", response_model=RevisionOut, summary="What a banner revision showed")
def banner_revision(revision: str, request: Request, kluis: KluisDep) -> RevisionOut:
    with kluis.db.sessions() as session:
        consent = _consent(request, session)
        content, kept = consent.revision(revision)
        return RevisionOut(revision=revision, current=revision == consent.banner.revision,
                           first_recorded_at=kept.first_recorded_at if kept else None, content=content)
