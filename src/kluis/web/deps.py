from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request

from kluis.access.service import Caller, authenticate, bearer_token
from kluis.rights.intake import client_of
from kluis.wiring import Kluis

PURPOSE_HEADER = "Kluis-Purpose"


def kluis_of(request: Request) -> Kluis:
    return request.app.state.kluis


def client_address(request: Request) -> str:
    """Who a public submit counts against: the peer's address, or what a trusted proxy says it forwarded for."""
    return client_of(request.client.host if request.client else None, request.headers.get("x-forwarded-for"),
                     kluis_of(request).settings.trusted_proxies)


def caller(request: Request, authorization: Annotated[str | None, Header()] = None) -> Caller:
    with kluis_of(request).db.sessions() as session:
        return authenticate(session, bearer_token(authorization))


def purpose(kluis_purpose: Annotated[str | None, Header(alias=PURPOSE_HEADER)] = None) -> str | None:
    return kluis_purpose


KluisDep = Annotated[Kluis, Depends(kluis_of)]
CallerDep = Annotated[Caller, Depends(caller)]
PurposeDep = Annotated[str | None, Depends(purpose)]
AuthorizationDep = Annotated[str | None, Header(alias="Authorization")]
