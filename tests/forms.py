"""A page's form token, read as a browser reads it, for tests that post the public forms (CSRF)."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

CSRF = re.compile(r'name="csrf" value="([^"]+)"')
REQUEST_PAGE = "/privacy-centre/request"


def token_in(page: str) -> str:
    """The token in a page's form; fails the test when the page has none."""
    found = CSRF.search(page)
    assert found, "the page has no form token"
    return found[1]


def form_token(client, path: str = REQUEST_PAGE) -> str:
    """Open ``path`` as a browser does (which sets the form cookie) and read its form token."""
    parts = urlsplit(path)  # a link from a mail names the site: the test client is that site
    return token_in(client.get(parts.path + (f"?{parts.query}" if parts.query else "")).text)


def filled(client, page: str, **data: object) -> dict[str, object]:
    """``data`` as the form on ``page`` sends it: with that page's token."""
    return {**data, "csrf": form_token(client, page)}
