"""R-CONS-2 (a): marketing mail needs an https one-click unsubscribe link. With a plain-http KLUIS_BASE_URL a
campaign is refused with a clear message instead of queueing mail that can never leave."""

from __future__ import annotations

from sqlalchemy import func, select
from tests.helpers import api_key, headers
from tests.integration.marketing.helpers import campaign, opted_in, person, send_all
from typer.testing import CliRunner

from kluis import wiring
from kluis.cli import app
from kluis.consent.marketing.service import Marketing
from kluis.mail.models import Outbox

PLAIN = "http://kluis.benvitaal.nl"


def queued(kluis):
    with kluis.db.sessions() as session:
        return session.scalar(select(func.count()).select_from(Outbox).where(Outbox.kind == "marketing"))


def test_r_cons_2_cli_and_api_refuse_a_campaign_without_an_https_base_url(client, kluis, catcher, settings):
    opted_in(client, kluis, catcher, person(kluis))
    name = campaign(kluis)
    kluis.settings = settings.model_copy(update={"base_url": PLAIN})
    wiring.use_for_cli(kluis)
    try:
        sent = CliRunner().invoke(app, ["marketing", "send", "--campaign", name])
    finally:
        wiring.use_for_cli(None)
    assert sent.exit_code == 1
    assert "KLUIS_BASE_URL" in sent.output and "https" in sent.output
    auth = api_key(kluis, ["marketing_email"])
    refused = client.post(f"/api/v1/campaigns/{name}/send", headers=headers(auth, "marketing_email"))
    assert refused.status_code == 409 and refused.json()["code"] == "base_url_not_https"
    assert queued(kluis) == 0


def test_r_cons_2_mail_queued_before_the_base_url_changed_fails_at_once_with_a_clear_code(client, kluis, catcher,
                                                                                          settings):
    opted_in(client, kluis, catcher, person(kluis))
    name = campaign(kluis)
    with kluis.db.transaction() as session:
        assert Marketing(session, kluis, "test").send_campaign(name) == 1
    kluis.settings = settings.model_copy(update={"base_url": PLAIN})
    send_all(kluis)
    with kluis.db.sessions() as session:
        row = session.scalars(select(Outbox).where(Outbox.kind == "marketing")).one()
    assert (row.state, row.last_error, row.attempts) == ("failed", "base_url_not_https", 1)
