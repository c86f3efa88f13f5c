"""The privacy centre's request pages (R-DSR-1, R-DSR-2): ask, confirm with a code, follow the status.

Every form carries a token bound to a SameSite=Strict cookie (CSRF): a page elsewhere can neither read the token
nor send the cookie, so a cross-site post is refused before it writes or counts anything.
What these pages show never depends on whether an address is in the vault: a known and an unknown
address get the same page, the same status code and the same code form; only a known one gets mail.
The status page answers only to its signed link; any other link gets the same "not found" page.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from kluis.erasure import service as erasure
from kluis.kit.errors import DomainError
from kluis.kit.i18n import N_
from kluis.kit.i18n import gettext as _
from kluis.processors import service as processors
from kluis.rights import intake
from kluis.rights.models import DataSubjectRequest
from kluis.rights.packages.service import Packages
from kluis.rights.rules import OBJECTION_SCOPES, RequestType, short_reference
from kluis.rights.service import Rights
from kluis.rights.texts import TERMS
from kluis.web import public
from kluis.web.csrf import CookieBound
from kluis.web.deps import KluisDep, count_submit, kluis_of
from kluis.web.public import FORM_EXPIRED, Csrf, Lang, PublicRoute, templates
from kluis.wiring import Kluis

router = APIRouter(prefix="/privacy-centre", include_in_schema=False, route_class=PublicRoute)
HEADERS = public.HEADERS
ACTOR = "person"
# What a refused form says (translated where shown: the page's language).
ALREADY_VERIFIED = N_("This request is already confirmed.")
CODE_LIMIT = N_("You asked for three codes in the last hour already. Please try again later.")
CODE_REFUSED = N_("This code is not right, has expired or was tried too often. Ask for a new code if needed.")
CODE_RESENT = N_("If we know this e-mail address, we have sent a new code.")
FORM_ERROR = N_("Please check what you entered: the address or the choice is not right.")
REQUEST_EXPIRED = N_("This request has lapsed: it was not confirmed in time. Please make a new request if needed.")
TOO_MANY = N_("Too many requests. Please try again later.")
FORMS = CookieBound("rights/forms", "kluis_rights_form", "/privacy-centre")
WITH_FORMS = {"form", "verify", "package"}
# Not a request about the person's data (no deadline, no code): the register's list, mailed to the address given.
SUB_PROCESSORS = "sub_processors"


def page(request: Request, lang: str, view: str, *, status: int = 200, **context: object) -> HTMLResponse:
    """A page of the privacy centre; one with forms gives them their token and the browser its cookie."""
    kluis = kluis_of(request)
    nonce = FORMS.kept_nonce(request) if view in WITH_FORMS else ""
    csrf = FORMS.token(kluis.keys.secret, nonce) if nonce else ""
    response = templates.TemplateResponse(request, "rights/page.html", {
        "lang": lang, "terms": TERMS, "view": view, "missing": view == "not_found",
        "types": [*RequestType, SUB_PROCESSORS],
        "scopes": OBJECTION_SCOPES, "services": _services(kluis, lang), "csrf": csrf, **context}, status_code=status)
    response.headers.update(HEADERS)
    if nonce:
        FORMS.issue(response, kluis.settings, nonce)
    return response


def _services(kluis: Kluis, lang: str) -> list[tuple[str, str]]:
    """The services whose sub-processors may be asked for: each processor's service (never a company's name)."""
    named = {p.id: p.service.get("en" if lang == "en" else "nl") for p in kluis.policy.processors}
    return [(s, named.get(s, _("Every service"))) for s in processors.services(kluis)]


def forged(request: Request, kluis: Kluis, given: str) -> bool:
    """R-DSR-1: whether a post lacks its form's token, or carries one bound to another browser's cookie."""
    return not FORMS.valid(request, kluis.keys.secret, given)


def not_found(request: Request, lang: str) -> HTMLResponse:
    return page(request, lang, "not_found", status=404)


@router.get("/request")
def request_form(request: Request, lang: Lang = "nl") -> HTMLResponse:
    return page(request, lang, "form")



def _too_many(request: Request, lang: str, view: str, limited: intake.RateLimited, **context: object
              ) -> HTMLResponse:
    """The same page for every address: the limit per address holds for known and unknown ones alike."""
    response = page(request, lang, view, status=429, error=_(TOO_MANY), **context)
    response.headers["Retry-After"] = str(limited.retry_after)
    return response


@router.post("/request")
def submit_request(request: Request, kluis: KluisDep, kind: Annotated[str, Form(alias="type", max_length=16)],
                   email: Annotated[str, Form(max_length=320)], scope: Annotated[str, Form(max_length=24)] = "",
                   service: Annotated[str, Form(max_length=64)] = "", csrf: Csrf = "",
                   lang: Lang = "nl") -> Response:
    """R-DSR-1: the form token must match its cookie; rate-limited per client network and per target address;
    refused or over a limit, nothing is written. R-SHR-2: the sub-processors of a service are mailed to the address
    given, with no code to confirm (the list goes to that address only), and the same page for every address."""
    chosen = {"chosen": kind, "chosen_scope": scope, "chosen_service": service}
    if forged(request, kluis, csrf):
        return page(request, lang, "form", status=403, error=_(FORM_EXPIRED), **chosen)
    try:
        with kluis.db.transaction() as session:
            count_submit(session, request, intake.address_key(kluis, email))
            if kind == SUB_PROCESSORS:
                processors.request_list(session, kluis, ACTOR, email=email, service=service or processors.ALL_SERVICES,
                                        lang=lang)
            else:
                received = Rights(session, kluis, ACTOR).accept_public(kind, email, lang, scope or None)
    except intake.RateLimited as limited:
        return _too_many(request, lang, "form", limited, **chosen)
    except DomainError:
        return page(request, lang, "form", status=422,                     error=_(FORM_ERROR), **chosen)
    if kind == SUB_PROCESSORS:
        return page(request, lang, "sub_processors")
    # R-DSR-1: whether the address is known (and so whether the code goes out) is decided after the answer.
    return RedirectResponse(f"/privacy-centre/requests/{received.token}/verify?lang={lang}", status_code=303,
                            background=public.after_answer(kluis, received.code_mail))


@router.get("/requests/{token}/verify")
def verify_form(request: Request, kluis: KluisDep, token: str, lang: Lang = "nl") -> Response:
    with kluis.db.sessions() as session:
        found = Rights(session, kluis, ACTOR).by_token(token)
    if found is None:
        return not_found(request, lang)
    if found.state != "received":
        return RedirectResponse(f"/privacy-centre/requests/{token}?lang={lang}", status_code=303)
    return page(request, lang, "verify", token=token)


@router.post("/requests/{token}/code")
def submit_code(request: Request, kluis: KluisDep, token: str, code: Annotated[str, Form(max_length=12)],
                csrf: Csrf = "", lang: Lang = "nl") -> Response:
    if forged(request, kluis, csrf):  # the same page for every link: it tells nothing about which exist
        return page(request, lang, "verify", status=403, token=token, error=_(FORM_EXPIRED))
    with kluis.db.transaction() as session:
        rights = Rights(session, kluis, ACTOR)
        found = rights.by_token(token)
        verified = found is not None and rights.verify_code(found.id, code)
    if found is None:
        return not_found(request, lang)
    if not verified:
        return page(request, lang, "verify", status=422, token=token, error=_(CODE_REFUSED))
    return RedirectResponse(f"/privacy-centre/requests/{token}?lang={lang}", status_code=303)


@router.post("/requests/{token}/new-code")
def new_code(request: Request, kluis: KluisDep, token: str, csrf: Csrf = "", lang: Lang = "nl") -> Response:
    if forged(request, kluis, csrf):
        return page(request, lang, "verify", status=403, token=token, error=_(FORM_EXPIRED))
    try:
        with kluis.db.transaction() as session:
            rights = Rights(session, kluis, ACTOR)
            found = rights.by_token(token)
            if found is None:
                return not_found(request, lang)
            if found.state == "received":  # a new code is a mail too: it counts like a submit
                count_submit(session, request, found.address_key)
            code_mail = rights.new_code(found.id)
    except intake.RateLimited as limited:
        return _too_many(request, lang, "verify", limited, token=token)
    except DomainError as exc:
        reason = (_(CODE_LIMIT)
                  if exc.status == 429 else
                  _(REQUEST_EXPIRED)
                  if exc.code == "request_expired" else _(ALREADY_VERIFIED))
        return page(request, lang, "verify", status=429 if exc.status == 429 else 409, token=token, error=reason)
    response = page(request, lang, "verify", token=token, notice=_(CODE_RESENT))
    response.background = public.after_answer(kluis, code_mail)
    return response


@router.get("/requests/{token}")
def status_page(request: Request, kluis: KluisDep, token: str, lang: Lang = "nl") -> HTMLResponse:
    with kluis.db.sessions() as session:
        found: DataSubjectRequest | None = Rights(session, kluis, ACTOR).by_token(token)
        packages = Packages(session, kluis, ACTOR).for_request(found.id) if found else []
        # R-DSR-6 / R-RET-3: what an erasure keeps (by law or a legal hold), why, until when, and for what only.
        kept = (erasure.held_back(session, kluis, found.id, lang)
                if found is not None and found.type == RequestType.ERASURE else [])
    if found is None:
        return not_found(request, lang)
    return page(request, lang, "status", token=token, item=found, reference=short_reference(found.id),
                package=packages[-1] if packages else None, kept=kept)
