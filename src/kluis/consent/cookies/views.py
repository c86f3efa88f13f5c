"""What browsers load: the banner script and stylesheet for benVitaal's sites, and a demo page (R-CONS-4)."""

from __future__ import annotations

import hashlib
import json
from functools import cache
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.exceptions import HTTPException

from kluis.consent.cookies.rules import (
    CHOICE_MAX_AGE_SECONDS,
    COOKIE_NAME,
    DEMO_SITE,
    MAX_PAGES_IN_COOKIE,
    Banner,
    banner_for,
)
from kluis.kit import i18n
from kluis.policy.schemas import LANGS
from kluis.web import problems
from kluis.web.deps import kluis_of
from kluis.web.public import templates

PACKAGE = Path(__file__).resolve().parents[2]
STATIC = PACKAGE / "static" / "cookies"
TEMPLATES = PACKAGE / "templates"
CONFIG_SLOT = "/*KLUIS_CONFIG*/ null"
DEMO_SCRIPTS = {"analytics": "cookies/demo-analytics.js", "marketing": "cookies/demo-marketing.js"}
EMBEDDABLE = {"Cross-Origin-Resource-Policy": "cross-origin", "X-Content-Type-Options": "nosniff"}
DEMO_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}

router = APIRouter(tags=["cookies"])


@cache
def _asset(name: str) -> str:
    return (STATIC / name).read_text(encoding="utf-8")


@cache
def _fingerprint(name: str) -> str:
    return hashlib.sha256(_asset(name).encode("utf-8")).hexdigest()[:12]


def script_config(banner: Banner) -> dict[str, Any]:
    """What the script needs to decide without a round trip: the revision, categories and texts."""
    return {"revision": banner.revision, "categories": banner.content["categories"],
            "texts": banner.content["texts"], "css": _fingerprint("banner.css"),
            "cookie": {"name": COOKIE_NAME, "max_age": CHOICE_MAX_AGE_SECONDS, "max_pages": MAX_PAGES_IN_COOKIE}}


@router.get("/cookies/banner.js", summary="The cookie banner script to embed on a site", response_class=Response,
            responses=problems.body_of("text/javascript", "The script, with this site's banner in it"))
def banner_script(request: Request) -> Response:
    """Revalidated on every use (ETag), so that a new banner revision asks again at once."""
    banner = banner_for(kluis_of(request).policy)
    etag = f'"{banner.revision}-{_fingerprint("banner.js")}"'
    headers = EMBEDDABLE | {"ETag": etag, "Cache-Control": "no-cache"}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    config = json.dumps(script_config(banner), ensure_ascii=True, separators=(",", ":"))
    body = _asset("banner.js").replace(CONFIG_SLOT, config, 1)
    return Response(body, media_type="text/javascript; charset=utf-8", headers=headers)


@router.get("/cookies/banner.css", summary="The cookie banner stylesheet", response_class=Response,
            responses=problems.body_of("text/css", "The stylesheet"))
def banner_stylesheet(request: Request) -> Response:
    version = _fingerprint("banner.css")
    cached = request.query_params.get("v") == version
    headers = EMBEDDABLE | {"ETag": f'"{version}"',
                            "Cache-Control": "public, max-age=31536000, immutable" if cached else "no-cache"}
    if request.headers.get("if-none-match") == headers["ETag"]:
        return Response(status_code=304, headers=headers)
    return Response(_asset("banner.css"), media_type="text/css; charset=utf-8", headers=headers)


@router.get("/cookies/demo", include_in_schema=False)
def demo(request: Request, lang: str = "nl") -> Response:
    return _demo(request, lang, "demo")


@router.get("/cookies/demo/other", include_in_schema=False)
def demo_other(request: Request, lang: str = "nl") -> Response:
    return _demo(request, lang, "other")


@router.get("/cookies/demo/{category}.js", include_in_schema=False)
def demo_script(category: str) -> Response:
    """Stand-ins for a site's analytics and marketing scripts: each sets a cookie when it runs."""
    template = DEMO_SCRIPTS.get(category)
    if template is None:
        raise HTTPException(404, "no such demo script")
    return Response((TEMPLATES / template).read_text(encoding="utf-8"), media_type="text/javascript; charset=utf-8",
                    headers={"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"})


def _demo(request: Request, requested: str, page: str) -> Response:
    with i18n.speaking(requested if requested in LANGS else "nl") as lang:
        context = {"lang": lang, "page": page, "site": DEMO_SITE}
        return templates.TemplateResponse(request, "cookies/demo.html", context, headers=DEMO_HEADERS)
