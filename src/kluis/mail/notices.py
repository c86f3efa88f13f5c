"""``account_notice``: a short administrative notice chosen by a code (R-CONS-2: these still go
after a marketing opt-out). Context: ``{"notice": <code>, "reference": <optional id or code>}``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from kluis.kit.errors import Problem
from kluis.mail.models import Outbox
from kluis.mail.rules import ADMINISTRATIVE
from kluis.mail.templates import MessageContext, Undeliverable, register_template

ACCOUNT_NOTICE = "account_notice"
MARKETING_UNSUBSCRIBED = "marketing_unsubscribed"

# code -> language -> (title, one-sentence notice)
NOTICES: dict[str, dict[str, tuple[str, str]]] = {
    "account_created": {
        "nl": ("Uw account is aangemaakt", "Er is een benVitaal-account voor u aangemaakt."),
        "en": ("Your account has been created", "A benVitaal account has been created for you."),
    },
    "account_updated": {
        "nl": ("Uw accountgegevens zijn gewijzigd", "De gegevens van uw benVitaal-account zijn gewijzigd."),
        "en": ("Your account details were changed", "The details of your benVitaal account were changed."),
    },
    MARKETING_UNSUBSCRIBED: {
        "nl": ("U bent afgemeld voor marketing-e-mail",
               "U ontvangt geen marketing-e-mail meer van benVitaal. Administratieve berichten, zoals "
               "orderbevestigingen en berichten over uw account, blijft u ontvangen."),
        "en": ("You are unsubscribed from marketing e-mail",
               "You will receive no more marketing e-mail from benVitaal. You will still receive administrative "
               "messages, such as order confirmations and notices about your account."),
    },
    "password_changed": {
        "nl": ("Uw wachtwoord is gewijzigd", "Het wachtwoord van uw benVitaal-account is zojuist gewijzigd."),
        "en": ("Your password was changed", "The password of your benVitaal account was just changed."),
    },
    "preferences_changed": {
        "nl": ("Uw voorkeuren zijn opgeslagen",
               "We hebben uw nieuwe voorkeuren voor berichten van benVitaal opgeslagen."),
        "en": ("Your preferences were saved", "We have saved your new preferences for messages from benVitaal."),
    },
    "restriction_lifted": {
        "nl": ("De beperking van uw gegevens wordt opgeheven",
               "De beperking van de verwerking van uw persoonsgegevens wordt opgeheven (artikel 18, lid 3 AVG). "
               "Vragen of bezwaar? Neem contact op met onze functionaris gegevensbescherming."),
        "en": ("The restriction of your data is being lifted",
               "The restriction of the processing of your personal data is being lifted (Article 18(3) GDPR). "
               "Questions or objections? Contact our data protection officer."),
    },
    "request_received": {
        "nl": ("We hebben uw verzoek ontvangen",
               "We hebben uw verzoek over uw persoonsgegevens ontvangen en nemen het in behandeling."),
        "en": ("We have received your request",
               "We have received your request about your personal data and are handling it."),
    },
}


def check_notice(context: Mapping[str, Any]) -> list[Problem]:
    if context.get("notice") not in NOTICES:
        return [Problem("context.notice", "notice_unknown", f"one of: {', '.join(NOTICES)}")]
    return []


def account_notice(session: Session, kluis: object, row: Outbox) -> MessageContext:
    texts = NOTICES.get(str(row.context.get("notice")))
    if texts is None:
        raise Undeliverable("notice_unknown")
    title, text = texts[row.lang]
    return MessageContext(values={"title": title, "text": text, "reference": row.context.get("reference")})


register_template(ACCOUNT_NOTICE, account_notice, ADMINISTRATIVE, check=check_notice)
