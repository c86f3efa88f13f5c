"""R-CONS-4: Kluis serves the banner script, its stylesheet and a demo page; a new revision reaches browsers."""

from __future__ import annotations

import json
import re

from kluis.consent.cookies.rules import banner_for
from kluis.policy.schemas import Text

CONFIG = re.compile(r"const CONFIG = (\{.*?\});\n")


def _config(script: str) -> dict:
    found = CONFIG.search(script)
    assert found, "the script carries its configuration"
    return json.loads(found.group(1))


def test_r_cons_4_banner_script_carries_revision_categories_and_texts(client, kluis):
    """R-CONS-4: one script, with the policy's categories (NL and EN) and the current revision inside."""
    response = client.get("/cookies/banner.js")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/javascript")
    assert response.headers["cross-origin-resource-policy"] == "cross-origin"
    config = _config(response.text)
    assert config["revision"] == banner_for(kluis.policy).revision
    assert [(c["id"], c["required"], c["gpc_refused"]) for c in config["categories"]] == [
        ("necessary", True, False), ("analytics", False, False), ("marketing", False, True)]
    assert config["categories"][1]["name"] == {"nl": "Analytische cookies", "en": "Analytics cookies"}
    assert config["texts"]["accept_all"]["en"] == "Accept all"
    assert config["cookie"]["name"] == "kluis_consent"


def test_r_cons_4_script_is_revalidated_and_changes_with_the_revision(client, kluis):
    """R-CONS-4: browsers revalidate the script (ETag), so a changed policy asks again at once."""
    first = client.get("/cookies/banner.js")
    assert first.headers["cache-control"] == "no-cache"
    again = client.get("/cookies/banner.js", headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304
    marketing = kluis.policy.cookie_categories[2]
    changed = marketing.model_copy(update={"description": Text(nl="Nieuwe uitleg.", en="New explanation.")})
    kluis.policy = kluis.policy.model_copy(update={"cookie_categories": [*kluis.policy.cookie_categories[:2],
                                                                         changed]})
    after = client.get("/cookies/banner.js", headers={"If-None-Match": first.headers["etag"]})
    assert after.status_code == 200
    assert _config(after.text)["revision"] != _config(first.text)["revision"]


def test_r_cons_4_stylesheet_is_cached_by_its_fingerprint(client):
    """R-CONS-4: the stylesheet the script links to is immutable under its fingerprint."""
    version = _config(client.get("/cookies/banner.js").text)["css"]
    css = client.get(f"/cookies/banner.css?v={version}")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert "immutable" in css.headers["cache-control"]
    assert ".kluis-cookies__button" in css.text
    assert client.get("/cookies/banner.css").headers["cache-control"] == "no-cache"


def test_r_cons_4_demo_pages_embed_the_banner_and_set_no_cookie(client):
    """R-CONS-4: the demo pages set no cookie themselves; their scripts wait for consent."""
    for url, lang in (("/cookies/demo", "nl"), ("/cookies/demo/other?lang=en", "en")):
        page = client.get(url)
        assert page.status_code == 200
        assert "set-cookie" not in page.headers
        assert f'<html lang="{lang}">' in page.text
        assert '<script src="/cookies/banner.js" data-site="kluis-demo" defer></script>' in page.text
        assert 'type="text/plain" data-kluis-category="analytics"' in page.text
        assert 'type="text/plain" data-kluis-category="marketing"' in page.text
        assert "script-src" not in page.headers["content-security-policy"]
        assert "default-src 'self'" in page.headers["content-security-policy"]
    analytics = client.get("/cookies/demo/analytics.js")
    assert analytics.status_code == 200 and "demo_analytics=1" in analytics.text
    assert "demo_marketing=1" in client.get("/cookies/demo/marketing.js").text
    assert client.get("/cookies/demo/tracker.js").status_code == 404
