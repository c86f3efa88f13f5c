"""The staff console in Dutch and English (R-GATE-2): the language chosen in the frame (a cookie), else the
browser's Accept-Language, else English; every page, its errors and the answers to a bad form in that language,
with ``<html lang>`` set to match."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select
from tests.integration.marketing.helpers import person
from tests.integration.rights.rights_support import new_person

from kluis.kit.i18n import LANGUAGES
from kluis.rights.models import DataSubjectRequest
from kluis.web.console import LANGUAGE_COOKIE

DUTCH = {"Accept-Language": "nl-NL,nl;q=0.9,en;q=0.8"}
PAGES = ("/console", "/console/audit", "/console/requests", "/console/requests/new", "/console/complaints",
         "/console/complaints/new", "/console/breaches", "/console/breaches/new", "/console/orders",
         "/console/orders/new", "/console/holds", "/console/policy/records", "/console/policy/versions",
         "/console/erasure", "/console/employers", "/console/notices", "/console/processors")


def html_lang(page) -> str:
    found = re.search(r'<html lang="(\w+)">', page.text)
    assert found, "the page has no <html lang>"
    return found.group(1)


def test_r_gate_2_without_a_choice_or_preference_the_console_is_english(client, add_member, sign_in):
    sign_in(add_member("dpo"))
    page = client.get("/console")
    assert html_lang(page) == "en"
    assert "Sign out" in page.text and "Skip to content" in page.text and "In the vault" in page.text
    assert "Uitloggen" not in page.text


def test_r_gate_2_the_browser_preference_gives_dutch(client, add_member, sign_in):
    sign_in(add_member("dpo"))
    page = client.get("/console", headers=DUTCH)
    assert html_lang(page) == "nl"
    for dutch in ("Uitloggen", "Naar de inhoud", "In de kluis", "Datalekken", "Klachten", "Bevelen van autoriteiten",
                  "Ingelogd als <strong>FG</strong>"):
        assert dutch in page.text, dutch
    assert "Sign out" not in page.text and "Breaches" not in page.text
    assert html_lang(client.get("/console", headers={"Accept-Language": "de-DE,de;q=0.9"})) == "en"


@pytest.mark.parametrize("path", PAGES)
def test_r_gate_2_every_console_page_renders_in_dutch(client, add_member, sign_in, path):
    sign_in(add_member("dpo"))
    page = client.get(path, headers=DUTCH)
    assert page.status_code == 200, page.text
    assert html_lang(page) == "nl" and "Uitloggen" in page.text
    english = client.get(path)
    assert english.status_code == 200 and html_lang(english) == "en" and "Sign out" in english.text


def test_r_gate_2_the_switch_in_the_frame_sets_a_lax_cookie_and_comes_back(client, kluis, add_member, sign_in):
    pid = person(kluis)
    sign_in(add_member("support"))
    here = f"/console/people/{pid}"
    page = client.get(here, headers={"Accept-Language": "en"})
    assert f'href="/console/language/nl?next=/console/people/{pid}"' in page.text
    switched = client.get(f"/console/language/nl?next={here}", follow_redirects=False)
    assert switched.status_code == 303 and switched.headers["location"] == here
    cookie = switched.headers["set-cookie"]
    assert cookie.startswith(f"{LANGUAGE_COOKIE}=nl;") and "SameSite=lax" in cookie and "Path=/console" in cookie
    chosen = client.get(here, headers={"Accept-Language": "en"})  # the choice outranks the browser
    assert html_lang(chosen) == "nl" and "Identificatiegegevens" in chosen.text
    assert "aria-current" in chosen.text.split('lang="nl" hreflang="nl"')[1][:30]
    client.get("/console/language/en", follow_redirects=False)
    assert html_lang(client.get(here, headers=DUTCH)) == "en"


def test_r_gate_2_the_switch_refuses_another_site_and_another_language(client):
    away = client.get("/console/language/nl?next=https://evil.example/", follow_redirects=False)
    assert away.status_code == 303 and away.headers["location"] == "/console"
    unknown = client.get("/console/language/de", headers=DUTCH, follow_redirects=False)
    assert unknown.status_code == 404 and html_lang(unknown) == "nl"
    assert "De console spreekt Nederlands (nl) en Engels (en)." in unknown.text
    assert LANGUAGE_COOKIE not in unknown.headers.get("set-cookie", "")


def test_r_gate_2_a_refused_form_answers_in_the_chosen_language(client, kluis, add_member, sign_in, csrf_of):
    """A POST with bad input: the form's error page, its title, message and each problem in Dutch; in English
    without a preference. Nothing is written either way."""
    pid = person(kluis)
    with kluis.db.transaction() as session:
        kluis.consents(session, "test").give(pid, "marketing_email", method="form", notice_text="Ja, graag.", lang="nl")
    sign_in(add_member("support"))
    url = f"/console/people/{pid}/marketing-opt-out"
    form = {"csrf": csrf_of(client.get(f"/console/people/{pid}")), "reference": "DPO-2026-51", "lang": "nl",
            "received_at": "gisteren"}
    dutch = client.post(url, data=form, headers=DUTCH, follow_redirects=False)
    assert dutch.status_code == 422 and html_lang(dutch) == "nl"
    assert "<h1 id=\"error-title\">Niet geaccepteerd</h1>" in dutch.text
    assert "Geef aan wanneer de e-mail benVitaal bereikte" in dutch.text and "een datum en tijd" in dutch.text
    assert 'href="/console/language/en?next=/console"' in dutch.text  # a posted form's answer is not reloaded
    english = client.post(url, data=form, follow_redirects=False)
    assert english.status_code == 422 and html_lang(english) == "en"
    assert "Give when the e-mail reached benVitaal" in english.text and "a date and time" in english.text
    expired = client.post(url, data=form | {"csrf": "x"}, headers=DUTCH, follow_redirects=False)
    assert expired.status_code == 403 and "Dit formulier is verlopen." in expired.text
    page = client.get(f"/console/people/{pid}", headers=DUTCH).text
    assert "Ingeschreven (een geldige toestemming)." in page and "DPO-2026-51" not in page  # nothing registered


def test_r_gate_2_errors_from_services_and_routing_are_translated(client, add_member, sign_in):
    sign_in(add_member("support"))
    missing = client.get("/console/people/not-an-id", headers=DUTCH)
    assert missing.status_code == 404 and "Deze persoon bestaat niet." in missing.text
    unknown = client.get("/console/no-such-page", headers=DUTCH)
    assert unknown.status_code == 404 and "Deze pagina bestaat niet in de console." in unknown.text
    assert html_lang(unknown) == "nl"
    role = client.get("/console/holds", headers=DUTCH)
    assert role.status_code == 403 and "Uw rol (support) mag deze pagina niet openen." in role.text


def test_r_gate_2_sign_in_page_and_its_refusal_in_dutch(client):
    page = client.get("/console/login", headers=DUTCH)
    assert html_lang(page) == "nl" and "Code uit uw authenticator-app" in page.text
    token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    refused = client.post("/console/login", headers=DUTCH, follow_redirects=False,
                          data={"email": "nobody@benvitaal.nl", "password": "wrong", "code": "000000", "csrf": token})
    assert refused.status_code == 401 and "Inloggen mislukt" in refused.text


def test_r_gate_2_dates_on_console_pages_follow_the_language(client, kluis, add_member, sign_in):
    """One helper for every page: Amsterdam time with the zone, the month named in Dutch."""
    pid = person(kluis)
    sign_in(add_member("support"))
    created = kluis.clock.now().astimezone(UTC)
    assert created == datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
    assert "25 nov 2026 13:00:00 CET" in client.get(f"/console/people/{pid}", headers=DUTCH).text
    assert "2026-11-25 13:00:00 CET" in client.get(f"/console/people/{pid}").text
    assert set(LANGUAGES) == {"nl", "en"}


def test_r_gate_2_a_service_refusal_is_shown_in_dutch_and_stays_english_for_the_api(client, add_member, sign_in,
                                                                                   csrf_of):
    """A domain error marked for the catalogs: the console page says it in Dutch; the error object, which the
    API and the CLI render, keeps its English text."""
    sign_in(add_member("dpo"))
    form = {"csrf": csrf_of(client.get("/console/complaints/new")), "text": "De app toonde andermans gegevens.",
            "received_on": "2026-11-24", "received_time": "10:00", "reference": "   ", "lang": "nl"}
    dutch = client.post("/console/complaints", data=form, headers=DUTCH, follow_redirects=False)
    assert dutch.status_code == 422 and "geef het kenmerk van de e-mail, het telefoongesprek of de brief" in dutch.text
    english = client.post("/console/complaints", data=form, follow_redirects=False)
    assert english.status_code == 422 and "give the reference of the mail, call or letter" in english.text
    assert "Geen klachten." in client.get("/console/complaints", headers=DUTCH).text  # nothing was written


@pytest.mark.parametrize(("path", "dutch", "english"), [
    ("/console/employers", "Alle werkgevers", "All employers"),
    ("/console/notices", "Meldingen die op een andere manier moeten worden gedaan", "Notices to give another way"),
    ("/console/processors", "Verwerkers en overeenkomsten", "Processors and agreements"),
])
def test_r_gate_2_employers_notices_and_processors_pages_speak_the_language(client, add_member, sign_in, path,
                                                                           dutch, english):
    """The pages of client employers, Art. 19 notices and the processors register: headings in Dutch, and English
    without a preference."""
    sign_in(add_member("dpo"))
    nl, en = client.get(path, headers=DUTCH).text, client.get(path).text
    assert dutch in nl and english not in nl
    assert english in en and dutch not in en


def test_r_gate_2_an_employer_page_and_its_refused_terms_in_dutch(client, kluis, add_member, sign_in, csrf_of):
    """A client employer's page: labels in Dutch, and the service's refusal of a bad contact in Dutch on the page
    while its English stays for the API."""
    _, employer_id = new_person(kluis, employer_held=True)
    sign_in(add_member("dpo"))
    path = f"/console/employers/{employer_id}"
    page = client.get(path, headers=DUTCH)
    assert "Privacycontactpersoon (e-mail)" in page.text and "Opslaan" in page.text
    form = {"csrf": csrf_of(page), "privacy_contact": "geen adres"}
    dutch = client.post(path, data=form, headers=DUTCH, follow_redirects=False)
    assert dutch.status_code == 422 and "een e-mailadres, zoals privacy@employer.example" in dutch.text
    english = client.post(path, data=form, follow_redirects=False)
    assert english.status_code == 422 and "an e-mail address, such as privacy@employer.example" in english.text
    assert "ontbreekt" in client.get(path, headers=DUTCH).text  # nothing was written


def test_r_gate_2_clock_and_range_errors_are_said_in_dutch_with_their_words(client, kluis, clock, add_member,
                                                                            sign_in, csrf_of):
    """Messages made low in the house (the Amsterdam clock, the earliest receipt date) name what they are about in
    words the caller marks too, so the Dutch page says all of it in Dutch; English stays as it was. Nothing is
    written."""
    clock.set(clock.now().replace(year=2027, month=6, day=1))
    sign_in(add_member("dpo"))
    form = {"type": "access", "reference": "brief 9"}
    twice = form | {"received_on": "2026-10-25", "received_time": "02:30"}
    dutch = client.post("/console/requests", headers=DUTCH, follow_redirects=False,
                        data=twice | {"csrf": csrf_of(client.get("/console/requests", headers=DUTCH))})
    assert dutch.status_code == 422
    assert "2026-10-25 02:30 kwam in Amsterdam twee keer voor (de klok ging terug)" in dutch.text
    assert "+02:00 voor de eerste keer, +01:00 voor de tweede" in dutch.text
    early = form | {"received_on": "1999-12-31", "received_time": "12:00"}
    dutch = client.post("/console/requests", headers=DUTCH, follow_redirects=False,
                        data=early | {"csrf": csrf_of(client.get("/console/requests", headers=DUTCH))})
    assert dutch.status_code == 422 and "de ontvangstdatum kan niet vóór 2000-01-01 liggen" in dutch.text
    english = client.post("/console/requests", follow_redirects=False,
                          data=early | {"csrf": csrf_of(client.get("/console/requests"))})
    assert english.status_code == 422 and "the receipt date cannot lie before 2000-01-01" in english.text
    with kluis.db.sessions() as session:
        assert session.scalar(select(func.count()).select_from(DataSubjectRequest)) == 0
