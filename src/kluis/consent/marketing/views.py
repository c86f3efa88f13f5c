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
from kluis.rights import intake
from kluis.rights.rules import Window
from kluis.web.csrf import CookieBound
from kluis.web.deps import KluisDep, client_address, kluis_of
from kluis.web.public import PublicRoute, templates

if TYPE_CHECKING:
    from kluis.wiring import Kluis

router = APIRouter(prefix="/marketing", include_in_schema=False, route_class=PublicRoute)
HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer", "X-Robots-Tag": "noindex",
           "X-Frame-Options": "DENY"}
Token = Annotated[str, Query(alias="t", max_length=400)]
FormToken = Annotated[str, Form(alias="t", max_length=400)]
Lang = Annotated[str, Query(pattern="^(nl|en)$")]
Csrf = Annotated[str, Form(max_length=128)]
FORMS = CookieBound("marketing/forms", "kluis_marketing_form", "/marketing")

TEXT = {
    "nl": {
        "confirm_title": "Aanmelding bevestigen", "confirm_ask": "Bevestig dat u marketing-e-mail van benVitaal wilt "
        "ontvangen.", "confirm_button": "Ja, aanmelding bevestigen", "confirmed": "Dank u. Uw aanmelding is bevestigd.",
        "unsub_title": "Afmelden", "unsub_ask": "Wilt u geen marketing-e-mail van benVitaal meer ontvangen?",
        "unsub_button": "Afmelden", "unsubscribed": "U bent afgemeld. U ontvangt geen marketing-e-mail meer van "
        "benVitaal.", "admin_note": "Administratieve berichten, zoals orderbevestigingen en berichten over uw "
        "account, blijft u ontvangen.", "prefs_title": "Uw e-mailvoorkeuren", "prefs_on": "U ontvangt nu "
        "marketing-e-mail van benVitaal.", "prefs_off": "U ontvangt nu geen marketing-e-mail van benVitaal.",
        "prefs_subscribe": "Aanmelden (u krijgt een bevestigingsmail)", "resubscribe_sent": "We hebben u een "
        "e-mail gestuurd. Bevestig daarin uw aanmelding.", "bad_link": "Deze link is niet (meer) geldig. "
        "Gebruik de link uit uw meest recente e-mail, of mail dpo@benvitaal.nl.",
        "used_link": "Deze link is al gebruikt; uw aanmelding was al bevestigd.",
        "optin_notice": "Ja, ik wil marketing-e-mail van benVitaal ontvangen. Afmelden kan altijd.",
        "form_expired": "Dit formulier is verlopen. Open de pagina opnieuw en probeer het nog eens.",
        "too_many_title": "Even geduld", "too_many": "Er zijn vanaf uw netwerk te veel links geopend. Probeer het "
        "later opnieuw.",
    },
    "en": {
        "confirm_title": "Confirm subscription", "confirm_ask": "Confirm that you want to receive marketing e-mail "
        "from benVitaal.", "confirm_button": "Yes, confirm", "confirmed": "Thank you. Your subscription is confirmed.",
        "unsub_title": "Unsubscribe", "unsub_ask": "No longer want marketing e-mail from benVitaal?",
        "unsub_button": "Unsubscribe", "unsubscribed": "You are unsubscribed. You will receive no more marketing "
        "e-mail from benVitaal.", "admin_note": "You will still receive administrative messages, such as order "
        "confirmations and notices about your account.", "prefs_title": "Your e-mail preferences",
        "prefs_on": "You now receive marketing e-mail from benVitaal.", "prefs_off": "You now receive no marketing "
        "e-mail from benVitaal.", "prefs_subscribe": "Subscribe (we send you a confirmation e-mail)",
        "resubscribe_sent": "We sent you an e-mail. Please confirm your subscription there.",
        "bad_link": "This link is not (or no longer) valid. Use the link in your latest e-mail, or write to "
        "dpo@benvitaal.nl.", "used_link": "This link was already used; your subscription was confirmed before.",
        "optin_notice": "Yes, I want to receive marketing e-mail from benVitaal. I can unsubscribe at any time.",
        "form_expired": "This form has expired. Open the page again and retry.",
        "too_many_title": "Please wait", "too_many": "Too many links were opened from your network. Please try "
        "again later.",
    },
}


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
    t = TEXT[lang]
    used = exc.code == "token_used"
    return _page(request, lang, t["confirm_title"] if used else t["unsub_title"],
                 t["used_link"] if used else t["bad_link"], status=409 if used else 400, error=not used)


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
        response = _page(request, lang, TEXT[lang]["too_many_title"], TEXT[lang]["too_many"], status=429,
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
    text = TEXT[lang]
    return _page(request, lang, text["confirm_title"], message or text["confirm_ask"], status=status,
                 error=bool(message), form_action=f"/marketing/confirm?lang={lang}", token=t,
                 buttons=(("confirm", text["confirm_button"], ""),))


@router.post("/confirm")
def confirm(request: Request, kluis: KluisDep, t: FormToken, csrf: Csrf = "", lang: Lang = "nl") -> HTMLResponse:
    """R-CONS-2: refused without the form's token, before the link is counted or used: nothing is written."""
    if _forged(request, kluis, csrf):
        return _confirm_page(request, lang, t, status=403, message=TEXT[lang]["form_expired"])

    def act() -> HTMLResponse:
        with kluis.db.transaction() as session:
            Marketing(session, kluis, "person").confirm_opt_in(t, ip=_ip(request))
        return _page(request, lang, TEXT[lang]["confirm_title"], TEXT[lang]["confirmed"])

    return _answer(request, kluis, lang, act)


@router.get("/unsubscribe")
def unsubscribe_form(request: Request, kluis: KluisDep, t: Token, lang: Lang = "nl") -> HTMLResponse:
    text = TEXT[lang]

    def show() -> HTMLResponse:
        _holder(kluis, t, "unsubscribe")
        return _page(request, lang, text["unsub_title"], text["unsub_ask"],
                     form_action=f"/marketing/unsubscribe?t={quote(t)}&lang={lang}", token=t,
                     buttons=(("unsubscribe", text["unsub_button"], ""),), note=text["admin_note"], guarded=False)

    return _answer(request, kluis, lang, show)


@router.post("/unsubscribe")
def unsubscribe(request: Request, kluis: KluisDep, t: Token, lang: Lang = "nl") -> HTMLResponse:
    """RFC 8058: the mail client POSTs `List-Unsubscribe=One-Click` to the URL; the token in the URL is the proof.
    The person gets a confirmation mail, as on every opt-out route."""
    def act() -> HTMLResponse:
        with kluis.db.transaction() as session:
            Marketing(session, kluis, "person").unsubscribe(t, ip=_ip(request), lang=lang)
        return _page(request, lang, TEXT[lang]["unsub_title"], TEXT[lang]["unsubscribed"],
                     note=TEXT[lang]["admin_note"])

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
    text = TEXT[lang]
    button = (("unsubscribe", text["unsub_button"], "") if subscribed else ("subscribe", text["prefs_subscribe"], ""))
    shown = message or (text["prefs_on"] if subscribed else text["prefs_off"])
    return _page(request, lang, text["prefs_title"], shown, status=status, error=bool(message),
                 form_action=f"/marketing/preferences?lang={lang}", token=t, buttons=(button,),
                 note=text["admin_note"])


@router.post("/preferences")
def change_preferences(request: Request, kluis: KluisDep, t: FormToken,
                       action: Annotated[str, Form(pattern="^(subscribe|unsubscribe)$")], csrf: Csrf = "",
                       lang: Lang = "nl") -> HTMLResponse:
    """Route (d) of the statement: the subscription-management tool, reached by a signed link. R-CONS-2: refused
    without the form's token, before the link is counted or used: nothing is written."""
    text = TEXT[lang]
    if _forged(request, kluis, csrf):  # the same button again: the person chose it, the page did not reach us
        return _preferences_page(request, lang, t, action == "unsubscribe", status=403, message=text["form_expired"])

    def act() -> HTMLResponse:
        with kluis.db.transaction() as session:
            marketing = Marketing(session, kluis, "person")
            person_id = marketing.person_of_manage_token(t)
            if action == "unsubscribe":
                marketing.opt_out(person_id, "subscription_page", ip=_ip(request), lang=lang)
            else:
                marketing.request_opt_in(person_id, notice_text=text["optin_notice"], lang=lang)
        message = text["unsubscribed"] if action == "unsubscribe" else text["resubscribe_sent"]
        return _page(request, lang, text["prefs_title"], message, note=text["admin_note"])

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
