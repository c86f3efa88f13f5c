"""Staff console pages for erasure jobs (R-DSR-6): what each job did, what it waits for, a retry,
and the certificate as JSON and PDF (no personal data in either, so auditors may fetch them too)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from kluis.erasure import certificate
from kluis.erasure import service as erasure
from kluis.erasure.rules import JobState
from kluis.kit.errors import Conflict, NotAllowed, NotFound
from kluis.kit.i18n import gettext as _
from kluis.staff.rules import Permission
from kluis.staff.service import SignedIn
from kluis.web import console
from kluis.web.deps import kluis_of

router = APIRouter(prefix="/console/erasure", route_class=console.ConsoleRoute, include_in_schema=False)


def _job_id(text: str) -> uuid.UUID:
    return console.uuid_of(text, "erasure job", code="erasure_job_not_found")


def _may_read(request: Request, session: Session) -> SignedIn:
    try:
        return console.require(request, session, Permission.REQUESTS_RECORD)
    except NotAllowed:
        return console.require(request, session, Permission.AUDIT_READ)


@router.get("")
def list_jobs(request: Request, request_id: Annotated[str | None, Query(alias="request")] = None) -> Response:
    kluis = kluis_of(request)
    with kluis.db.sessions() as session:
        staff = console.require(request, session, Permission.REQUESTS_RECORD)
        items = erasure.jobs(session, request_id=_job_id(request_id) if request_id else None)
    return console.page(request, "erasure/console_list.html", _("Erasure jobs"), staff, active="erasure", items=items)


@router.get("/{job_id}")
def detail(request: Request, job_id: str) -> Response:
    kluis = kluis_of(request)
    with kluis.db.sessions() as session:
        staff = console.require(request, session, Permission.REQUESTS_RECORD)
        job = erasure.job_of(session, _job_id(job_id))
    return console.page(request, "erasure/console_job.html", _("Erasure job"), staff, job=job,
                        vault=job.result.get("vault", {}), datasets=job.result.get("datasets", {}),
                        retryable=job.state in (JobState.WAITING, JobState.QUEUED))


@router.post("/{job_id}/retry")
def retry(request: Request, job_id: str, csrf: console.Csrf) -> Response:
    """Run a waiting job now (after a dataset came back, say) instead of at its next attempt."""
    kluis = kluis_of(request)
    with kluis.db.sessions() as session:
        staff = console.require_form(request, session, Permission.REQUESTS_RECORD, csrf)
        job = erasure.job_of(session, _job_id(job_id))
        if job.state not in (JobState.WAITING, JobState.QUEUED):
            raise Conflict(_("Only a queued or waiting job can be run from here."), code="erasure_job_not_waiting")
    erasure.Runner(kluis, staff.actor).run(job.id)
    return RedirectResponse(f"/console/erasure/{job.id}", status_code=303)


@router.get("/{job_id}/certificate.{kind}")
def download(request: Request, job_id: str, kind: str) -> Response:
    kluis = kluis_of(request)
    with kluis.db.sessions() as session:
        _may_read(request, session)
        job = erasure.job_of(session, _job_id(job_id))
        if job.certificate is None:
            raise NotFound(_("This job has no certificate yet."), code="certificate_not_ready")
        text = job.certificate
    name = f"erasure-{job.id}"
    if kind == "json":
        return Response(text, media_type="application/json",
                        headers={"Content-Disposition": f'attachment; filename="{name}.json"'})
    if kind == "pdf":
        return Response(certificate.render_pdf(text), media_type="application/pdf",
                        headers={"Content-Disposition": f'attachment; filename="{name}.pdf"'})
    raise NotFound(_("No such file."), code="not_found")
