"""The HTTP application: wiring only. Each domain brings its own router."""

from __future__ import annotations

import logging
import os
import sys
from typing import Any

from fastapi import FastAPI
from fastapi.responses import RedirectResponse
from sqlalchemy import text
from uvicorn.config import STARTUP_FAILURE

import kluis.subscriptions  # noqa: F401 - installs who reacts to which domain event
from kluis import __version__, wiring
from kluis.audit import verifications
from kluis.audit import verify as audit_log
from kluis.breaches.api import router as breaches_router
from kluis.breaches.console import router as breaches_console
from kluis.changes.views import router as renewal_pages
from kluis.complaints.api import router as complaints_router
from kluis.complaints.console import router as complaints_console
from kluis.complaints.views import router as complaint_pages
from kluis.consent.api import router as consent_router
from kluis.consent.cookies.api import router as cookie_api_router
from kluis.consent.cookies.views import router as cookie_pages
from kluis.consent.marketing.api import router as marketing_router
from kluis.consent.marketing.views import router as marketing_pages
from kluis.disclosures.api import router as disclosures_router
from kluis.disclosures.console import router as notices_console
from kluis.erasure.console import router as erasure_console
from kluis.gate.api import router as gate_router
from kluis.gate.fastpath import DecisionsFastPath
from kluis.kit import heap, logs
from kluis.mail.views import router as mail_router
from kluis.mijn.views import router as mijn_pages
from kluis.orders.api import router as orders_router
from kluis.orders.console import router as orders_console
from kluis.policy.console import router as policy_console
from kluis.policy.views import router as policy_router
from kluis.processors.api import router as processors_router
from kluis.processors.console import router as processors_console
from kluis.retention.api import router as retention_router
from kluis.retention.console import router as holds_console
from kluis.rights.api import router as rights_router
from kluis.rights.console import router as rights_console
from kluis.rights.packages.views import router as package_pages
from kluis.rights.views import router as rights_pages
from kluis.staff.console import install as install_console
from kluis.vault.api import router as vault_router
from kluis.vault.console import router as employers_console
from kluis.vault.fastpath import RecordsFastPath
from kluis.web import apidocs, problems
from kluis.web.console import unexpected_page
from kluis.web.limits import BodyLimit
from kluis.web.unexpected import Unexpected
from kluis.wiring import Kluis

# Options every server Kluis starts gets (serve, its workers, the demo). uvicorn believes X-Forwarded-For from
# 127.0.0.1 by default and puts it in the request's client address, which would let anyone on this host, or
# behind a local proxy that passes the header on, pick the address the intake limits count (R-DSR-1). Kluis
# reads the header itself, from KLUIS_TRUSTED_PROXIES only (kluis.rights.intake.client_of).
log = logging.getLogger("kluis.serve")
SERVER_OPTIONS: dict[str, Any] = {"proxy_headers": False, "log_level": "warning"}


def create_app(kluis: Kluis) -> FastAPI:
    app = FastAPI(title="Kluis", version=__version__, docs_url=None, redoc_url=None,  # apidocs: offline
                  description="The privacy engine behind benVitaal's privacy statement. "
                              "Every call that reads or writes personal data names its purpose "
                              "in the `Kluis-Purpose` header.")
    app.state.kluis = kluis
    problems.install(app)
    problems.document(app)
    apidocs.install(app)
    app.include_router(policy_router)
    app.include_router(renewal_pages)
    app.include_router(vault_router)
    app.include_router(gate_router)
    app.include_router(consent_router)
    app.include_router(cookie_api_router)
    app.include_router(cookie_pages)
    app.include_router(marketing_router)
    app.include_router(marketing_pages)
    app.include_router(retention_router)
    app.include_router(processors_router)
    app.include_router(disclosures_router)
    app.include_router(breaches_router)
    app.include_router(orders_router)
    app.include_router(rights_router)
    app.include_router(rights_pages)
    app.include_router(package_pages)
    app.include_router(mijn_pages)
    app.include_router(rights_console)
    app.include_router(erasure_console)
    app.include_router(complaints_router)
    app.include_router(complaint_pages)
    app.include_router(complaints_console)
    app.include_router(holds_console)
    app.include_router(breaches_console)
    app.include_router(orders_console)
    app.include_router(policy_console)
    app.include_router(employers_console)
    app.include_router(notices_console)
    app.include_router(processors_console)
    app.include_router(mail_router)  # /demo/mail: answers only where the demo's mail catcher runs
    install_console(app)
    app.add_middleware(DecisionsFastPath, kluis=kluis)  # the decisions hot path (see its module)
    app.add_middleware(RecordsFastPath, kluis=kluis)  # the audited records read (see its module)
    app.add_middleware(BodyLimit, limit=kluis.settings.max_request_bytes)  # bounds every body
    app.add_middleware(Unexpected, pages={"/console": unexpected_page})  # outermost: no bare 500 anywhere

    @app.get("/", include_in_schema=False)
    def home() -> RedirectResponse:
        return RedirectResponse("/privacy", status_code=303)

    @app.get("/health", tags=["operations"])
    def health() -> dict[str, Any]:
        with kluis.db.sessions() as session:
            session.execute(text("SELECT 1"))
            sealing = audit_log.status(session, kluis.clock)
            verified = verifications.last(session, kluis.clock, kluis.settings)
        return {"status": "ok", "version": __version__, "database": kluis.db.dialect,
                "policy": kluis.policy.content_hash[:12], "audit_sealed_seq": sealing.sealed_seq,
                "audit_unsealed": sealing.unsealed, "audit_lag_seconds": round(sealing.lag_seconds, 1),
                "audit_verified_at": verified.at.isoformat() if verified else None,
                "audit_verified_seq": verified.through_seq if verified else None,
                "audit_verified_ok": verified.ok and verified.trusted is not False if verified else None,
                "audit_verified_stale": verified.stale if verified else True}

    return app



def from_settings() -> FastAPI:
    """The application of one server process of ``kluis serve --workers N``, wired from the environment.

    A start-up that raises is logged here, with its exception, and ends the process with uvicorn's start-up failure
    code: the supervisor then stops (``kluis.web.supervisor``) instead of restarting a process that would fail the
    same way, which uvicorn would otherwise do with the reason only on standard error."""
    logs.configure()  # a server process is started afresh (spawned), without the CLI's logging
    try:
        kluis = wiring.for_cli()
        kluis.register_policy()
        application = create_app(kluis)
    except Exception:
        log.exception("server process %d could not start", os.getpid())
        sys.exit(STARTUP_FAILURE)
    heap.settle()  # built for the process's lifetime: out of the collector's way (kluis.kit.heap)
    return application
