"""Issue 19 §1/§3: the public pages speak Dutch or English from the gettext catalogs, switch language without
JavaScript (keeping the page and its parameters), answer an unsupported language in Dutch, and answer unknown pages
and bad parameters with an HTML error page; the API keeps problem+json."""

from __future__ import annotations

import re

import pytest

SWITCH = re.compile(r'<nav class="languages"[^>]*>.*?</nav>', re.S)


def switch_links(html: str) -> dict[str, str]:
    nav = SWITCH.search(html)
    assert nav, "no language switch on the page"
    return {lang: href.replace("&amp;", "&") for href, lang in
            re.findall(r'<a href="([^"]*)" hreflang="[a-z]+" lang="([a-z]+)"', nav[0])}


@pytest.mark.parametrize("path", ["/privacy-centre/request", "/privacy-centre/complaint", "/privacy/history"])
def test_issue_19_3_public_pages_are_translated_with_a_switch_and_a_skip_link(client, path):
    dutch, english = client.get(path + "?lang=nl"), client.get(path + "?lang=en")
    assert dutch.status_code == english.status_code == 200
    assert '<html lang="nl">' in dutch.text and '<html lang="en">' in english.text
    assert "Naar de inhoud" in dutch.text and "Skip to content" in english.text
    assert switch_links(dutch.text)["en"] == "?lang=en" and switch_links(english.text)["nl"] == "?lang=nl"
    assert dutch.headers["content-language"] == "nl" and english.headers["content-language"] == "en"


def test_issue_19_3_the_request_form_in_dutch_and_english_comes_from_the_catalogs(client):
    dutch, english = client.get("/privacy-centre/request"), client.get("/privacy-centre/request?lang=en")
    assert "Een verzoek over uw gegevens" in dutch.text and "Inzage in mijn gegevens" in dutch.text
    assert "A request about your data" in english.text and "Access to my data" in english.text


def test_issue_19_1_the_switch_keeps_the_page_and_its_parameters(client):
    page = client.get("/privacy-centre/request?lang=en&extra=1")
    assert switch_links(page.text)["nl"] == "?extra=1&lang=nl"


def test_issue_19_1_an_unsupported_language_answers_the_page_in_dutch(client):
    page = client.get("/privacy-centre/request?lang=de")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert '<html lang="nl">' in page.text and "Een verzoek over uw gegevens" in page.text


@pytest.mark.parametrize(("lang", "title"), [("nl", "Pagina niet gevonden"), ("en", "Page not found")])
def test_issue_19_1_an_unknown_public_page_is_an_html_404_in_its_language(client, lang, title):
    page = client.get(f"/privacy-centre/no-such-page?lang={lang}")
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
    assert f'<html lang="{lang}">' in page.text and title in page.text and 'href="#main"' in page.text


def test_issue_19_1_a_bad_parameter_is_an_html_400(client):
    page = client.get("/privacy?version=0&lang=en")
    assert page.status_code == 400 and page.headers["content-type"].startswith("text/html")
    assert "This address is not right" in page.text


def test_issue_19_1_the_api_keeps_problem_json(client):
    answer = client.get("/api/v1/no-such-thing", headers={"Accept": "text/html"})
    assert answer.status_code == 404 and answer.headers["content-type"] == "application/problem+json"


def test_issue_19_1_the_statement_links_to_the_request_form_and_my_privacy(client):
    dutch, english = client.get("/privacy"), client.get("/privacy?lang=en")
    assert 'href="/privacy-centre/request?lang=nl"' in dutch.text and 'href="/mijn-privacy?lang=nl"' in dutch.text
    assert 'href="/privacy-centre/request?lang=en"' in english.text and "My privacy" in english.text
    assert "sha256:" not in dutch.text  # the version is a number beside its effective date, never a hash

