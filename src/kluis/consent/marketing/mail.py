"""The marketing messages: the opt-in confirmation and campaign mail, rendered from ids at send time."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING
from urllib.parse import quote

from sqlalchemy.orm import Session

from kluis.consent.marketing.models import Campaign
from kluis.consent.marketing.service import CONFIRM_MAX_AGE, LIST, Marketing
from kluis.consent.service import Running
from kluis.kit import i18n
from kluis.kit.clock import AMSTERDAM
from kluis.mail.service import Cancelled, MessageContext, Undeliverable, register_template, unsubscribe_headers

if TYPE_CHECKING:
    from kluis.mail.models import Outbox


def confirm_message(session: Session, kluis: Running, row: Outbox) -> MessageContext:
    marketing = Marketing(session, kluis, "worker")
    assert row.person_id is not None
    token = marketing.opt_in_token(row.id, row.person_id, row.lang, str(row.context["notice"]), row.created_at)
    expires = (row.created_at + timedelta(seconds=CONFIRM_MAX_AGE)).astimezone(AMSTERDAM)
    return MessageContext(values={"confirm_url": f"{kluis.settings.base_url}/marketing/confirm?t={quote(token)}",
                                  "expires": i18n.when(expires, row.lang)})


def campaign_message(session: Session, kluis: Running, row: Outbox) -> MessageContext:
    """Checked again at send time: a person who opted out, objected or was erased after queueing gets nothing."""
    assert row.person_id is not None
    marketing = Marketing(session, kluis, "worker")
    if not marketing.subscribed(row.person_id):
        raise Cancelled("not_subscribed")
    if marketing.suppressed(row.person_id):
        raise Cancelled("suppressed")
    campaign = session.get(Campaign, str(row.context["campaign"]))
    if campaign is None:
        raise Cancelled("campaign_gone")
    base = kluis.settings.base_url
    # The mail's language goes along: the page, the proof of the opt-out and its confirmation mail use it.
    unsubscribe = (f"{base}/marketing/unsubscribe?t={quote(marketing.unsubscribe_token(row.person_id, LIST))}"
                   f"&lang={row.lang}")
    preferences = f"{base}/marketing/preferences?t={quote(marketing.manage_token(row.person_id))}&lang={row.lang}"
    try:
        headers = unsubscribe_headers(unsubscribe, kluis.policy.dpo.email)
    except ValueError:  # KLUIS_BASE_URL changed to plain http after queueing: retrying cannot help
        raise Undeliverable("base_url_not_https") from None
    return MessageContext(values={"campaign_title": campaign.title, "campaign_text": campaign.text,
                                  "unsubscribe_url": unsubscribe, "preferences_url": preferences},
                          headers=headers)


register_template("marketing_confirm", confirm_message)
register_template("marketing_newsletter", campaign_message, kind="marketing")
