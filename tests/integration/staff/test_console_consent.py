"""R-CONS-1 and R-CONS-2 in the console: the proof of each consent event, and the e-mail to the DPO registered
with when it reached benVitaal."""

from __future__ import annotations

from tests.integration.marketing.helpers import person

from kluis.consent.marketing import Marketing

NOTICE_EN = "Yes, I want the benVitaal newsletter. I can unsubscribe at any time."


def test_r_cons_1_console_shows_the_proof_of_each_consent_event(client, kluis, add_member, sign_in):
    """Not just "Subscribed": when, how, statement version, notice text, language and IP network of each event."""
    pid = person(kluis)
    with kluis.db.transaction() as session:
        kluis.consents(session, "test").give(pid, "marketing_email", method="form", notice_text=NOTICE_EN,
                                             lang="en", ip="198.51.100.23")
        Marketing(session, kluis, "test").opt_out(pid, "account", lang="nl")
    sign_in(add_member("support"))
    page = client.get(f"/console/people/{pid}")
    assert page.status_code == 200
    text = page.text
    assert NOTICE_EN in text and "198.51.100.0/24" in text
    assert "2026-11-25 13:00:00 CET" in text  # when (Amsterdam time)
    for expected in ("form", "account", "given", "withdrawn", "<td>en</td>", "<td>nl</td>"):
        assert expected in text, expected
    assert "198.51.100.23" not in text
