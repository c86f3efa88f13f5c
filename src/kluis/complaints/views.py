"""The privacy centre's complaint pages (R-GOV-2): write a complaint, confirm it with a code, follow it.

The same abuse protections as requests: the intake's rate limits per client network and per address
(``rights.intake``), a token bound to a cookie on every form (CSRF: the complaint form and the code forms),
and pages that never depend on whether an address is in the vault: a known and an unknown address get the
same page and status; only a known one gets mail. The status page answers only to its signed link; any other
gets the same "not found".
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from kluis.complaints.models import Complaint
from kluis.complaints.rules import MAX_TEXT, short_reference
from kluis.complaints.service import Complaints
from kluis.complaints.texts import TERMS
from kluis.kit.errors import DomainError
from kluis.kit.i18n import N_
from kluis.kit.i18n import gettext as _
from kluis.rights import intake
from kluis.rights.views import HEADERS
from kluis.web.csrf import CookieBound
from kluis.web.deps import KluisDep, count_submit, kluis_of
from kluis.web.public import FORM_EXPIRED, Csrf, Lang, PublicRoute, templates
from kluis.wiring import Kluis

router = APIRouter(prefix="/privacy-centre", include_in_schema=False, route_class=PublicRoute)
ACTOR = "person"
# One cookie for the complaint form and the code forms (``/privacy-centre/complaint`` and ``.../complaints/...``).
FORM = CookieBound("complaints/form", "kluis_complaint_form", "/privacy-centre")
WITH_FORMS = {"form", "verify"}
# What a refused form says (translated where shown: the page's language).
ALREADY_VERIFIED = N_("This complaint is already confirmed.")
CODE_LIMIT = N_("You asked for three codes in the last hour. Try again later.")
CODE_REFUSED = N_("This code is wrong, has expired or was tried too often. Ask for a new code if needed.")
CODE_RESENT = N_("If we know this e-mail address, we have sent a new code.")
FORM_ERROR = N_("Check what you entered: the e-mail address or the text is not right (the text cannot be empty).")
TOO_MANY = N_("Too many requests. Try again later.")


def _page(request: Request, lang: str, view: str, *, status: int = 200, **context: object) -> HTMLResponse:
    """A complaint page; one with forms gives them their token, bound to a SameSite=Strict cookie the browser gets
    (or keeps: a page opened in a second tab leaves the first tab's form good), so a page elsewhere cannot post."""
    kluis = kluis_of(request)
    nonce = FORM.kept_nonce(request) if view in WITH_FORMS else ""
    response = templates.TemplateResponse(request, "complaints/page.html", {
        "lang": lang, "terms": TERMS, "view": view, "missing": view == "not_found", "max_text": MAX_TEXT,
        "authority": kluis.policy.supervisory_authority, "csrf": FORM.token(kluis.keys.secret, nonce) if nonce else "",
        **context}, status_code=status)
    response.headers.update(HEADERS | {"X-Robots-Tag": "noindex"})
    if nonce:
        FORM.issue(response, kluis.settings, nonce)
    return response


def _forged(request: Request, kluis: Kluis, given: str) -> bool:
    """R-GOV-2 (as R-DSR-1): whether a post lacks its form's token, or carries one bound to another browser's
    cookie. Checked before anything is read, written or counted."""
    return not FORM.valid(request, kluis.keys.secret, given)


def _too_many(request: Request, response: HTMLResponse, limited: intake.RateLimited) -> HTMLResponse:
    response.headers["Retry-After"] = str(limited.retry_after)
    return response


@router.get("/complaint")
def complaint_form(request: Request, kluis: KluisDep, lang: Lang = "nl") -> HTMLResponse:
    return _page(request, lang, "form")


@router.post("/complaint")
def submit_complaint(request: Request, kluis: KluisDep, email: Annotated[str, Form(max_length=320)],
                     text: Annotated[str, Form(max_length=MAX_TEXT + 1000)],
                     csrf: Csrf = "",
                     lang: Lang = "nl") -> Response:
    """R-GOV-2: the form token must match its cookie; rate-limited per client and per address; over a limit or
    on bad input, nothing is written."""
    if _forged(request, kluis, csrf):
        return _page(request, lang, "form", status=403, error=_(FORM_EXPIRED))
    try:
        with kluis.db.transaction() as session:
            count_submit(session, request, intake.address_key(kluis, email))
            token = Complaints(session, kluis, ACTOR).receive_public(email, text, lang)[1]
    except intake.RateLimited as limited:
        return _too_many(request, _page(request, lang, "form", status=429, error=_(TOO_MANY)), limited)
    except DomainError:
        return _page(request, lang, "form", status=422, error=_(FORM_ERROR))
    return RedirectResponse(f"/privacy-centre/complaints/{token}/verify?lang={lang}", status_code=303)


@router.get("/complaints/{token}/verify")
def verify_form(request: Request, kluis: KluisDep, token: str, lang: Lang = "nl") -> Response:
    with kluis.db.sessions() as session:
        found = Complaints(session, kluis, ACTOR).by_token(token)
    if found is None:
        return _page(request, lang, "not_found", status=404)
    if found.state != "unverified":
        return RedirectResponse(f"/privacy-centre/complaints/{token}?lang={lang}", status_code=303)
    return _page(request, lang, "verify", token=token)


@router.post("/complaints/{token}/code")
def submit_code(request: Request, kluis: KluisDep, token: str, code: Annotated[str, Form(max_length=12)],
                csrf: Csrf = "", lang: Lang = "nl") -> Response:
    if _forged(request, kluis, csrf):  # the same page for every link: it tells nothing about which exist
        return _page(request, lang, "verify", status=403, token=token, error=_(FORM_EXPIRED))
    with kluis.db.transaction() as session:
        complaints = Complaints(session, kluis, ACTOR)
        found = complaints.by_token(token)
        verified = found is not None and complaints.verify_code(found, code)
    if found is None:
        return _page(request, lang, "not_found", status=404)
    if not verified:
        return _page(request, lang, "verify", status=422, token=token, error=_(CODE_REFUSED))
    return RedirectResponse(f"/privacy-centre/complaints/{token}?lang={lang}", status_code=303)


@router.post("/complaints/{token}/new-code")
def new_code(request: Request, kluis: KluisDep, token: str, csrf: Csrf = "", lang: Lang = "nl") -> Response:
    if _forged(request, kluis, csrf):
        return _page(request, lang, "verify", status=403, token=token, error=_(FORM_EXPIRED))
    try:
        with kluis.db.transaction() as session:
            complaints = Complaints(session, kluis, ACTOR)
            found = complaints.by_token(token)
            if found is None:
                return _page(request, lang, "not_found", status=404)
            if found.state == "unverified":  # a new code is a mail too: it counts like a submit
                count_submit(session, request, found.address_key)
            complaints.request_code(found)
    except intake.RateLimited as limited:
        return _too_many(request, _page(request, lang, "verify", status=429, token=token,
                                        error=_(TOO_MANY)), limited)
    except DomainError as exc:
        limit = exc.status == 429
        return _page(request, lang, "verify", status=429 if limit else 409, token=token,
                     error=_(CODE_LIMIT if limit else ALREADY_VERIFIED))
    return _page(request, lang, "verify", token=token, notice=_(CODE_RESENT))


@router.get("/complaints/{token}")
def status_page(request: Request, kluis: KluisDep, token: str, lang: Lang = "nl") -> Response:
    with kluis.db.sessions() as session:
        found: Complaint | None = Complaints(session, kluis, ACTOR).by_token(token)
    if found is None:
        return _page(request, lang, "not_found", status=404)
    if found.state == "unverified":
        return RedirectResponse(f"/privacy-centre/complaints/{token}/verify?lang={lang}", status_code=303)
    return _page(request, lang, "status", item=found, reference=short_reference(found.id))
