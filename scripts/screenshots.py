"""The README's screenshots, taken from a running demo: the privacy centre, the console's person page and its
dashboard, in English, written to docs/img/.

    .venv/bin/python scripts/screenshots.py

It starts `kluis demo` in a scratch directory on a free port (its own database, keys and mail catcher), signs in
to the console with the demo's DPO login, finds the demo person through the API with the demo's key, and drives
Debian's chromium with Playwright the way the browser tests do (needs the test extras and
`bash scripts/install-test-tools.sh`; no browser is downloaded). The demo is stopped when the pictures are taken.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import pyotp
from playwright.sync_api import Page, sync_playwright

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "img"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
VIEWPORT = {"width": 1280, "height": 900}
UP_SECONDS = 300  # the demo seeds its people before it serves; on a busy machine that takes a while
SUBJECTS = "300"  # enough people for the console's counts; the pictures show the demo person


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_demo(workdir: Path, port: int) -> tuple[subprocess.Popen[str], dict[str, str]]:
    """`kluis demo` on ``port``, and the lines of its closing list (label -> value) once it serves."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KLUIS_")}
    env |= {"KLUIS_SMTP_PORT": str(free_port()), "PYTHONUNBUFFERED": "1", "COLUMNS": "250"}
    demo = subprocess.Popen([sys.executable, "-m", "kluis", "demo", "--subjects", SUBJECTS, "--port", str(port)],  # noqa: S603
                            cwd=workdir, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    said: list[str] = []
    assert demo.stdout is not None
    threading.Thread(target=lambda: said.extend(demo.stdout or []), daemon=True).start()
    deadline = time.monotonic() + UP_SECONDS
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5) as answer:  # noqa: S310
                if answer.status == 200:
                    break
        except OSError:
            pass
        if demo.poll() is not None or time.monotonic() > deadline:
            stop(demo)
            sys.exit("the demo did not start:\n" + "".join(said))
        time.sleep(0.2)
    lines = {m[1]: m[2] for m in re.finditer(r"^  (\S.*?\S)\s{2,}(\S.*)$", "".join(said), re.M)}
    return demo, lines


def stop(demo: subprocess.Popen[str]) -> None:
    if demo.poll() is None:
        os.killpg(demo.pid, signal.SIGTERM)
        demo.wait(timeout=30)


def person_id(base: str, api_key: str, email: str) -> str:
    """The demo person's id, looked up through the API like any service would (purpose: support)."""
    body = json.dumps({"identifier": {"kind": "email", "value": email}}).encode()
    request = urllib.request.Request(f"{base}/api/v1/people/lookup", data=body, method="POST", headers={  # noqa: S310
        "Authorization": f"Bearer {api_key}", "Kluis-Purpose": "support", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310 - the local demo
        return str(json.load(answer)["id"])


def sign_in(page: Page, base: str, login: str, totp_secret: str) -> None:
    email, password = login.split(" / ", 1)
    page.goto(f"{base}/console/language/en?next=/console/login")
    page.fill("#email", email)
    page.fill("#password", password.split()[0])
    page.fill("#code", pyotp.TOTP(totp_secret).now())
    page.click("form[action='/console/login'] [type=submit]")
    page.wait_for_url(f"{base}/console")


def shoot(page: Page, url: str, name: str) -> None:
    page.goto(url)
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(OUT / name), full_page=False)
    print(f"wrote {(OUT / name).relative_to(ROOT)}")


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory(prefix="kluis-screenshots-") as workdir:
        demo, lines = start_demo(Path(workdir), port)
        try:
            api_key = lines["API key"].split()[0]
            person = person_id(base, api_key, lines["try it as"].split()[0])
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                page = browser.new_page(viewport=VIEWPORT)
                shoot(page, f"{base}/privacy-centre/request?lang=en", "privacy-centre.png")
                sign_in(page, base, lines["console login"], lines["console TOTP"].split()[0])
                shoot(page, f"{base}/console/people/{person}", "console-person.png")
                shoot(page, f"{base}/console", "console-dashboard.png")
                browser.close()
        finally:
            stop(demo)


if __name__ == "__main__":
    main()
