"""Staff console page for Art. 19 notices (R-DSR-5, R-DSR-6, R-SHR-1): the notices to recipients and processors
that have no contact in the register, for staff to give another way and mark told, and the register's parties that
lack a contact. Support staff see it; the DPO marks a notice told."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from kluis.disclosures import notices
from kluis.kit.i18n import gettext as _
from kluis.staff.rules import Permission
from kluis.web import console
from kluis.web.deps import kluis_of

router = APIRouter(prefix="/console/notices", route_class=console.ConsoleRoute, include_in_schema=False)


@router.get("")
def list_page(request: Request) -> Response:
    kluis = kluis_of(request)
    with kluis.db.sessions() as session:
        staff = console.require(request, session, Permission.REQUESTS_RECORD)
        items = notices.untold(session)
    return console.page(request, "disclosures/console_notices.html", _("Art. 19 notices"), staff, active="notices",
                        items=items,
                        missing=notices.missing_contacts(kluis.policy), reference=notices.notice_reference,
                        may_manage=staff.may(Permission.EMPLOYERS_MANAGE))


@router.post("/{notice_id}/told")
def mark_told(request: Request, notice_id: str, csrf: console.Csrf) -> Response:
    kluis = kluis_of(request)
    with kluis.db.transaction() as session:
        staff = console.require_form(request, session, Permission.EMPLOYERS_MANAGE, csrf)
        notices.mark_told(session, kluis.clock, staff.actor, console.uuid_of(notice_id, "notice"))
    return RedirectResponse("/console/notices", status_code=303)
