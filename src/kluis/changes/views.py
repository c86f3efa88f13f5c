"""Giving consent again after a material change (R-GOV-4): the page the announcement mail links to.

The link's signed token names the person, the version and the mail; the purposes asked are the mail's own. A GET
only shows what is asked (link scanners open every link); the POST records consent for the purposes the person
ticks, under the version whose terms the page showed, so it covers them from that version's moment on.
The form carries a token bound to a SameSite=Strict cookie (CSRF): a page elsewhere that holds a leaked link
still cannot post it for the person.
"""

from __future__ import annotations

import ipaddress
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from kluis.changes.mail import RENEWAL, TEMPLATE
from kluis.kit import i18n, signing
from kluis.kit.errors import NotFound
from kluis.kit.messages import N_
from kluis.mail.models import Outbox
from kluis.policy.diff import describe, diff
from kluis.policy.render import moment_text
from kluis.policy.schemas import LANGS, Lang
from kluis.vault.service import live_person
from kluis.web.csrf import CookieBound
from kluis.web.deps import KluisDep, client_address, kluis_of
from kluis.web.public import FORM_EXPIRED, PublicRoute, templates
from kluis.wiring import Kluis

router = APIRouter(prefix="/privacy/consent", include_in_schema=False, route_class=PublicRoute)
MAX_AGE = timedelta(days=90)
HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer", "X-Robots-Tag": "noindex",
           "X-Frame-Options": "DENY"}
Token = Annotated[str, Query(alias="t", max_length=400)]
FormToken = Annotated[str, Form(alias="t", max_length=400)]
FORM = CookieBound("changes/renewal", "kluis_renewal_form", "/privacy/consent")

# What the page says (the catalogs; the page is in the language of the mail that linked to it). The consent
# sentence is also the notice kept as evidence with the consent, in the words the person read.
AGREE = N_("Yes, I give benVitaal my consent for {purpose}, under the terms of version {version} of the privacy "
           "statement. I can withdraw it at any time.")
INTRO = N_("On {moment} a new version of our privacy statement takes effect. For what follows, your earlier consent "
           "then no longer applies. Tick what you consent to again; what you leave unticked, we stop from that moment.")
DONE = N_("Thank you. Your consent has been recorded.")
NOTHING = N_("You ticked nothing; nothing was recorded.")
BAD = N_("This link is not (or no longer) valid. Write to dpo@benvitaal.nl if you want to give your consent.")


@dataclass(frozen=True)
class Asked:
    """What one mail asked one person: consent again for ``purposes`` (id, name, what changes, the notice)."""

    person_id: uuid.UUID
    seq: int
    lang: Lang
    moment: str
    purposes: list[dict[str, str | list[str]]]


def asked(session: Session, kluis: Kluis, token: str) -> Asked:
    """Raises NotFound for a forged, expired or foreign link, or a person no longer held."""
    now = kluis.clock.now()
    try:
        claims = signing.verify(kluis.keys.secret, RENEWAL, token, now=now,
                                max_age_seconds=int(MAX_AGE.total_seconds()))
        seq_text, _, lang = claims.scope.partition(":")
        row = session.get(Outbox, uuid.UUID(bytes=claims.nonce))
    except (signing.BadToken, ValueError):
        raise NotFound("no such link", code="link_invalid") from None
    version = kluis.timeline.version(int(seq_text), now)
    if row is None or row.person_id != claims.subject or row.template != TEMPLATE or lang not in LANGS \
            or version is None or version.policy is None or version.previous is None:
        raise NotFound("no such link", code="link_invalid")
    live_person(session, claims.subject)
    before, policy = kluis.policy_of(version.previous), version.policy
    changes = diff(before, policy) if before is not None else ()
    language: Lang = lang
    purposes: list[dict[str, str | list[str]]] = []
    for purpose_id in row.context.get("renew", []):
        if purpose_id in policy.purpose_ids:
            purpose = policy.purpose(purpose_id)
            name = purpose.name.get(language)
            purposes.append({"id": purpose_id, "name": name, "description": purpose.description.get(language),
                             "changes": [describe(c, before, policy, language) for c in changes  # type: ignore[arg-type]
                                         if purpose_id in c.renew],
                             "notice": i18n.say(AGREE, language).format(purpose=name, version=version.label)})
    return Asked(claims.subject, version.seq, language, moment_text(version.effective_from, language), purposes)


@router.get("")
def renewal_form(request: Request, kluis: KluisDep, t: Token) -> HTMLResponse:
    try:
        with kluis.db.sessions() as session:
            found = asked(session, kluis, t)
    except NotFound:
        return _page(request, "nl", None, message=BAD, status=404)
    return _page(request, found.lang, found, token=t)


@router.post("")
def renew(request: Request, kluis: KluisDep, t: FormToken,
          purposes: Annotated[list[str], Form(max_length=20)] = [],  # noqa: B006 - FastAPI reads it
          csrf: Annotated[str, Form(max_length=128)] = "") -> HTMLResponse:
    """R-GOV-4: the form token must match its cookie; refused, nothing is recorded and the page is shown again."""
    if not FORM.valid(request, kluis.keys.secret, csrf):
        try:
            with kluis.db.sessions() as session:
                found = asked(session, kluis, t)
        except NotFound:
            return _page(request, "nl", None, message=BAD, status=404)
        return _page(request, found.lang, found, token=t, message=FORM_EXPIRED, status=403)
    try:
        with kluis.db.transaction() as session:
            found = asked(session, kluis, t)
            chosen = [p for p in found.purposes if p["id"] in purposes]
            consents = kluis.consents(session, "person")
            for purpose in chosen:
                consents.give(found.person_id, str(purpose["id"]), method="email_confirmation",
                              notice_text=str(purpose["notice"]), lang=found.lang, ip=_ip(request),
                              policy_version=found.seq)
    except NotFound:
        return _page(request, "nl", None, message=BAD, status=404)
    return _page(request, found.lang, None, message=DONE if chosen else NOTHING)


def _ip(request: Request) -> str | None:
    try:
        return str(ipaddress.ip_address(client_address(request)))
    except ValueError:
        return None


def _page(request: Request, lang: Lang, found: Asked | None, *, token: str = "", message: str = "",
          status: int = 200) -> HTMLResponse:
    kluis = kluis_of(request)
    nonce = FORM.kept_nonce(request) if found else ""
    with i18n.speaking(lang):  # the mail's language, whatever the address says
        response = templates.TemplateResponse(request, "policy/renewal.html", {
            "lang": lang, "found": found, "token": token, "message": i18n.translate(message) if message else "",
            "csrf": FORM.token(kluis.keys.secret, nonce) if nonce else "",
            "intro": i18n.translate(INTRO).format(moment=found.moment) if found else "",
            "statement_url": f"/privacy?version={found.seq}{i18n.query(lang, '&')}" if found else "",
            "privacy_url": f"/privacy{i18n.query(lang)}"},
            status_code=status)
        response.headers["Content-Language"] = lang
    response.headers.update(HEADERS)
    if nonce:
        FORM.issue(response, kluis.settings, nonce)
    return response
