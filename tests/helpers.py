"""Small helpers shared by integration tests."""

from __future__ import annotations

from kluis.access.service import create_key
from kluis.wiring import Kluis


def api_key(kluis: Kluis, purposes: list[str], service: str = "benmobiel") -> dict[str, str]:
    with kluis.db.transaction() as session:
        _, token = create_key(session, kluis.clock, kluis.policy, service=service, purposes=purposes, actor="test")
    return {"Authorization": f"Bearer {token}"}


def headers(auth: dict[str, str], purpose: str) -> dict[str, str]:
    return auth | {"Kluis-Purpose": purpose}
