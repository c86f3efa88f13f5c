"""``account_notice``: a short administrative notice chosen by a code (R-CONS-2: these still go
after a marketing opt-out). Context: ``{"notice": <code>, "reference": <optional id or code>}``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from kluis.kit import i18n
from kluis.kit.errors import Problem
from kluis.kit.messages import N_
from kluis.mail.models import Outbox
from kluis.mail.rules import ADMINISTRATIVE
from kluis.mail.templates import MessageContext, Undeliverable, register_template

ACCOUNT_NOTICE = "account_notice"
MARKETING_UNSUBSCRIBED = "marketing_unsubscribed"

# code -> (title, one-sentence notice): English, translated into the mail's language when it is built.
NOTICES: dict[str, tuple[str, str]] = {
    "account_created": (N_("Your account has been created"),
                        N_("A benVitaal account has been created for you.")),
    "account_updated": (N_("Your account details were changed"),
                        N_("The details of your benVitaal account were changed.")),
    MARKETING_UNSUBSCRIBED: (N_("You are unsubscribed from marketing e-mail"),
                             N_("You will receive no more marketing e-mail from benVitaal. You will still receive "
                                "administrative messages, such as order confirmations and notices about your "
                                "account.")),
    "password_changed": (N_("Your password was changed"),
                         N_("The password of your benVitaal account was just changed.")),
    "preferences_changed": (N_("Your preferences were saved"),
                            N_("We have saved your new preferences for messages from benVitaal.")),
    "restriction_lifted": (N_("The restriction of your data is being lifted"),
                           N_("The restriction of the processing of your personal data is being lifted (Article 18(3) "
                              "GDPR). Questions or objections? Contact our data protection officer.")),
    "request_received": (N_("We have received your request"),
                         N_("We have received your request about your personal data and are handling it.")),
}


def check_notice(context: Mapping[str, Any]) -> list[Problem]:
    if context.get("notice") not in NOTICES:
        return [Problem("context.notice", "notice_unknown", f"one of: {', '.join(NOTICES)}")]
    return []


def account_notice(session: Session, kluis: object, row: Outbox) -> MessageContext:
    texts = NOTICES.get(str(row.context.get("notice")))
    if texts is None:
        raise Undeliverable("notice_unknown")
    title, text = (i18n.say(words, row.lang) for words in texts)
    return MessageContext(values={"title": title, "text": text, "reference": row.context.get("reference")})


register_template(ACCOUNT_NOTICE, account_notice, ADMINISTRATIVE, check=check_notice)
