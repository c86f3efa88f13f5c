"""Public marketing pages: confirm an opt-in, one-click unsubscribe (RFC 8058), manage the subscription.

A GET never changes anything (link scanners open every link in a mail); changes are POSTs that carry the
signed token, so no login is needed and nobody can act for another person. The page forms also carry a token
bound to a SameSite=Strict cookie (CSRF), so a page elsewhere that holds a leaked link cannot post it; the
one-click unsubscribe does not, as mail clients post it without a page (its signed token is its proof).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse
from starlette.exceptions import HTTPException

from kluis.consent.marketing.service import Marketing, TokenRefused
from kluis.kit.errors import NotFound
from kluis.kit.i18n import N_
from kluis.kit.i18n import gettext as _
from kluis.rights import intake
from kluis.rights.rules import Window
from kluis.web.csrf import CookieBound
from kluis.web.deps import KluisDep, client_address, kluis_of
from kluis.web.public import FORM_EXPIRED, Csrf, Lang, PublicRoute, templates

if TYPE_CHECKING:
    from kluis.wiring import Kluis

router = APIRouter(prefix="/marketing", include_in_schema=False, route_class=PublicRoute)
HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer", "X-Robots-Tag": "noindex",
           "X-Frame-Options": "DENY"}
Token = Annotated[str, Query(alias="t", max_length=400)]
FormToken = Annotated[str, Form(alias="t", max_length=400)]
FORMS = CookieBound("marketing/forms", "kluis_marketing_form", "/marketing")

# What the pages say (translated where shown: the page's language; docs/i18n.md).
CONFIRM_TITLE = N_("Confirm subscription")
CONFIRM_ASK = N_("Confirm that you want to receive marketing e-mail from benVitaal.")
CONFIRM_BUTTON = N_("Yes, confirm")
CONFIRMED = N_("Thank you. Your subscription is confirmed.")
UNSUB_TITLE = N_("Unsubscribe")
UNSUB_ASK = N_("No longer want marketing e-mail from benVitaal?")
UNSUB_BUTTON = N_("Unsubscribe")
UNSUBSCRIBED = N_("You are unsubscribed. You will receive no more marketing e-mail from benVitaal.")
ADMIN_NOTE = N_("You will still receive administrative messages, such as order confirmations and notices about your "
                "account.")
PREFS_TITLE = N_("Your e-mail preferences")
PREFS_ON = N_("You now receive marketing e-mail from benVitaal.")
PREFS_OFF = N_("You now receive no marketing e-mail from benVitaal.")
PREFS_SUBSCRIBE = N_("Subscribe (we send you a confirmation e-mail)")
RESUBSCRIBE_SENT = N_("We sent you an e-mail. Please confirm your subscription there.")
BAD_LINK = N_("This link is not (or no longer) valid. Use the link in your latest e-mail, or write to "
              "dpo@benvitaal.nl.")
USED_LINK = N_("This link was already used; your subscription was confirmed before.")
OPTIN_NOTICE = N_("Yes, I want to receive marketing e-mail from benVitaal. I can unsubscribe at any time.")
TOO_MANY_TITLE = N_("Please wait")
TOO_MANY = N_("Too many links were opened from your network. Please try again later.")


def _page(request: Request, lang: str, title: str, message: str, *, status: int = 200, error: bool = False,
          form_action: str | None = None, token: str = "", buttons: tuple[tuple[str, str, str], ...] = (),
          note: str | None = None, guarded: bool = True) -> HTMLResponse:
    """A page; one with a ``guarded`` form gives it its token and the browser its cookie."""
    kluis = kluis_of(request)
    nonce = FORMS.kept_nonce(request) if form_action and guarded else ""
    response = templates.TemplateResponse(request, "marketing/page.html", {
        "lang": lang, "title": title, "message": message, "error": error, "form_action": form_action,
        "token": token, "buttons": buttons, "note": note,
        "csrf": FORMS.token(kluis.keys.secret, nonce) if nonce else ""}, status_code=status)
    response.headers.update(HEADERS)
    if nonce:
        FORMS.issue(response, kluis.settings, nonce)
    return response


def _forged(request: Request, kluis: Kluis, given: str) -> bool:
    """R-CONS-2: whether a page form's post lacks its token, or carries one bound to another browser's cookie."""
    return not FORMS.valid(request, kluis.keys.secret, given)


def _refused(request: Request, lang: str, exc: TokenRefused) -> HTMLResponse:
    used = exc.code == "token_used"
    return _page(request, lang, _(CONFIRM_TITLE) if used else _(UNSUB_TITLE),
                 _(USED_LINK) if used else _(BAD_LINK), status=409 if used else 400, error=not used)


def _count(request: Request, kluis: Kluis) -> None:
    """One hit per use of a link, per client network, in the intake's sliding log (R-CONS-2). Committed on its
    own: a guess that finds nothing counts all the same."""
    settings = kluis.settings
    client = client_address(request)
    bucket = intake.Bucket(kluis.keys.digest("marketing:link-client", "", client).hex(),
                           Window(settings.marketing_links_per_client,
                                  timedelta(minutes=settings.intake_client_window_minutes)))
    with kluis.db.transaction() as session:
        intake.hit(session, kluis.clock.now(), [bucket])


def _answer(request: Request, kluis: Kluis, lang: str, act: Callable[[], HTMLResponse]) -> HTMLResponse:
    """Count the use, then act. A forged or guessed token, or one of a person no longer held, answers exactly
    as a missing page does: the answer tells nothing about which links exist."""
    try:
        _count(request, kluis)
        return act()
    except intake.RateLimited as limited:
        response = _page(request, lang, _(TOO_MANY_TITLE), _(TOO_MANY), status=429,
                         error=True)
        response.headers["Retry-After"] = str(limited.retry_after)
        return response
    except TokenRefused as exc:
        if exc.code == "token_invalid":
            raise HTTPException(404) from None
        return _refused(request, lang, exc)
    except NotFound:
        raise HTTPException(404) from None


@router.get("/confirm")
def confirm_form(request: Request, kluis: KluisDep, t: Token, lang: Lang = "nl") -> HTMLResponse:
    def show() -> HTMLResponse:
        _holder(kluis, t, "opt_in")
        return _confirm_page(request, lang, t)

    return _answer(request, kluis, lang, show)


def _confirm_page(request: Request, lang: str, t: str, *, status: int = 200, message: str = "") -> HTMLResponse:
    return _page(request, lang, _(CONFIRM_TITLE), message or _(CONFIRM_ASK), status=status,
                 error=bool(message), form_action=f"/marketing/confirm?lang={lang}", token=t,
                 buttons=(("confirm", _(CONFIRM_BUTTON), ""),))


@router.post("/confirm")
def confirm(request: Request, kluis: KluisDep, t: FormToken, csrf: Csrf = "", lang: Lang = "nl") -> HTMLResponse:
    """R-CONS-2: refused without the form's token, before the link is counted or used: nothing is written."""
    if _forged(request, kluis, csrf):
        return _confirm_page(request, lang, t, status=403, message=_(FORM_EXPIRED))

    def act() -> HTMLResponse:
        with kluis.db.transaction() as session:
            Marketing(session, kluis, "person").confirm_opt_in(t, ip=_ip(request))
        return _page(request, lang, _(CONFIRM_TITLE), _(CONFIRMED))

    return _answer(request, kluis, lang, act)


@router.get("/unsubscribe")
def unsubscribe_form(request: Request, kluis: KluisDep, t: Token, lang: Lang = "nl") -> HTMLResponse:

    def show() -> HTMLResponse:
        _holder(kluis, t, "unsubscribe")
        return _page(request, lang, _(UNSUB_TITLE), _(UNSUB_ASK),
                     form_action=f"/marketing/unsubscribe?t={quote(t)}&lang={lang}", token=t,
                     buttons=(("unsubscribe", _(UNSUB_BUTTON), ""),), note=_(ADMIN_NOTE), guarded=False)

    return _answer(request, kluis, lang, show)


@router.post("/unsubscribe")
def unsubscribe(request: Request, kluis: KluisDep, t: Token, lang: Lang = "nl") -> HTMLResponse:
    """RFC 8058: the mail client POSTs `List-Unsubscribe=One-Click` to the URL; the token in the URL is the proof.
    The person gets a confirmation mail, as on every opt-out route."""
    def act() -> HTMLResponse:
        with kluis.db.transaction() as session:
            Marketing(session, kluis, "person").unsubscribe(t, ip=_ip(request), lang=lang)
        return _page(request, lang, _(UNSUB_TITLE), _(UNSUBSCRIBED),
                     note=_(ADMIN_NOTE))

    return _answer(request, kluis, lang, act)


@router.get("/preferences")
def preferences(request: Request, kluis: KluisDep, t: Token, lang: Lang = "nl") -> HTMLResponse:
    def show() -> HTMLResponse:
        with kluis.db.sessions() as session:
            marketing = Marketing(session, kluis, "person")
            subscribed = marketing.subscribed(marketing.person_of_manage_token(t))
        return _preferences_page(request, lang, t, subscribed)

    return _answer(request, kluis, lang, show)


def _preferences_page(request: Request, lang: str, t: str, subscribed: bool, *, status: int = 200,
                      message: str = "") -> HTMLResponse:
    button = (("unsubscribe", _(UNSUB_BUTTON), "") if subscribed else ("subscribe", _(PREFS_SUBSCRIBE), ""))
    shown = message or (_(PREFS_ON) if subscribed else _(PREFS_OFF))
    return _page(request, lang, _(PREFS_TITLE), shown, status=status, error=bool(message),
                 form_action=f"/marketing/preferences?lang={lang}", token=t, buttons=(button,),
                 note=_(ADMIN_NOTE))


@router.post("/preferences")
def change_preferences(request: Request, kluis: KluisDep, t: FormToken,
                       action: Annotated[str, Form(pattern="^(subscribe|unsubscribe)$")], csrf: Csrf = "",
                       lang: Lang = "nl") -> HTMLResponse:
    """Route (d) of the statement: the subscription-management tool, reached by a signed link. R-CONS-2: refused
    without the form's token, before the link is counted or used: nothing is written."""
    if _forged(request, kluis, csrf):  # the same button again: the person chose it, the page did not reach us
        return _preferences_page(request, lang, t, action == "unsubscribe", status=403, message=_(FORM_EXPIRED))

    def act() -> HTMLResponse:
        with kluis.db.transaction() as session:
            marketing = Marketing(session, kluis, "person")
            person_id = marketing.person_of_manage_token(t)
            if action == "unsubscribe":
                marketing.opt_out(person_id, "subscription_page", ip=_ip(request), lang=lang)
            else:
                marketing.request_opt_in(person_id, notice_text=_(OPTIN_NOTICE), lang=lang)
        message = _(UNSUBSCRIBED) if action == "unsubscribe" else _(RESUBSCRIBE_SENT)
        return _page(request, lang, _(PREFS_TITLE), message, note=_(ADMIN_NOTE))

    return _answer(request, kluis, lang, act)


def _holder(kluis: Kluis, token: str, kind: str) -> None:
    with kluis.db.sessions() as session:
        Marketing(session, kluis, "person").link_holder(token, kind)


def _ip(request: Request) -> str | None:
    """The peer's address when it is one (behind a proxy, configure it to pass the client address)."""
    host = request.client.host if request.client else ""
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        return None
