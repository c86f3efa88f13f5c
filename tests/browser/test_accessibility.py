"""Issue 19 §3 (WCAG 2.1 AA): every public page and every console page passes axe-core with no serious or critical
violation, in Dutch and English, at desktop (1280) and phone (375) widths; the request form works by keyboard alone.

axe-core comes from the installed package ``axe-playwright-python`` (its bundled ``axe.min.js``), never from a CDN.
"""

from __future__ import annotations

import re
from typing import Any

import pyotp
import pytest
from axe_playwright_python.sync_playwright import Axe
from tests.integration.breaches.breach_support import PASSWORD, dpo, person

from kluis.complaints.service import Complaints
from kluis.consent.marketing.service import Marketing
from kluis.rights.service import Rights

WIDTHS = (1280, 375)
LANGUAGES = ("nl", "en")
BLOCKING = {"serious", "critical"}
axe = Axe()


def blocking(page: Any) -> list[str]:
    """The serious and critical violations axe-core finds on the page, one line each (rule, impact, elements)."""
    found = axe.run(page).response["violations"]
    return [f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']]}" for v in found
            if v["impact"] in BLOCKING]


def check(page: Any, address: str) -> list[str]:
    """Every width: the page at ``address`` (already in its language) and what axe-core refuses on it."""
    refused = []
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 800})
        page.goto(address)
        refused += [f"{address} @{width}: {line}" for line in blocking(page)]
    return refused


def public_addresses(live: Any) -> list[str]:
    """One of each public page: the statement, its history, the forms, a request's and a complaint's code and
    status pages, the marketing preferences, the cookie demo, and the error pages."""
    kluis = live.kluis
    pid = person(kluis, "toegankelijk@example.nl")
    with kluis.db.transaction() as session:
        request = Rights(session, kluis, "person").accept_public("access", "toegankelijk@example.nl", "nl", None)
        complaint = Complaints(session, kluis, "person").receive_public("toegankelijk@example.nl", "Een klacht.",
                                                                        "nl")[1]
        preferences = Marketing(session, kluis, "test").manage_token(pid)
    return ["/privacy", "/privacy/history", "/privacy-centre/request", "/privacy-centre/complaint",
            f"/privacy-centre/requests/{request.token}/verify", f"/privacy-centre/requests/{request.token}",
            f"/privacy-centre/complaints/{complaint}/verify", f"/privacy-centre/complaints/{complaint}",
            f"/marketing/preferences?t={preferences}", "/cookies/demo", "/privacy-centre/no-such-page",
            "/privacy-centre/requests/not-a-token"]


def with_lang(address: str, lang: str) -> str:
    return f"{address}{'&' if '?' in address else '?'}lang={lang}"


def test_issue_19_3_every_public_page_passes_axe_in_both_languages_and_widths(context, live):
    page = context.new_page()
    refused = []
    for address in public_addresses(live):
        for lang in LANGUAGES:
            refused += check(page, live.url + with_lang(address, lang))
            assert page.locator("html").get_attribute("lang") == lang, address
            skip = page.locator("a.skip").get_attribute("href")  # the skip link leads to the page's main content
            assert page.locator(f"main{skip}").count() == 1, address
    assert refused == []


def sign_in(page: Any, live: Any) -> None:
    enrolment = dpo(live.kluis)
    page.goto(live.url + "/console/login")
    page.fill("#email", "dpo@benvitaal.nl")
    page.fill("#password", PASSWORD)
    page.fill("#code", pyotp.TOTP(enrolment.totp_secret).at(live.kluis.clock.now()))
    page.locator("form button[type=submit]").first.click()
    page.wait_for_url(re.compile(r".*/console(/)?(\?.*)?$"))


def test_issue_19_3_every_console_page_passes_axe_in_both_languages_and_widths(context, live):
    page = context.new_page()
    refused = []
    for lang in LANGUAGES:
        page.goto(f"{live.url}/console/language/{lang}?next=/console/login")
        refused += check(page, live.url + "/console/login")
    sign_in(page, live)
    pages = sorted({href for href in page.locator("header nav a").evaluate_all("as => as.map(a => a.pathname)")
                    if href.startswith("/console") and not href.startswith("/console/language")})
    assert len(pages) > 5, pages  # the DPO's menu: dashboard, audit log, registers, requests' pages...
    for lang in LANGUAGES:
        page.goto(f"{live.url}/console/language/{lang}?next=/console")
        for address in [*pages, "/console/no-such-page"]:
            refused += check(page, live.url + address)
            assert page.locator("html").get_attribute("lang") == lang, address
    assert refused == []


@pytest.mark.parametrize("lang", LANGUAGES)
def test_issue_19_3_r_dsr_1_the_request_form_works_by_keyboard_alone(context, live, lang):
    """R-DSR-1 by keyboard: Tab to each field, choose with the arrow keys, type the address, Enter sends."""
    person(live.kluis, "toetsenbord@example.nl")
    page = context.new_page()
    page.goto(f"{live.url}/privacy-centre/request?lang={lang}")
    focused = []
    for _ in range(40):  # from the top of the page, past the skip link and the language switch
        page.keyboard.press("Tab")
        focused.append(page.evaluate("() => document.activeElement.id || document.activeElement.tagName"))
        if focused[-1] == "type":
            break
    assert focused[-1] == "type", focused
    page.keyboard.press("ArrowDown")  # access -> portability
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.id") == "email"
    page.keyboard.type("toetsenbord@example.nl")
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.type") == "submit"
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert re.search(r"/privacy-centre/requests/[^/]+/verify\?lang=" + lang, page.url), page.url
    assert page.locator("#code").count() == 1 and page.locator("html").get_attribute("lang") == lang


def test_issue_19_3_the_check_finds_a_serious_violation(context):
    """The check itself: a page with an unlabelled field and an image without text fails it."""
    page = context.new_page()
    page.set_content('<!doctype html><html lang="nl"><title>t</title><main><img src="data:,">'
                     '<input type="text"></main></html>')
    assert {line.split(" ")[0] for line in blocking(page)} >= {"image-alt", "label"}
