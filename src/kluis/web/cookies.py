"""The cookies Kluis sets: HttpOnly (no script reads it), SameSite=Strict (no other site's page sends it) and, where
the deployment says so, Secure; each on the narrowest path that needs it. A preference that grants nothing (the
console's language) is SameSite=Lax, so a link from elsewhere opens the console in the chosen language."""

from __future__ import annotations

from datetime import datetime

from fastapi.responses import Response

from kluis.config import Settings


def set_strict_cookie(response: Response, settings: Settings, name: str, value: str, *, max_age: int, path: str,
                      expires: datetime | None = None) -> None:
    response.set_cookie(name, value, max_age=max_age, expires=expires, path=path, httponly=True,
                        samesite="strict", secure=settings.cookie_secure)


def delete_strict_cookie(response: Response, settings: Settings, name: str, path: str) -> None:
    response.delete_cookie(name, path=path, httponly=True, samesite="strict", secure=settings.cookie_secure)


def set_preference_cookie(response: Response, settings: Settings, name: str, value: str, *, max_age: int,
                          path: str) -> None:
    response.set_cookie(name, value, max_age=max_age, path=path, httponly=True, samesite="lax",
                        secure=settings.cookie_secure)
