"""Public marketing pages: confirm an opt-in, one-click unsubscribe (RFC 8058), manage the subscription.

A GET never changes anything (link scanners open every link in a mail); changes are POSTs that carry the
signed token, so no login is needed and nobody can act for another person.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from kluis.consent.marketing import Marketing, TokenRefused
from kluis.web.deps import KluisDep

router = APIRouter(prefix="/marketing", include_in_schema=False)
templates = Jinja2Templates(directory=Path(__file__).resolve().parents[1] / "templates")
HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer", "X-Robots-Tag": "noindex",
           "X-Frame-Options": "DENY"}
Token = Annotated[str, Query(alias="t", max_length=400)]
FormToken = Annotated[str, Form(alias="t", max_length=400)]
Lang = Annotated[str, Query(pattern="^(nl|en)$")]

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
    },
}


def _page(request: Request, lang: str, title: str, message: str, *, status: int = 200, error: bool = False,
          form_action: str | None = None, token: str = "", buttons: tuple[tuple[str, str, str], ...] = (),
          note: str | None = None) -> HTMLResponse:
    response = templates.TemplateResponse(request, "marketing/page.html", {
        "lang": lang, "title": title, "message": message, "error": error, "form_action": form_action,
        "token": token, "buttons": buttons, "note": note}, status_code=status)
    response.headers.update(HEADERS)
    return response


def _refused(request: Request, lang: str, exc: TokenRefused) -> HTMLResponse:
    t = TEXT[lang]
    used = exc.code == "token_used"
    return _page(request, lang, t["confirm_title"] if used else t["unsub_title"],
                 t["used_link"] if used else t["bad_link"], status=409 if used else 400, error=not used)


@router.get("/confirm")
def confirm_form(request: Request, t: Token, lang: Lang = "nl") -> HTMLResponse:
    text = TEXT[lang]
    return _page(request, lang, text["confirm_title"], text["confirm_ask"],
                 form_action=f"/marketing/confirm?lang={lang}", token=t,
                 buttons=(("confirm", text["confirm_button"], ""),))


@router.post("/confirm")
def confirm(request: Request, kluis: KluisDep, t: FormToken, lang: Lang = "nl") -> HTMLResponse:
    try:
        with kluis.db.transaction() as session:
            Marketing(session, kluis, "person").confirm_opt_in(t, ip=_ip(request))
    except TokenRefused as exc:
        return _refused(request, lang, exc)
    return _page(request, lang, TEXT[lang]["confirm_title"], TEXT[lang]["confirmed"])


@router.get("/unsubscribe")
def unsubscribe_form(request: Request, t: Token, lang: Lang = "nl") -> HTMLResponse:
    text = TEXT[lang]
    return _page(request, lang, text["unsub_title"], text["unsub_ask"],
                 form_action=f"/marketing/unsubscribe?t={t}&lang={lang}", token=t,
                 buttons=(("unsubscribe", text["unsub_button"], ""),), note=text["admin_note"])


@router.post("/unsubscribe")
def unsubscribe(request: Request, kluis: KluisDep, t: Token, lang: Lang = "nl") -> HTMLResponse:
    """RFC 8058: the mail client POSTs `List-Unsubscribe=One-Click` to the URL; the token in the URL is the proof."""
    try:
        with kluis.db.transaction() as session:
            Marketing(session, kluis, "person").unsubscribe(t, ip=_ip(request))
    except TokenRefused as exc:
        return _refused(request, lang, exc)
    return _page(request, lang, TEXT[lang]["unsub_title"], TEXT[lang]["unsubscribed"], note=TEXT[lang]["admin_note"])


@router.get("/preferences")
def preferences(request: Request, kluis: KluisDep, t: Token, lang: Lang = "nl") -> HTMLResponse:
    text = TEXT[lang]
    try:
        with kluis.db.sessions() as session:
            marketing = Marketing(session, kluis, "person")
            subscribed = marketing.subscribed(marketing.person_of_manage_token(t))
    except TokenRefused as exc:
        return _refused(request, lang, exc)
    button = ("unsubscribe", text["unsub_button"], "") if subscribed else ("subscribe", text["prefs_subscribe"], "")
    return _page(request, lang, text["prefs_title"], text["prefs_on"] if subscribed else text["prefs_off"],
                 form_action=f"/marketing/preferences?lang={lang}", token=t, buttons=(button,),
                 note=text["admin_note"])


@router.post("/preferences")
def change_preferences(request: Request, kluis: KluisDep, t: FormToken,
                       action: Annotated[str, Form(pattern="^(subscribe|unsubscribe)$")], lang: Lang = "nl"
                       ) -> HTMLResponse:
    """Route (d) of the statement: the subscription-management tool, reached by a signed link."""
    text = TEXT[lang]
    try:
        with kluis.db.transaction() as session:
            marketing = Marketing(session, kluis, "person")
            person_id = marketing.person_of_manage_token(t)
            if action == "unsubscribe":
                marketing.opt_out(person_id, "subscription_page", ip=_ip(request))
            else:
                marketing.request_opt_in(person_id, notice_text=text["optin_notice"], lang=lang)
    except TokenRefused as exc:
        return _refused(request, lang, exc)
    message = text["unsubscribed"] if action == "unsubscribe" else text["resubscribe_sent"]
    return _page(request, lang, text["prefs_title"], message, note=text["admin_note"])


def _ip(request: Request) -> str | None:
    """The peer's address when it is one (behind a proxy, configure it to pass the client address)."""
    host = request.client.host if request.client else ""
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        return None
