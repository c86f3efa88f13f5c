"""`kluis serve --workers 2`: two server processes on one port, each wired from the environment, answer the
API (R-GATE-1: the gate's hot path in every process)."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time

from sqlalchemy import text
from tests.helpers import api_key
from tests.integration.erasure.test_erasure_crash import _env

from kluis.rights.views import FORMS
from kluis.vault.schemas import PersonIn


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _get(port: int, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def test_r_gate_1_serve_with_two_workers_answers_health_and_decisions(kluis, settings, tmp_path):
    with kluis.db.transaction() as session:
        person_id = kluis.vault(session, "test").create_person(PersonIn(subject_types=["lead"])).id
    auth = api_key(kluis, ["lead_management"])
    port = _free_port()
    server = subprocess.Popen([sys.executable, "-m", "kluis", "serve", "--port", str(port), "--workers", "2"],
                              env=_env(settings), cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              start_new_session=True)
    try:
        deadline = time.monotonic() + 60  # waiting for two real processes to come up, not for time to pass
        while True:
            try:
                status, _ = _get(port, "GET", "/health")
                if status == 200:
                    break
            except OSError:
                pass
            assert server.poll() is None, server.stderr.read().decode() if server.stderr else ""
            assert time.monotonic() < deadline, "the server did not come up"
            time.sleep(0.1)
        body = json.dumps({"person_id": str(person_id), "purpose": "lead_management"}).encode()
        for _ in range(6):  # spread over both processes by the kernel
            status, answer = _get(port, "POST", "/api/v1/decisions", body,
                                  auth | {"Content-Type": "application/json"})
            assert status == 200 and json.loads(answer)["allowed"] is True
        status, _ = _get(port, "POST", "/api/v1/decisions", body, {"Content-Type": "application/json"})
        assert status == 401
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


def _serving(settings, tmp_path, *args: str):
    port = _free_port()
    server = subprocess.Popen([sys.executable, "-m", "kluis", "serve", "--port", str(port), *args],
                              env=_env(settings), cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              start_new_session=True)
    deadline = time.monotonic() + 60  # waiting for a real process to come up, not for time to pass
    while True:
        try:
            if _get(port, "GET", "/health")[0] == 200:
                return server, port
        except OSError:
            pass
        assert server.poll() is None, server.stderr.read().decode() if server.stderr else ""
        assert time.monotonic() < deadline, "the server did not come up"
        time.sleep(0.1)


def test_r_dsr_1_serve_believes_no_forwarded_for_header_unless_the_proxy_is_trusted(kluis, settings, tmp_path):
    """uvicorn's default believes X-Forwarded-For from 127.0.0.1: a client on this host naming a new address in
    each submit would never meet the per-client intake limit. Five submits from one client, then 429, whatever
    address the header names."""
    for args in ((), ("--workers", "2")):
        server, port = _serving(settings, tmp_path, *args)
        try:
            answers = []
            nonce = "n" * 32  # the form's cookie, as the request page would have set it, and its token
            token = FORMS.token(kluis.keys.secret, nonce)
            for i in range(6):
                form = f"type=access&email=iemand{i}.{len(args)}%40example.nl&lang=nl&csrf={token}".encode()
                answers.append(_get(port, "POST", "/privacy-centre/request", form,
                                    {"Content-Type": "application/x-www-form-urlencoded",
                                     "Cookie": f"{FORMS.cookie}={nonce}",
                                     "X-Forwarded-For": f"198.51.100.{i + 10 * len(args)}"})[0])
            assert answers == [303] * 5 + [429], (args, answers)
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)
        with kluis.db.transaction() as session:  # the next round starts with an empty log of hits
            session.execute(text("DELETE FROM intake_limit"))
