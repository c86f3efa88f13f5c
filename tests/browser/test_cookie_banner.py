"""R-CONS-4 in a real browser: the demo page, its banner, gated scripts, receipts, revisions and GPC."""

from __future__ import annotations

from typing import Any

from kluis.consent.cookies.service import configured_sites
from kluis.policy.schemas import Text

BANNER = "[data-kluis-banner]"
SETTINGS = ".kluis-cookies-settings"
DEMO_COOKIES = {"demo_analytics", "demo_marketing"}


def open_page(context: Any, live: Any, path: str = "/cookies/demo", banner: bool = True) -> Any:
    page = context.new_page()
    page.goto(live.url + path)
    page.wait_for_selector(BANNER if banner else SETTINGS, state="visible")
    return page


def button(page: Any, action: str) -> Any:
    return page.locator(f'{BANNER} [data-kluis-action="{action}"]')


def decide(page: Any, action: str) -> None:
    """Click one of the banner's buttons and wait until the receipt is stored and the banner closed."""
    with page.expect_response(lambda r: r.url.endswith("/receipts") and r.request.method == "POST") as sent:
        button(page, action).click()
    assert sent.value.status == 201, sent.value.text()
    page.wait_for_selector(BANNER, state="hidden")


def ran(page: Any) -> dict[str, bool]:
    return page.evaluate("() => Object.assign({}, window.kluisDemo || {})")


def wait_for_analytics(page: Any) -> None:
    page.wait_for_function("() => !!(window.kluisDemo && window.kluisDemo.analytics)")


def cookie_names(context: Any) -> set[str]:
    return {c["name"] for c in context.cookies()}


def test_r_cons_4_no_non_essential_cookie_before_consent(context, live):
    """R-CONS-4: before a choice no cookie is set and no gated script is even fetched."""
    fetched: list[str] = []
    context.on("request", lambda request: fetched.append(request.url))
    page = open_page(context, live)
    assert cookie_names(context) == set()
    assert ran(page) == {}
    assert not [url for url in fetched if "/cookies/demo/" in url and url.endswith(".js")]
    assert page.locator(f"{BANNER} h2").inner_text() == "Cookies op deze pagina"


def test_r_cons_4_reject_leaves_no_cookie_and_stores_a_receipt(context, live):
    """R-CONS-4: "reject all" sets only the necessary consent cookie; the receipt is stored."""
    page = open_page(context, live)
    decide(page, "reject_all")
    assert cookie_names(context) == {"kluis_consent"}
    [receipt] = live.receipts()
    assert (receipt.site, receipt.path, receipt.scope, receipt.action) == ("kluis-demo", "/cookies/demo", "page",
                                                                           "reject_all")
    assert receipt.granted == ["necessary"] and receipt.refused == ["analytics", "marketing"]
    page.reload()
    page.wait_for_selector(SETTINGS, state="visible")
    assert page.locator(BANNER).is_hidden(), "the choice is remembered: no banner on the next visit"
    assert ran(page) == {} and cookie_names(context) == {"kluis_consent"}


def test_r_cons_4_accept_loads_the_analytics_script(context, live):
    """R-CONS-4: "accept all" activates the gated scripts, now and on the next visit."""
    page = open_page(context, live)
    decide(page, "accept_all")
    wait_for_analytics(page)
    page.wait_for_function("() => !!(window.kluisDemo && window.kluisDemo.marketing)")
    assert cookie_names(context) >= DEMO_COOKIES
    page.reload()
    wait_for_analytics(page)
    assert page.locator(BANNER).is_hidden()
    assert [r.action for r in live.receipts()] == ["accept_all"]


def test_r_cons_4_choose_grants_only_the_ticked_category(context, live):
    """R-CONS-4: "choose" shows the categories unticked; only what is ticked runs."""
    page = open_page(context, live)
    button(page, "choose").click()
    boxes = page.locator(f"{BANNER} input[type=checkbox]")
    assert [boxes.nth(i).is_checked() for i in range(3)] == [True, False, False], "no pre-ticked boxes"
    assert page.locator(f"{BANNER} input[name=necessary]").is_disabled()
    page.locator(f"{BANNER} input[name=analytics]").check()
    decide(page, "choose")
    wait_for_analytics(page)
    assert "marketing" not in ran(page)
    assert "demo_marketing" not in cookie_names(context)
    [receipt] = live.receipts()
    assert (receipt.action, receipt.granted) == ("choose", ["necessary", "analytics"])


def test_r_cons_4_consent_applies_per_page_path(context, live):
    """R-CONS-4: consent on /cookies/demo does not apply to /cookies/demo/other, unless given site-wide."""
    page = open_page(context, live)
    decide(page, "accept_all")
    wait_for_analytics(page)
    other = open_page(context, live, "/cookies/demo/other")
    assert ran(other) == {}, "nothing runs on another page before a choice there"
    other.locator(f"{BANNER} input[value=site]").check()
    decide(other, "accept_all")
    wait_for_analytics(other)
    back = open_page(context, live, "/cookies/demo", banner=False)
    wait_for_analytics(back)
    assert [(r.path, r.scope) for r in live.receipts()] == [("/cookies/demo", "page"),
                                                           ("/cookies/demo/other", "site")]


def test_r_cons_4_new_revision_shows_the_banner_again(context, live):
    """R-CONS-4: when the policy's cookie text changes, the banner asks again and nothing runs meanwhile."""
    page = open_page(context, live)
    decide(page, "accept_all")
    wait_for_analytics(page)
    policy = live.kluis.policy
    analytics = policy.cookie_categories[1].model_copy(
        update={"description": Text(nl="Meten hoe vaak pagina's bekeken worden.",
                                    en="Measure how often pages are viewed.")})
    live.kluis.policy = policy.model_copy(update={"cookie_categories": [policy.cookie_categories[0], analytics,
                                                                        policy.cookie_categories[2]]})
    page.reload()
    page.wait_for_selector(BANNER, state="visible")
    assert ran(page) == {}
    page.locator(f"{BANNER} [data-kluis-action=choose]").click()
    assert "Meten hoe vaak" in page.locator(BANNER).inner_text()
    decide(page, "reject_all")
    first, second = live.receipts()
    assert first.revision != second.revision


def test_r_cons_4_choice_on_an_outdated_banner_asks_again(context, live):
    """R-CONS-4: a banner that changed while the page was open is not answered; the page asks anew."""
    page = open_page(context, live)
    policy = live.kluis.policy
    texts = [c.model_copy(update={"name": Text(nl=f"{c.name.nl}!", en=f"{c.name.en}!")})
             for c in policy.cookie_categories]
    live.kluis.policy = policy.model_copy(update={"cookie_categories": texts})
    with page.expect_navigation():
        button(page, "accept_all").click()
    page.wait_for_selector(BANNER, state="visible")
    assert ran(page) == {} and live.receipts() == []
    decide(page, "accept_all")
    wait_for_analytics(page)


def choose(page: Any, *categories: str) -> None:
    """Open the banner's own choices, tick exactly ``categories`` (besides necessary) and save."""
    button(page, "choose").click()
    for box in page.locator(f"{BANNER} input[type=checkbox]:not([disabled])").all():
        box.set_checked(box.get_attribute("name") in categories)
    decide(page, "choose")


def test_r_cons_4_gpc_keeps_marketing_off_until_the_visitor_turns_it_on(gpc_context, live):
    """R-CONS-4: Sec-GPC: 1 and navigator.globalPrivacyControl set the default: marketing starts off and does not
    load (reason gpc). The visitor who then explicitly turns marketing on gets it, and it stays on after a
    reload; the receipt keeps both the GPC signal and the explicit choice."""
    page = open_page(gpc_context, live)
    assert page.locator(f"{BANNER} .kluis-cookies__gpc").is_visible()
    button(page, "choose").click()
    marketing = page.locator(f"{BANNER} input[name=marketing]")
    assert marketing.is_enabled() and not marketing.is_checked()
    page.keyboard.press("Escape")
    choose(page, "analytics")
    wait_for_analytics(page)
    assert "marketing" not in ran(page) and "demo_marketing" not in cookie_names(gpc_context)
    [by_default] = live.receipts()
    assert (by_default.refused, by_default.reason, by_default.objects_to_profiling) == (["marketing"], "gpc", True)
    page.locator("[data-kluis-open]").click()
    choose(page, "analytics", "marketing")
    page.wait_for_function("() => !!(window.kluisDemo && window.kluisDemo.marketing)")
    assert "demo_marketing" in cookie_names(gpc_context)
    page.reload()
    page.wait_for_function("() => !!(window.kluisDemo && window.kluisDemo.marketing)")
    assert page.locator(BANNER).is_hidden()
    [explicit] = [r for r in live.receipts() if r.reason == "choice"]
    assert "marketing" in explicit.granted and explicit.action == "choose"
    assert explicit.gpc_sources == ["header", "script"] and explicit.objects_to_profiling is False


def test_r_cons_4_gpc_switched_on_after_a_choice_for_marketing_asks_again(context, live):
    """R-CONS-4: a choice for marketing made before the browser sent GPC is older than the signal: marketing does
    not load and the banner asks again, with marketing off."""
    page = open_page(context, live)
    decide(page, "accept_all")
    page.wait_for_function("() => !!(window.kluisDemo && window.kluisDemo.marketing)")
    context.set_extra_http_headers({"Sec-GPC": "1"})
    context.add_init_script("Object.defineProperty(Navigator.prototype, 'globalPrivacyControl', "
                            "{get: () => true, configurable: true});")
    later = open_page(context, live)
    assert later.locator(f"{BANNER} .kluis-cookies__gpc").is_visible() and "marketing" not in ran(later)
    button(later, "choose").click()
    assert not later.locator(f"{BANNER} input[name=marketing]").is_checked()


def test_r_cons_4_accept_reject_and_choose_are_equally_easy(context, live):
    """R-CONS-4: the three buttons are the same element, style and size, side by side or stacked."""
    page = open_page(context, live)
    for width, height in ((1280, 800), (375, 740)):
        page.set_viewport_size({"width": width, "height": height})
        boxes = [button(page, a).bounding_box() for a in ("accept_all", "reject_all", "choose")]
        assert all(b is not None for b in boxes)
        assert max(b["width"] for b in boxes) - min(b["width"] for b in boxes) < 0.5, boxes
        assert max(b["height"] for b in boxes) - min(b["height"] for b in boxes) < 0.5, boxes
        if width > 600:
            assert len({round(b["y"]) for b in boxes}) == 1, "on one line, none first among unequals"
    looks = page.evaluate("""() => [...document.querySelectorAll('[data-kluis-action]')].map(b => {
        const s = getComputedStyle(b);
        return [b.tagName, b.className, s.backgroundColor, s.color, s.fontSize, s.fontWeight, s.borderWidth];
    })""")
    assert len(looks) == 3 and all(look == looks[0] for look in looks)


def test_r_cons_4_keyboard_reaches_the_banner_and_escape_is_not_consent(context, live):
    """R-CONS-4: the buttons are reachable by keyboard; Escape closes without consenting to anything."""
    page = open_page(context, live)
    page.locator(BANNER).focus()
    page.keyboard.press("Escape")
    page.wait_for_selector(BANNER, state="hidden")
    assert page.evaluate("document.activeElement.className") == "kluis-cookies-settings"
    assert live.receipts() == [] and cookie_names(context) == set() and ran(page) == {}
    page.keyboard.press("Enter")
    page.wait_for_selector(BANNER, state="visible")
    for _ in range(12):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.dataset.kluisAction") == "reject_all":
            break
    with page.expect_response(lambda r: r.url.endswith("/receipts")):
        page.keyboard.press("Enter")
    page.wait_for_selector(BANNER, state="hidden")
    assert [r.action for r in live.receipts()] == ["reject_all"]


def test_r_cons_4_withdrawal_is_as_easy_and_removes_the_cookies(context, live):
    """R-CONS-4: "cookie settings", then "reject all": the category's cookies go and its script stops."""
    page = open_page(context, live)
    decide(page, "accept_all")
    wait_for_analytics(page)
    page.locator("[data-kluis-open]").click()
    page.wait_for_selector(BANNER, state="visible")
    with page.expect_navigation():
        button(page, "reject_all").click()
    page.wait_for_selector(SETTINGS, state="visible")
    assert ran(page) == {}
    assert cookie_names(context) == {"kluis_consent"}
    assert [r.action for r in live.receipts()] == ["accept_all", "reject_all"]


def test_r_cons_4_banner_speaks_the_pages_language(context, live):
    """R-CONS-4: the page's <html lang> picks the policy's English texts."""
    page = open_page(context, live, "/cookies/demo?lang=en")
    assert page.locator(f"{BANNER} h2").inner_text() == "Cookies on this page"
    assert [button(page, a).inner_text() for a in ("accept_all", "reject_all", "choose")] == [
        "Accept all", "Reject all", "Choose"]
    button(page, "choose").click()
    assert "Analytics cookies" in page.locator(BANNER).inner_text()
    decide(page, "reject_all")
    assert live.receipts()[0].language == "en"


def shop_page(context: Any, live: Any, other_origin: Any, origins: list[str] | None = None) -> Any:
    """A page of another website that embeds the banner with its one tag; the site lists ``origins``."""
    origin = other_origin(
        f'<!doctype html><html lang="nl"><head><script src="{live.url}/cookies/banner.js" data-site="shop-test" '
        'defer></script></head><body><h1>Winkel</h1><script type="text/plain" data-kluis-category="analytics" '
        'data-kluis-cookies="demo_analytics">document.cookie = "demo_analytics=1; Path=/"; '
        'window.kluisDemo = {analytics: true};</script></body></html>')
    live.app.state.cookie_sites = configured_sites({"shop-test": [origin] if origins is None else origins})
    page = context.new_page()
    page.goto(f"{origin}/winkel/")
    page.wait_for_selector(BANNER, state="visible")
    return page


def test_r_cons_4_banner_works_embedded_on_a_declared_site(context, live, other_origin):
    """R-CONS-4: one tag on another origin: CORS lets the site's origin record a choice; inline scripts gate."""
    page = shop_page(context, live, other_origin)
    assert cookie_names(context) == set()
    decide(page, "accept_all")
    wait_for_analytics(page)
    [receipt] = live.receipts()
    assert (receipt.site, receipt.path) == ("shop-test", "/winkel")
    proof = page.evaluate("() => window.KluisCookies.receipts()")
    assert [r["id"] for r in proof["receipts"]] == [str(receipt.id)]
    [consent] = [c for c in context.cookies() if c["name"] == "kluis_consent"]
    assert consent["domain"] == "127.0.0.1" and consent["path"] == "/", "a first-party cookie of the site"


def test_r_cons_4_banner_on_an_undeclared_origin_stores_nothing(context, live, other_origin):
    """R-CONS-4: a page of an origin the site does not list cannot record a choice; nothing runs."""
    page = shop_page(context, live, other_origin, origins=["https://www.benvitaal.nl"])
    button(page, "accept_all").click()
    page.wait_for_selector(f"{BANNER} .kluis-cookies__error", state="visible")
    assert live.receipts() == [] and ran(page) == {} and cookie_names(context) == set()
