"""Mijn privacy's pages (R-DSR-1..8, R-CONS-2, R-CONS-3, R-GOV-2): sign in with a code mailed to a known address,
see one's own data, correct it, manage preferences, ask and follow requests and complaints, sign out.

Before signing in, each form carries a token bound to a SameSite=Strict cookie (as the request form); after, a
token bound to the session. A post without its token is refused before it writes or counts anything. The
sign-in form answers the same, in the same time, for every address: the lookup that decides whether the code's mail
goes runs after the answer (``kluis.web.public.after_answer``). Every page and action is the signed-in person's own:
ids in a form or a path are looked up within that person's data only, so another person's record, request or
package is simply not found.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session

from kluis.complaints.rules import MAX_TEXT
from kluis.complaints.service import Complaints
from kluis.consent.cookies.api import sites_of
from kluis.consent.cookies.rules import CHOICE_MAX_AGE_SECONDS, COOKIE_NAME, banner_for
from kluis.consent.marketing.service import Marketing
from kluis.kit import i18n
from kluis.kit.errors import DomainError, NotFound
from kluis.kit.i18n import N_
from kluis.kit.i18n import gettext as _
from kluis.mijn import cookie_choices, rules
from kluis.mijn.models import PersonSession
from kluis.mijn.overview import Reader
from kluis.mijn.signin import SignIns
from kluis.rights import intake
from kluis.rights.mail import type_name
from kluis.rights.models import AccessPackage
from kluis.rights.packages.service import PackageExpired, Packages, stream_package
from kluis.rights.rectification import Rectifications
from kluis.rights.rules import OBJECTION_SCOPES, download_grant, short_reference
from kluis.rights.service import Rights
from kluis.web.cookies import delete_strict_cookie, set_strict_cookie
from kluis.web.csrf import CookieBound, form_token, token_valid
from kluis.web.deps import KluisDep, count_submit, kluis_of
from kluis.web.public import Csrf, after_answer
from kluis.wiring import Kluis

PREFIX = "/mijn-privacy"
router = APIRouter(prefix=PREFIX, include_in_schema=False)
templates = Jinja2Templates(directory=Path(__file__).resolve().parents[1] / "templates")
i18n.install(templates.env)
templates.env.filters["when"] = i18n.when
templates.env.filters["day"] = i18n.day
templates.env.filters["tr"] = i18n.translate
HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer", "X-Robots-Tag": "noindex",
           "X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff"}
ACTOR = "person"
SESSION_COOKIE = "kluis_mijn_session"
CODE_COOKIE = "kluis_mijn_code"  # the browser's token of its newest sign-in: the code works only here
FORM = CookieBound("mijn/sign-in", "kluis_mijn_form", PREFIX)
SESSION_FORMS = "mijn/session"
PROFILING = "profiling"
Lang = Annotated[str, Query(pattern="^(nl|en)$")]

# What the person reads for a stored value (the console shows the stored value itself).
REQUEST_TYPES = {"access": N_("Access to my data"), "portability": N_("My data to take elsewhere"),
                 "rectification": N_("Correction of my data"), "erasure": N_("Erasure of my data"),
                 "restriction": N_("Restriction of processing"), "objection": N_("Objection to processing")}
STATES = {"received": N_("Received"), "verified": N_("Confirmed"), "in_progress": N_("In progress"),
          "waiting_on_person": N_("Waiting for you"), "done": N_("Done"), "refused": N_("Refused"),
          "expired": N_("Lapsed"), "open": N_("Open"), "answered": N_("Answered"), "lapsed": N_("Lapsed"),
          "unverified": N_("Not yet confirmed")}
SCOPES = {"marketing": N_("Direct marketing"), "profiling": N_("Profiling"),
          "legitimate_interest": N_("Everything based on legitimate interest")}
NOTICES = {"corrected": N_("Your correction is saved. Those who received this data are told."),
           "subscribe": N_("We sent you an e-mail. Confirm your subscription there."),
           "unsubscribe": N_("You are unsubscribed from marketing e-mail."),
           "objected": N_("Your objection to profiling is recorded: we stopped it."),
           "withdrawn": N_("Your objection to profiling is withdrawn."),
           "request": N_("Your request is received and confirmed. We will keep you informed by e-mail."),
           "complaint": N_("Your complaint is received. We answer it within the time shown."),
           "cookies": N_("Your cookie choice is saved."),
           "signed_out": N_("You are signed out.")}
ERRORS = {"field_not_self_editable": N_("This field cannot be changed here: ask for a correction instead."),
          "rectification_invalid": N_("This value was not accepted. Check it and try again."),
          "objection_scope_required": N_("Choose what you object to."),
          "text_required": N_("Write your complaint: it cannot be empty."),
          "text_too_long": N_("Your complaint is too long."),
          "lang_unknown": N_("This language is not offered.")}
OPT_IN_NOTICE = N_("Yes, I want to receive marketing e-mail from benVitaal. I can unsubscribe at any time.")


def _render(request: Request, lang: str, name: str, *, status: int = 200, **context: Any) -> HTMLResponse:
    with i18n.speaking(lang):
        response = templates.TemplateResponse(request, name, {
            "lang": lang, "prefix": PREFIX, "request_types": REQUEST_TYPES, "states": STATES, "scopes": SCOPES,
            **context}, status_code=status)
    response.headers.update(HEADERS)
    return response


def _public(request: Request, lang: str, view: str, *, status: int = 200, **context: Any) -> HTMLResponse:
    """A page before signing in: its forms get their token, the browser the cookie it is bound to."""
    kluis = kluis_of(request)
    nonce = FORM.kept_nonce(request)
    response = _render(request, lang, "mijn/sign_in.html", status=status, view=view,
                       csrf=FORM.token(kluis.keys.secret, nonce),
                       minutes=int(rules.CODE_LIFETIME.total_seconds() // 60), **context)
    FORM.issue(response, kluis.settings, nonce)
    return response


def _session_token(kluis: Kluis, signed: PersonSession) -> str:
    return form_token(kluis.keys.secret, SESSION_FORMS, str(signed.id))


def _back(lang: str, done: str | None = None, anchor: str = "") -> RedirectResponse:
    query = f"?lang={lang}" + (f"&done={done}" if done else "")
    return RedirectResponse(f"{PREFIX}{query}{anchor}", status_code=303)


# --- signing in -----------------------------------------------------------------------------------


@router.get("")
def home(request: Request, kluis: KluisDep, lang: Lang = "nl", done: Annotated[str, Query(max_length=20)] = ""
         ) -> Response:
    with kluis.db.transaction() as session:
        signed = SignIns(session, kluis, ACTOR).current(request.cookies.get(SESSION_COOKIE))
        if signed is None:
            notice = NOTICES.get(done) if done == "signed_out" else None
            return _public(request, lang, "email", notice=notice)
        overview = Reader(session, kluis, ACTOR, signed.person_id, lang).overview()
        preferences = _preferences(session, kluis, signed.person_id)
        csrf = _session_token(kluis, signed)
    consent_cookie = request.cookies.get(COOKIE_NAME)
    return _render(request, lang, "mijn/home.html", overview=overview, csrf=csrf, notice=NOTICES.get(done),
                   max_text=MAX_TEXT, objection_scopes=OBJECTION_SCOPES, opt_in_notice=OPT_IN_NOTICE,
                   cookie_sites=cookie_choices.sites(consent_cookie, sites_of(request)),
                   cookie_visitor=cookie_choices.parse(consent_cookie) is not None,
                   cookie_categories=banner_for(kluis.policy).content["categories"], **preferences)


def _preferences(session: Session, kluis: Kluis, person_id: uuid.UUID) -> dict[str, Any]:
    marketing = Marketing(session, kluis, ACTOR)
    profiling = next((o for o in kluis.gate(session, ACTOR).objections_of(person_id)
                      if o.scope == PROFILING and o.lifted_at is None), None)
    return {"subscribed": marketing.subscribed(person_id), "profiling_objection": profiling}


@router.post("/sign-in")
def sign_in(request: Request, kluis: KluisDep, email: Annotated[str, Form(max_length=320)], csrf: Csrf = "",
            lang: Lang = "nl") -> Response:
    """R-DSR-1: the form's token must match its cookie; limited per client network and per address; the answer
    is the same for a known and an unknown address, and what differs (lookup, mail) runs after it."""
    if not FORM.valid(request, kluis.keys.secret, csrf):
        return _public(request, lang, "email", status=403, error=N_("This form has expired. Please try again."))
    try:
        with kluis.db.transaction() as session:
            count_submit(session, request, intake.address_key(kluis, email))
            started = SignIns(session, kluis, ACTOR).start(email, lang)
    except intake.RateLimited as limited:
        refused = _public(request, lang, "email", status=429,
                           error=N_("Too many attempts from here or for this address. Please try again later."))
        refused.headers["Retry-After"] = str(limited.retry_after)
        return refused
    except DomainError:
        return _public(request, lang, "email", status=422, error=N_("Enter a valid e-mail address."))
    response = RedirectResponse(f"{PREFIX}/code?lang={lang}", status_code=303,
                                background=after_answer(kluis, started.code_mail))
    set_strict_cookie(response, kluis.settings, CODE_COOKIE, started.browser_token,
                      max_age=int(rules.CODE_LIFETIME.total_seconds()), path=PREFIX)
    return response


@router.get("/code")
def code_form(request: Request, lang: Lang = "nl") -> Response:
    return _public(request, lang, "code")


@router.post("/code")
def submit_code(request: Request, kluis: KluisDep, code: Annotated[str, Form(max_length=12)], csrf: Csrf = "",
                lang: Lang = "nl") -> Response:
    if not FORM.valid(request, kluis.keys.secret, csrf):
        return _public(request, lang, "code", status=403, error=N_("This form has expired. Please try again."))
    with kluis.db.transaction() as session:
        signed = SignIns(session, kluis, ACTOR).verify(request.cookies.get(CODE_COOKIE), code)
    if signed is None:
        return _public(request, lang, "code", status=422,
                       error=N_("This code is not right, or no longer valid. Check it, or ask for a new one."))
    response = _back(lang)
    set_strict_cookie(response, kluis.settings, SESSION_COOKIE, signed.token,
                      max_age=int(rules.SESSION_ABSOLUTE.total_seconds()), path=PREFIX)
    delete_strict_cookie(response, kluis.settings, CODE_COOKIE, PREFIX)
    return response


# --- signed in ----------------------------------------------------------------------------------


class _Gone(Exception):
    """No live session, or the form's token is not this session's: the post writes nothing."""


def _signed(request: Request, session: Session, kluis: Kluis, csrf: str) -> PersonSession:
    signed = SignIns(session, kluis, ACTOR).current(request.cookies.get(SESSION_COOKIE))
    if signed is None or not token_valid(kluis.keys.secret, SESSION_FORMS, str(signed.id), csrf):
        raise _Gone()
    return signed


def _act(request: Request, kluis: Kluis, csrf: str, lang: str, act: Callable[[Session, PersonSession], str],
         anchor: str = "") -> Response:
    """Run ``act`` for the signed-in person in one transaction. Without a session or the session's form token it
    is refused before anything is read or written; bad input gets the page's error and writes nothing."""
    try:
        with kluis.db.transaction() as session:
            done = act(session, _signed(request, session, kluis, csrf))
    except _Gone:
        return _public(request, lang, "email", status=403,
                       error=N_("You are not signed in (any more). Sign in to continue."))
    except NotFound:
        return _render(request, lang, "mijn/problem.html", status=404, error=N_("This is not part of your data."))
    except DomainError as exc:
        return _render(request, lang, "mijn/problem.html", status=exc.status if exc.status < 500 else 422,
                       error=ERRORS.get(exc.code, N_("This could not be done. Check what you entered and try again.")))
    return _back(lang, done, anchor)


@router.post("/sign-out")
def sign_out(request: Request, kluis: KluisDep, csrf: Csrf = "", lang: Lang = "nl") -> Response:
    """The session ends on the server, not only in the browser: its cookie is useless afterwards."""
    def act(session: Session, signed: PersonSession) -> str:
        SignIns(session, kluis, ACTOR).end(request.cookies.get(SESSION_COOKIE))
        return "signed_out"

    response = _act(request, kluis, csrf, lang, act)
    if response.status_code == 303:  # a refused sign-out (forged, say) leaves the session and its cookie alone
        delete_strict_cookie(response, kluis.settings, SESSION_COOKIE, PREFIX)
    return response


@router.post("/records/{record_id}")
async def correct(request: Request, kluis: KluisDep, record_id: uuid.UUID, lang: Lang = "nl") -> Response:
    """R-DSR-5: the fields the policy marks self-editable, changed at once; those who received the category are
    told (Art. 19) and the person gets a mail naming them. An emptied field is removed."""
    form = await request.form()
    csrf = str(form.get("csrf", ""))[:128]
    typed = {key.removeprefix("field."): str(value)[:10_000] for key, value in form.items()
             if key.startswith("field.") and isinstance(value, str)}

    def act(session: Session, signed: PersonSession) -> str:
        item = Reader(session, kluis, ACTOR, signed.person_id, lang).record(record_id)
        if item is None:  # the gate refuses the read (restricted, objected): the page shows no data either
            return ""
        shown = {field_id: value for field_id, _name, value, _editable in item.values}
        changes = {name: (value.strip() or None) for name, value in typed.items()
                   if value.strip() != shown.get(name, "")}
        if changes:
            Rectifications(session, kluis, ACTOR).self_edit(signed.person_id, record_id, changes, lang)
        return "corrected"

    return _act(request, kluis, csrf, lang, act, "#data")


@router.post("/marketing")
def marketing(request: Request, kluis: KluisDep, choice: Annotated[str, Form(pattern="^(subscribe|unsubscribe)$")],
              csrf: Csrf = "", lang: Lang = "nl") -> Response:
    """R-CONS-2, R-CONS-3: subscribing asks a confirmation by mail (double opt-in, with the text shown here as
    its proof); unsubscribing is the statement's route (b), "account", and confirmed by mail."""
    def act(session: Session, signed: PersonSession) -> str:
        service = Marketing(session, kluis, ACTOR)
        if choice == "subscribe":
            with i18n.speaking(lang):
                shown = _(OPT_IN_NOTICE)
            service.request_opt_in(signed.person_id, notice_text=shown, lang=lang)
        else:
            service.opt_out(signed.person_id, "account", lang=lang)
        return choice

    return _act(request, kluis, csrf, lang, act, "#preferences")


@router.post("/profiling")
def profiling(request: Request, kluis: KluisDep, choice: Annotated[str, Form(pattern="^(object|withdraw)$")],
              csrf: Csrf = "", lang: Lang = "nl") -> Response:
    """R-DSR-7: an objection to profiling (absolute, Art. 21(2)-(3)) stops it at once; the person may withdraw
    their own objection again."""
    def act(session: Session, signed: PersonSession) -> str:
        gate = kluis.gate(session, ACTOR)
        if choice == "object":
            gate.object(signed.person_id, PROFILING, "person")
            return "objected"
        for found in gate.objections_of(signed.person_id):
            if found.scope == PROFILING and found.lifted_at is None:
                gate.withdraw_objection(signed.person_id, found.id, "person")
        return "withdrawn"

    return _act(request, kluis, csrf, lang, act, "#preferences")


@router.post("/cookies")
async def cookies(request: Request, kluis: KluisDep, lang: Lang = "nl") -> Response:
    """R-CONS-4: a new site-wide choice for the site Kluis serves, recorded as the banner records one (GPC from the
    browser's header), and the consent cookie the banner reads rewritten to match. Unticked is refused."""
    form = await request.form()
    csrf = str(form.get("csrf", ""))[:128]
    wanted = {str(key).removeprefix("cookie."): True for key in form if str(key).startswith("cookie.")}
    written: list[str] = []

    def act(session: Session, signed: PersonSession) -> str:
        value = cookie_choices.change(session, kluis, sites_of(request), request.cookies.get(COOKIE_NAME), wanted,
                                      lang, gpc=request.headers.get("sec-gpc", "").strip() == "1")
        if value is None:
            raise NotFound("this browser has no cookie choice here", code="no_cookie_choice")
        written.append(value)
        return "cookies"

    response = _act(request, kluis, csrf, lang, act, "#cookies")
    if written:  # read by the banner's script on the site's pages, so not HttpOnly (it grants nothing)
        response.set_cookie(COOKIE_NAME, written[0], max_age=CHOICE_MAX_AGE_SECONDS, path="/", samesite="lax",
                            secure=kluis.settings.cookie_secure)
    return response


@router.post("/requests")
def start_request(request: Request, kluis: KluisDep, kind: Annotated[str, Form(alias="type", max_length=16)],
                  scope: Annotated[str, Form(max_length=24)] = "", csrf: Csrf = "", lang: Lang = "nl") -> Response:
    """R-DSR-1: signed in is verified: the request is the person's at once, with its deadline from now."""
    def act(session: Session, signed: PersonSession) -> str:
        Rights(session, kluis, ACTOR).receive_from_account(signed.person_id, kind, lang, scope or None)
        return "request"

    return _act(request, kluis, csrf, lang, act, "#requests")


@router.post("/complaints")
def file_complaint(request: Request, kluis: KluisDep, text: Annotated[str, Form(max_length=MAX_TEXT + 1000)],
                   csrf: Csrf = "", lang: Lang = "nl") -> Response:
    """R-GOV-2: a complaint from the signed-in person, open at once (no code: the sign-in verified them)."""
    def act(session: Session, signed: PersonSession) -> str:
        Complaints(session, kluis, ACTOR).receive_from_account(signed.person_id, text, lang)
        return "complaint"

    return _act(request, kluis, csrf, lang, act, "#complaints")


@router.get("/packages/{package_id}/download")
def download(request: Request, kluis: KluisDep, package_id: uuid.UUID, lang: Lang = "nl") -> Response:
    """R-DSR-3, R-DSR-4: a ready package of one's own request, streamed; any other id is not found. The session
    stands in for the package's code: the download is granted and audited as the package page does."""
    try:
        with kluis.db.transaction() as session:
            signed = SignIns(session, kluis, ACTOR).current(request.cookies.get(SESSION_COOKIE))
            package = session.get(AccessPackage, package_id)
            if signed is None or package is None or package.person_id != signed.person_id:
                raise NotFound("no such package", code="package_not_found")
            packages = Packages(session, kluis, ACTOR)
            grant = download_grant(kluis.keys.secret, package.id, kluis.clock.now(), signed.id)
            prefix, key = packages.start_download(package, grant)
            portability, request_id, person_id = package.portability, package.request_id, package.person_id
    except (NotFound, PackageExpired):
        return _render(request, lang, "mijn/problem.html", status=404, error=N_("This is not part of your data."))
    kind = type_name("portability" if portability else "access", lang)
    name = f"benvitaal-{kind}-{short_reference(request_id).lower()}.zip"
    return StreamingResponse(stream_package(kluis, person_id, package_id, prefix, key), media_type="application/zip",
                             headers={**HEADERS, "Content-Disposition": f'attachment; filename="{name}"'})

