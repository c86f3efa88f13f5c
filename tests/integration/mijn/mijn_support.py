"""Shared by the Mijn privacy tests: sign a browser in as a browser does (form token, code from the real mail)."""

from __future__ import annotations

import re

from tests.forms import form_token
from tests.integration.rights.rights_support import send_all

PAGE = "/mijn-privacy"


def ask_code(client, email, lang="nl"):
    return client.post(f"{PAGE}/sign-in?lang={lang}", data={"email": email, "csrf": form_token(client, PAGE)},
                       follow_redirects=False)


def code_in(message):
    return re.search(r"^\s+(\d{6})\s*$", message.text, re.M).group(1)


def enter_code(client, code, lang="nl"):
    return client.post(f"{PAGE}/code?lang={lang}", data={"code": code, "csrf": form_token(client, f"{PAGE}/code")},
                       follow_redirects=False)


def sign_in(client, kluis, catcher, email, lang="nl"):
    """Ask a code, read it from the mail the catcher received, enter it; the signed-in home page."""
    assert ask_code(client, email, lang).status_code == 303
    send_all(kluis)
    mine = [m for m in catcher.messages if m.to == (email,)]
    entered = enter_code(client, code_in(mine[-1]), lang)
    assert entered.status_code == 303, entered.text
    return client.get(f"{PAGE}?lang={lang}")


def session_token(page_text):
    """The signed-in page's form token (bound to the session)."""
    return re.search(r'name="csrf" value="([^"]+)"', page_text)[1]
