"""R-CONS-2: the marketing confirmation is a public form; a cross-site post (no SameSite=Strict cookie, no
token) opts nobody in, and the link is not used up by it."""

from __future__ import annotations

from tests.forms import form_token
from tests.integration.marketing.helpers import NOTICE, link, person, send_all, subscribed, token_of

from kluis.consent.marketing.service import Marketing


def test_r_cons_2_a_cross_site_confirmation_post_does_not_opt_anyone_in(client, kluis, catcher):
    person_id = person(kluis)
    with kluis.db.transaction() as session:
        Marketing(session, kluis, "test").request_opt_in(person_id, notice_text=NOTICE, lang="nl")
    send_all(kluis)
    url = link(catcher.messages[-1], "/marketing/confirm")
    refused = client.post("/marketing/confirm", data={"t": token_of(url)})
    assert refused.status_code == 403 and not subscribed(kluis, person_id)
    confirmed = client.post("/marketing/confirm", data={"t": token_of(url), "csrf": form_token(client, url)})
    assert confirmed.status_code == 200 and subscribed(kluis, person_id)
