"""Browser tests (R-CONS-4): Debian's chromium driven by Playwright against a real Kluis server.

No browser is ever downloaded (never ``playwright install``): ``scripts/install-test-tools.sh`` installs
Debian's ``chromium``. Without it these tests skip locally and fail in CI (``CI`` set), so that a
missing browser cannot pass unnoticed.
"""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI
from sqlalchemy import select

from kluis.app import create_app
from kluis.consent.cookies.models import CookieReceipt
from kluis.wiring import Kluis

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
START_SECONDS = 15.0


def _unavailable(reason: str) -> None:
    if os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no"):
        pytest.fail(f"{reason}: in CI the browser tests must run (scripts/install-test-tools.sh installs it)",
                    pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        _unavailable(f"{CHROMIUM} is missing (Debian package 'chromium')")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the Python package 'playwright' is not installed")
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@dataclass
class LiveKluis:
    url: str
    kluis: Kluis
    app: FastAPI

    def receipts(self) -> list[CookieReceipt]:
        with self.kluis.db.sessions() as session:
            return list(session.execute(select(CookieReceipt).order_by(CookieReceipt.given_at)).scalars())


@pytest.fixture
def live(kluis: Kluis) -> Iterator[LiveKluis]:
    """Kluis served by uvicorn on a free loopback port, in a thread of this process."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    app = create_app(kluis)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    waited = 0.0
    while not server.started:
        if not thread.is_alive() or waited > START_SECONDS:
            pytest.fail("the test server did not start")
        thread.join(0.05)
        waited += 0.05
    try:
        yield LiveKluis(url=f"http://127.0.0.1:{port}", kluis=kluis, app=app)
    finally:
        server.should_exit = True
        thread.join(START_SECONDS)
        listener.close()


@pytest.fixture
def gpc_context(browser: Any) -> Iterator[Any]:
    """A browser that sends Global Privacy Control: the Sec-GPC header and navigator.globalPrivacyControl."""
    ctx = browser.new_context(viewport={"width": 1280, "height": 800}, extra_http_headers={"Sec-GPC": "1"})
    ctx.add_init_script("Object.defineProperty(Navigator.prototype, 'globalPrivacyControl', "
                        "{get: () => true, configurable: true});")
    yield from watched(ctx)


@pytest.fixture
def context(browser: Any) -> Iterator[Any]:
    """A fresh browser profile (no cookies, no cache) in which no page may throw a script error."""
    ctx = browser.new_context(viewport={"width": 1280, "height": 800})
    yield from watched(ctx)


def watched(ctx: Any) -> Iterator[Any]:
    errors: list[str] = []
    ctx.on("weberror", lambda error: errors.append(str(error.error)))
    try:
        yield ctx
    finally:
        ctx.close()
    assert errors == [], f"script errors in the page: {errors}"


@pytest.fixture
def other_origin() -> Iterator[Callable[[str], str]]:
    """Another website on loopback (another port: another origin) serving one page; returns its origin."""
    servers: list[ThreadingHTTPServer] = []

    def serve(html: str) -> str:
        body = html.encode("utf-8")

        class Page(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Page)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield serve
    for server in servers:
        server.shutdown()
        server.server_close()
