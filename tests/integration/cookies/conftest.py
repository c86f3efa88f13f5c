"""Fixtures for the cookie consent API tests (R-CONS-4): a valid choice to vary, and counters."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import func, select

from kluis.audit.models import AuditEvent
from kluis.consent.cookies.models import CookieReceipt
from kluis.consent.cookies.rules import banner_for
from kluis.wiring import Kluis

VISITOR = "Vq3x9Lr0aB7cD8eF1gH2iJ"
ORIGIN = "https://www.benvitaal.nl"
RECEIPTS = "/cookies/api/sites/benvitaal-nl/receipts"


@pytest.fixture
def choice(kluis: Kluis) -> Callable[..., dict[str, Any]]:
    """A choice as the banner script sends it; keyword arguments replace fields."""
    revision = banner_for(kluis.policy).revision

    def make(**changes: Any) -> dict[str, Any]:
        body: dict[str, Any] = {"visitor": VISITOR, "path": "/diensten/benmobiel", "scope": "page",
                                "action": "choose", "categories": {"necessary": True, "analytics": True,
                                                                   "marketing": False},
                                "revision": revision, "language": "nl", "gpc": False}
        body.update(changes)
        return {k: v for k, v in body.items() if v is not ...}

    return make


@pytest.fixture
def stored(kluis: Kluis) -> Callable[[], tuple[int, int]]:
    """(receipts, audit events) now in the database."""

    def count() -> tuple[int, int]:
        with kluis.db.sessions() as session:
            return (session.scalar(select(func.count()).select_from(CookieReceipt)) or 0,
                    session.scalar(select(func.count()).select_from(AuditEvent)) or 0)

    return count
