"""The API's documentation pages, /docs (Swagger UI) and /redoc (ReDoc), served without the internet.

FastAPI's own pages load Swagger UI and ReDoc from a CDN: offline, or behind a firewall, /docs is a blank page.
Here the same pages load the files that the installed ``fastapi-offline`` package ships (ADR 0012), from
this server. The pages' security policy lets them reach this server only, so nothing is fetched elsewhere (ReDoc's
footer shows its maker's logo from their CDN: the browser blocks it).
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.staticfiles import StaticFiles
from starlette.responses import HTMLResponse

ASSETS = "/docs-assets"
# Swagger UI and ReDoc start from an inline script and inline styles, and ReDoc renders in a worker from a blob.
HEADERS = {"Content-Security-Policy": "default-src 'self'; script-src 'self' 'unsafe-inline'; "
                                      "style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
                                      "worker-src 'self' blob:; base-uri 'none'; frame-ancestors 'none'",
           "X-Content-Type-Options": "nosniff"}


def _assets_dir() -> Path:
    return Path(str(files("fastapi_offline") / "static"))


def install(app: FastAPI) -> None:
    """/docs and /redoc on ``app`` (made with ``docs_url=None, redoc_url=None``), with their files."""
    app.mount(ASSETS, StaticFiles(directory=_assets_dir()), name="docs-assets")
    openapi_url = app.openapi_url or "/openapi.json"

    @app.get("/docs", include_in_schema=False)
    def swagger_ui() -> HTMLResponse:
        page = get_swagger_ui_html(
            openapi_url=openapi_url, title=f"{app.title} - Swagger UI",
            swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js", swagger_css_url=f"{ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS}/favicon.png",
            # No validator badge: it would send the API's description to an online validator.
            swagger_ui_parameters={"validatorUrl": None})
        page.headers.update(HEADERS)
        return page

    @app.get("/redoc", include_in_schema=False)
    def redoc() -> HTMLResponse:
        page = get_redoc_html(openapi_url=openapi_url, title=f"{app.title} - ReDoc",
                              redoc_js_url=f"{ASSETS}/redoc.standalone.js",
                              redoc_favicon_url=f"{ASSETS}/favicon.png", with_google_fonts=False)
        page.headers.update(HEADERS)
        return page
