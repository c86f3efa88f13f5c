"""The privacy centre's package pages (R-DSR-3, R-DSR-4): open the link from the mail, confirm with a fresh
e-mail code (there is no password for data subjects), then download the decrypted ZIP, streamed.

A forged, altered or unknown link gets the same 404 page as every other unknown link; an expired one gets
410 and says so (the file is gone). The download itself answers only to the code's grant: without it, a real
link gets that same 404 page, so it tells nobody the link exists. The code goes only to the address on file,
so another person's link is of no use to whoever holds it. Each download is audited. Both forms carry the
privacy centre's token against cross-site posts: without it, nothing is sent and no code is tried.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from sqlalchemy.orm import Session

from kluis.kit.errors import DomainError
from kluis.kit.i18n import N_, pgettext
from kluis.kit.i18n import gettext as _
from kluis.rights.models import AccessPackage
from kluis.rights.packages.service import PackageExpired, Packages, stream_package
from kluis.rights.rules import DOWNLOAD_GRANT_LIFETIME, grant_opens, short_reference
from kluis.rights.views import ACTOR, HEADERS, Lang, forged, not_found, page
from kluis.web.cookies import set_strict_cookie
from kluis.web.deps import KluisDep
from kluis.web.public import FORM_EXPIRED, Csrf, PublicRoute
from kluis.wiring import Kluis

router = APIRouter(prefix="/privacy-centre/packages", include_in_schema=False, route_class=PublicRoute)
GRANT_COOKIE = "kluis_package"
# What a refused form says (translated where shown: the page's language).
CODE_LIMIT = N_("You asked for three codes in the last hour already. Please try again later.")
CODE_REFUSED = N_("This code is not right, has expired or was tried too often. Ask for a new code if needed.")


def _expired(request: Request, lang: str) -> HTMLResponse:
    return page(request, lang, "package_expired", status=410)


@dataclass(frozen=True)
class Shown:
    """What the page shows of a package, taken while its session is open (a refused step rolls back)."""

    id: uuid.UUID
    request_id: uuid.UUID
    portability: bool
    expires_at: datetime | None
    person_id: uuid.UUID

    @classmethod
    def of(cls, package: AccessPackage) -> Shown:
        return cls(package.id, package.request_id, package.portability, package.expires_at, package.person_id)


@dataclass(frozen=True)
class Linked:
    """The package a link names, found in the caller's session, with what its page shows."""

    packages: Packages
    package: AccessPackage
    shown: Shown

    @classmethod
    def find(cls, session: Session, kluis: Kluis, token: str) -> Linked | None:
        packages = Packages(session, kluis, ACTOR)
        package = packages.by_token(token)
        return None if package is None else cls(packages, package, Shown.of(package))


def _show(request: Request, lang: str, token: str, package: Shown, *, status: int = 200,
          **context: object) -> HTMLResponse:
    return page(request, lang, "package", status=status, token=token, package=package,
                reference=short_reference(package.request_id), **context)


@router.get("/{token}")
def package_page(request: Request, kluis: KluisDep, token: str, lang: Lang = "nl") -> HTMLResponse:
    return _current(request, kluis, token, lang)


def _current(request: Request, kluis: Kluis, token: str, lang: str, *, status: int = 200,
             **context: object) -> HTMLResponse:
    """The package's page as it stands; only reads."""
    with kluis.db.sessions() as session:
        linked = Linked.find(session, kluis, token)
        if linked is None:
            return not_found(request, lang)
        try:
            linked.packages.check_open(linked.package)
        except PackageExpired:
            return _expired(request, lang)
    signed_in = grant_opens(kluis.keys.secret, request.cookies.get(GRANT_COOKIE), linked.shown.id,
                            kluis.clock.now())
    return _show(request, lang, token, linked.shown, status=status, signed_in=signed_in, **context)


def _refused(request: Request, kluis: Kluis, token: str, lang: str, **context: object) -> HTMLResponse:
    """R-DSR-1: a post without its form's token gets the page again, and nothing is sent or tried."""
    return _current(request, kluis, token, lang, status=403, error=_(FORM_EXPIRED), **context)


@router.post("/{token}/code")
def send_code(request: Request, kluis: KluisDep, token: str, csrf: Csrf = "", lang: Lang = "nl") -> HTMLResponse:
    if forged(request, kluis, csrf):
        return _refused(request, kluis, token, lang)
    linked: Linked | None = None
    try:
        with kluis.db.transaction() as session:
            linked = Linked.find(session, kluis, token)
            if linked is None:
                return not_found(request, lang)
            linked.packages.send_code(linked.package)
    except PackageExpired:
        return _expired(request, lang)
    except DomainError as exc:
        if linked is None:  # not the code's limit: the package could not be read
            raise
        return _show(request, lang, token, linked.shown, status=exc.status, error=_(CODE_LIMIT))
    return _show(request, lang, token, linked.shown, code_sent=True)


@router.post("/{token}/sign-in")
def sign_in(request: Request, kluis: KluisDep, token: str, code: Annotated[str, Form(max_length=12)],
            csrf: Csrf = "", lang: Lang = "nl") -> Response:
    if forged(request, kluis, csrf):
        return _refused(request, kluis, token, lang, code_sent=True)
    try:
        with kluis.db.transaction() as session:
            linked = Linked.find(session, kluis, token)
            if linked is None:
                return not_found(request, lang)
            grant = linked.packages.sign_in(linked.package, code)
    except PackageExpired:
        return _expired(request, lang)
    if grant is None:
        return _show(request, lang, token, linked.shown, status=422, code_sent=True, error=_(CODE_REFUSED))
    response = RedirectResponse(f"/privacy-centre/packages/{token}?lang={lang}", status_code=303)
    set_strict_cookie(response, kluis.settings, GRANT_COOKIE, grant,
                      max_age=int(DOWNLOAD_GRANT_LIFETIME.total_seconds()), path=f"/privacy-centre/packages/{token}")
    return response


@router.get("/{token}/download")
def download(request: Request, kluis: KluisDep, token: str, lang: Lang = "nl") -> Response:
    """Only for whoever entered the package's code: anyone else (no grant, another package's grant, an expired
    one) gets exactly the page of a link that never existed, so the answer tells nobody that the link is real."""
    try:
        with kluis.db.transaction() as session:
            packages = Packages(session, kluis, ACTOR)
            package = packages.by_grant(token, request.cookies.get(GRANT_COOKIE))
            if package is None:
                return not_found(request, lang)
            shown = Shown.of(package)
            prefix, key = packages.start_download(package, request.cookies.get(GRANT_COOKIE))
    except PackageExpired:
        return _expired(request, lang)
    except DomainError:
        return not_found(request, lang)
    kind = pgettext("file name", "portability") if shown.portability else pgettext("file name", "access")
    name = f"benvitaal-{kind}-{short_reference(shown.request_id).lower()}.zip"
    return StreamingResponse(stream_package(kluis, shown.person_id, shown.id, prefix, key),
                             media_type="application/zip",
                             headers={**HEADERS, "Content-Disposition": f'attachment; filename="{name}"'})
