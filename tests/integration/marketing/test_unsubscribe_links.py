"""R-CONS-2 (a): an unsubscribe or preferences link that is forged, guessed or unknown answers exactly as a
missing page (404), on GET and on the RFC 8058 POST; guessing is limited per client network (429)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from tests.integration.marketing.helpers import opted_in, person, subscribed

from kluis.consent.marketing.service import Marketing


@pytest.fixture
def settings(settings):
    return settings.model_copy(update={"marketing_links_per_client": 4, "intake_client_window_minutes": 60})


def forge(token):
    return token[:6] + ("A" if token[6] != "A" else "B") + token[7:]


@pytest.mark.parametrize(("method", "path"), [
    ("get", "/marketing/unsubscribe?t={t}"), ("post", "/marketing/unsubscribe?t={t}"),
    ("get", "/marketing/preferences?t={t}"), ("get", "/marketing/confirm?t={t}")])
def test_r_cons_2_an_unknown_link_is_a_missing_page(client, kluis, catcher, method, path):
    pid = person(kluis)
    with kluis.db.sessions() as session:
        marketing = Marketing(session, kluis, "t")
        genuine = marketing.manage_token(pid) if "preferences" in path else marketing.unsubscribe_token(pid)
    missing = client.get("/marketing/no-such-page")
    for token in (forge(genuine), "guessed-token", genuine[:-4]):
        answer = getattr(client, method)(path.format(t=token))
        assert (answer.status_code, answer.content) == (404, missing.content), token
    assert missing.status_code == 404


def test_r_cons_2_the_one_click_post_with_a_forged_token_changes_nothing(client, kluis, catcher):
    pid = person(kluis)
    opted_in(client, kluis, catcher, pid)
    with kluis.db.sessions() as session:
        token = Marketing(session, kluis, "t").unsubscribe_token(pid)
    answer = client.post(f"/marketing/unsubscribe?t={forge(token)}", data={"List-Unsubscribe": "One-Click"})
    assert answer.status_code == 404 and subscribed(kluis, pid)
    assert client.get(f"/marketing/unsubscribe?t={token}").status_code == 200  # the genuine link still works


def test_r_cons_2_guessing_links_is_rate_limited_per_client_network(client, kluis, catcher, clock):
    pid = person(kluis)
    with kluis.db.sessions() as session:
        token = Marketing(session, kluis, "t").unsubscribe_token(pid)
    for n in range(4):
        assert client.post(f"/marketing/unsubscribe?t=guess{n}").status_code == 404
    limited = client.post(f"/marketing/unsubscribe?t={token}")  # even the genuine link: no oracle
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) > 0
    assert client.get("/marketing/preferences?t=guess").status_code == 429
    other = client.post(f"/marketing/unsubscribe?t={token}", headers={"x-forwarded-for": "198.51.100.9"})
    assert other.status_code == 429  # X-Forwarded-For is believed only from a trusted proxy
    clock.advance(timedelta(seconds=int(limited.headers["Retry-After"])))
    assert client.post(f"/marketing/unsubscribe?t={token}").status_code == 200
