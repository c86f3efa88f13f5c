"""`kluis demo` says where to start, and the links in its mail point at the port it serves on (issue 19 §4)."""

from __future__ import annotations

import contextlib
import http.client
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest
from typer.testing import CliRunner

from kluis import wiring
from kluis.cli import app
from kluis.demo.seed import DEMO_PERSON_EMAIL
from kluis.vault.schemas import IdentifierIn

runner = CliRunner()
# The demo imports, seeds and serves before it answers: on this shared 2-core machine under a full test run that
# can take a minute. The loops below stop waiting as soon as the demo answers.
UP_SECONDS = 180


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    """An empty working directory and no KLUIS_* variables: the demo as a newcomer starts it."""
    for name in [n for n in os.environ if n.startswith("KLUIS_")]:
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    wiring.use_for_cli(None)
    yield tmp_path
    if wiring._cli_instance is not None:
        wiring._cli_instance.close()
    wiring.use_for_cli(None)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _get(port: int, path: str) -> tuple[int, str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read().decode()
    finally:
        conn.close()


def _lines(output: str) -> dict[str, str]:
    """The demo's closing list: label -> what follows it."""
    return {m[1]: m[2] for m in re.finditer(r"^  (\S.*?\S)\s{2,}(\S.*)$", output, re.M)}


def test_issue_19_4_demo_on_a_free_port_prints_where_to_start_and_mails_links_to_that_port(tmp_path):
    port, smtp_port = _free_port(), _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("KLUIS_")}
    env |= {"KLUIS_SMTP_PORT": str(smtp_port), "PYTHONUNBUFFERED": "1", "COLUMNS": "250"}
    demo = subprocess.Popen([sys.executable, "-m", "kluis", "demo", "--subjects", "5", "--port", str(port)],
                            env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    said: list[str] = []
    reader = threading.Thread(target=lambda: said.extend(demo.stdout), daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + UP_SECONDS  # waiting for a real process to come up, not for time to pass
        mail = ""
        while f"127.0.0.1:{port}/privacy" not in mail:
            assert demo.poll() is None, "".join(said)
            assert time.monotonic() < deadline, f"no mail with a link to the demo's port:\n{''.join(said)}\n{mail}"
            with contextlib.suppress(OSError):  # not listening yet
                status, mail = _get(port, "/demo/mail")
            time.sleep(0.1)
        assert status == 200 and "dpo+" in mail, "the DPO's account notice, caught by the demo's catcher"
        assert ":8000" not in mail, "no link to the default port"
    finally:
        os.killpg(demo.pid, signal.SIGTERM)
        demo.wait(timeout=30)
        reader.join(10)
    lines = _lines("".join(said))
    base = f"http://127.0.0.1:{port}"
    assert lines["privacy centre"].startswith(f"{base}/privacy-centre/request")
    assert lines["try it as"].startswith(DEMO_PERSON_EMAIL)
    assert lines["mail catcher"].startswith(f"{base}/demo/mail")
    assert re.match(r"dpo\+\w+@demo\.benvitaal\.nl / \S+", lines["console login"])
    assert lines["staff console"] == f"{base}/console/login"
    assert lines["API docs"].startswith(f"{base}/docs")


def test_issue_19_4_demo_person_is_in_the_vault_and_an_explicit_base_url_is_kept(workdir, monkeypatch):
    monkeypatch.setenv("KLUIS_BASE_URL", "https://kluis.example.nl")
    result = runner.invoke(app, ["demo", "--subjects", "3", "--port", "8123", "--no-serve"],
                           env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    lines = _lines(result.output)
    assert lines["privacy centre"].startswith("http://127.0.0.1:8123/privacy-centre/request"), "where it is served"
    kluis = wiring.for_cli()
    assert kluis.settings.base_url == "https://kluis.example.nl", "KLUIS_BASE_URL set explicitly stays"
    with kluis.db.sessions() as session:
        person = kluis.vault(session, actor="test").identified(IdentifierIn(kind="email", value=DEMO_PERSON_EMAIL))
        assert person is not None
        assert len(kluis.vault(session, actor="test").records_of(person)) >= 5, "an employee's records to look at"
    again = runner.invoke(app, ["demo", "--port", "8123", "--no-serve"], env={"COLUMNS": "250"})
    assert again.exit_code == 0 and _lines(again.output)["try it as"].startswith(DEMO_PERSON_EMAIL)


def test_issue_19_4_demo_links_follow_host_and_port(workdir):
    result = runner.invoke(app, ["demo", "--subjects", "1", "--host", "0.0.0.0", "--port", "8124", "--no-serve"],
                           env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    assert wiring.for_cli().settings.base_url == "http://127.0.0.1:8124", "a wildcard address is reached on loopback"
    assert _lines(result.output)["mail catcher"].startswith("http://127.0.0.1:8124/demo/mail")
