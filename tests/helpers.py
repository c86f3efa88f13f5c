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


def sealed_log(kluis: Kluis):  # -> kluis.audit.verify.Verification
    """Seal what is committed, then verify the whole audit log with the configured key (R-GOV-1)."""
    from kluis.audit import sealer
    from kluis.audit import verify as audit_log
    from kluis.audit.keys import audit_key

    key = audit_key(kluis.settings.audit_key)
    sealer.seal_all(kluis.db, key, kluis.clock)
    with kluis.db.sessions() as session:
        return audit_log.verify(session, key)
