"""``GET /demo/mail``: what the demo's mail catcher received. Only where a catcher runs (the demo)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException

if TYPE_CHECKING:  # the catcher (aiosmtpd) is loaded by the demo only
    from kluis.mail.catcher import MailCatcher

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=TEMPLATES)


@router.get("/demo/mail", response_class=HTMLResponse)
def demo_mail(request: Request) -> Response:
    catcher: MailCatcher | None = getattr(request.app.state, "mail_catcher", None)
    if catcher is None:
        raise HTTPException(404, "there is no mail catcher: this page exists in the demo only")
    response = templates.TemplateResponse(request, "mail/_demo_inbox.html",
                                          {"messages": list(reversed(catcher.messages)), "catcher": catcher})
    # The HTML parts are shown in sandboxed frames without scripts; nothing on this page loads from elsewhere.
    response.headers["Content-Security-Policy"] = ("default-src 'none'; style-src 'unsafe-inline'; "
                                                   "img-src 'self' data:; frame-ancestors 'none'")
    response.headers["Cache-Control"] = "no-store"
    return response
