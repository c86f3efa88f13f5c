"""/docs and /redoc work offline (issue 19 §4): their pages load Swagger UI and ReDoc from this server only."""

from __future__ import annotations

import re

import pytest

ATTRIBUTE = re.compile(r"""\b(?:src|href)\s*=\s*["']([^"']+)["']""")
ASSET_TYPES = {".js": "javascript", ".css": "text/css", ".png": "image/png"}


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
def test_issue_19_4_api_docs_reference_only_local_files_and_they_answer(client, path):
    page = client.get(path)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    urls = ATTRIBUTE.findall(page.text)
    assert urls, "the page loads its script and style"
    for url in urls:
        assert url.startswith("/") and not url.startswith("//"), f"{url} is not on this server"
    assert "http://" not in page.text and "https://" not in page.text, "no address elsewhere, not even in script"
    assert "default-src 'self'" in page.headers["content-security-policy"], "the browser may reach this server only"
    for url in urls:
        asset = client.get(url)
        assert asset.status_code == 200, url
        expected = next(kind for suffix, kind in ASSET_TYPES.items() if url.endswith(suffix))
        assert expected in asset.headers["content-type"], url
    scripts = [u for u in urls if u.endswith(".js")]
    assert scripts and all(len(client.get(u).content) > 500_000 for u in scripts), "the real bundles, not stubs"


def test_issue_19_4_swagger_ui_sends_nothing_to_an_online_validator(client):
    page = client.get("/docs").text
    assert '"validatorUrl": null' in page
    assert '"url": "/openapi.json"' in page or "url: '/openapi.json'" in page
    assert client.get("/openapi.json").json()["info"]["title"] == "Kluis"
