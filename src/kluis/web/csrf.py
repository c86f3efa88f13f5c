"""Form tokens against cross-site request forgery, made and checked one way for every form.

A token is an HMAC of the form's purpose and what it is bound to: a console session (so a token from another
session, or from a page someone kept, is useless), or, for a form shown before anyone signs in, a random nonce
in a SameSite=Strict cookie (``CookieBound``): a page elsewhere can neither read the token nor send the cookie.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass

from fastapi import Request
from fastapi.responses import Response

from kluis.config import Settings
from kluis.kit.ids import token as random_token
from kluis.web.cookies import set_strict_cookie

NONCE = re.compile(r"^[A-Za-z0-9_-]{32,64}$")


def form_token(secret: bytes, purpose: str, bound_to: str) -> str:
    """The token a form carries: ``purpose`` keeps one form's token from passing as another's."""
    return hmac.new(secret, f"kluis/{purpose}|{bound_to}".encode(), hashlib.sha256).hexdigest()


def token_valid(secret: bytes, purpose: str, bound_to: str, given: str) -> bool:
    """Whether ``given`` is the form's token, compared in constant time (any text, however odd, is just wrong)."""
    return hmac.compare_digest(form_token(secret, purpose, bound_to).encode(), given.encode())


@dataclass(frozen=True)
class CookieBound:
    """The token of a form shown before anyone signs in, bound to a nonce in the cookie ``cookie`` on ``path``."""

    purpose: str
    cookie: str
    path: str
    max_age: int = 3600

    def nonce(self, request: Request) -> str | None:
        """The nonce the browser sent back, if it has the shape of one we made."""
        found = request.cookies.get(self.cookie, "")
        return found if NONCE.match(found) else None

    def kept_nonce(self, request: Request) -> str:
        """The browser's nonce, or a new one: a page opened in a second tab leaves the first tab's form good."""
        return self.nonce(request) or new_nonce()

    def issue(self, response: Response, settings: Settings, nonce: str) -> None:
        """Give the browser the nonce the page's token (``token``) is bound to."""
        set_strict_cookie(response, settings, self.cookie, nonce, max_age=self.max_age, path=self.path)

    def token(self, secret: bytes, nonce: str) -> str:
        return form_token(secret, self.purpose, nonce)

    def valid(self, request: Request, secret: bytes, given: str) -> bool:
        nonce = self.nonce(request)
        return nonce is not None and token_valid(secret, self.purpose, nonce, given)


def new_nonce() -> str:
    return random_token(32)
