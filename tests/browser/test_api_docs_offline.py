"""/docs and /redoc render in a real browser that may reach nothing but this server (issue 19 §4)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

# ReDoc reads the whole OpenAPI document before it shows anything: on this shared 2-core machine under load that
# took 24 s. The waits end as soon as the page shows the API.
RENDER_MS = 120_000


def offline_page(context: Any, live: Any) -> tuple[Any, list[str]]:
    """A page whose requests to anywhere but the Kluis under test are refused, and the list of those tried."""
    elsewhere: list[str] = []
    ours = urlsplit(live.url).netloc

    def route(request_route: Any) -> None:
        url = request_route.request.url
        if urlsplit(url).netloc == ours or url.startswith(("data:", "blob:")):
            request_route.continue_()
        else:
            elsewhere.append(url)
            request_route.abort()

    context.route("**/*", route)
    return context.new_page(), elsewhere


def test_issue_19_4_swagger_ui_renders_the_api_offline(context, live):
    page, elsewhere = offline_page(context, live)
    page.goto(live.url + "/docs")
    page.wait_for_selector(".opblock", timeout=RENDER_MS)
    assert page.locator(".opblock").count() > 20, "every operation of the API is listed"
    assert "Kluis" in page.locator(".info .title").inner_text()
    assert elsewhere == []


def test_issue_19_4_redoc_renders_the_api_offline(context, live):
    page, elsewhere = offline_page(context, live)
    page.goto(live.url + "/redoc")
    page.wait_for_selector(".api-info h1, [role=navigation] label", timeout=RENDER_MS)
    assert "Kluis" in page.locator("h1").first.inner_text()
    assert elsewhere == []
