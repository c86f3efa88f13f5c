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
import threading
import time

import pytest
from sqlalchemy import text
from tests.helpers import api_key
from tests.integration.erasure.test_erasure_crash import _env
from uvicorn.config import STARTUP_FAILURE

from kluis import app as application
from kluis import wiring
from kluis.rights.views import FORMS
from kluis.vault.schemas import PersonIn

# A server process imports the whole application before it answers: on this shared 2-core machine under a full
# test run that took up to 75 s. The loops below stop waiting as soon as the server answers.
UP_SECONDS = 180


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
        deadline = time.monotonic() + UP_SECONDS  # waiting for two real processes to come up, not for time to pass
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
    deadline = time.monotonic() + UP_SECONDS  # waiting for a real process to come up, not for time to pass
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


def _server_processes(parent: int) -> set[int]:
    """The server processes the supervisor started (spawned), not multiprocessing's resource tracker."""
    found = set()
    for task in os.listdir(f"/proc/{parent}/task"):
        with open(f"/proc/{parent}/task/{task}/children") as children:
            for pid in children.read().split():
                try:
                    with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
                        if b"spawn_main" in cmdline.read():
                            found.add(int(pid))
                except FileNotFoundError:
                    pass
    return found


def test_r_gate_1_a_killed_server_process_is_logged_with_its_signal_and_replaced(kluis, settings, tmp_path):
    """uvicorn replaces a dead server process and says so only at INFO, without the reason: here the death is
    logged with the signal that ended it and the process put in its place, and the port keeps answering."""
    port = _free_port()
    server = subprocess.Popen([sys.executable, "-m", "kluis", "serve", "--port", str(port), "--workers", "2"],
                              env=_env(settings), cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              start_new_session=True)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(line.decode() for line in server.stderr), daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + UP_SECONDS  # waiting for real processes to come up, not for time to pass
        while len(_server_processes(server.pid)) < 2 or not _answers(port):
            assert server.poll() is None, "".join(lines)
            assert time.monotonic() < deadline, "the server did not come up"
            time.sleep(0.1)
        first = _server_processes(server.pid)
        victim = min(first)
        os.kill(victim, signal.SIGKILL)
        deadline = time.monotonic() + UP_SECONDS
        logged = f"server process {victim} died: killed by SIGKILL; started "
        while not any(logged in line for line in lines):
            assert server.poll() is None, "".join(lines)
            assert time.monotonic() < deadline, "".join(lines)
            time.sleep(0.1)
        replaced = next(line for line in lines if logged in line)  # the line waited for, not an earlier one
        successor = int(replaced.rsplit("started ", 1)[1].split()[0])
        while not (_server_processes(server.pid) == (first - {victim}) | {successor} and _answers(port)):
            assert server.poll() is None, "".join(lines)
            assert time.monotonic() < deadline, "the replacement did not come up"
            time.sleep(0.1)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


def _answers(port: int) -> bool:
    try:
        return _get(port, "GET", "/health")[0] == 200
    except OSError:
        return False


def test_r_gate_1_a_server_process_whose_start_up_raises_logs_why_and_exits_as_a_start_up_failure(
        settings, monkeypatch, caplog):
    """Wired from a database that is not there, the worker's application factory logs the error and ends with
    uvicorn's start-up failure code, which stops the supervisor instead of a silent loop of restarts."""
    monkeypatch.setenv("KLUIS_DATABASE_URL", "postgresql+psycopg://nobody@127.0.0.1:1/none")
    wiring.use_for_cli(None)
    with pytest.raises(SystemExit) as stopped:
        application.from_settings()
    assert stopped.value.code == STARTUP_FAILURE
    assert f"server process {os.getpid()} could not start" in caplog.text and "Traceback" in caplog.text


def test_r_gate_1_a_server_process_freezes_its_start_up_heap_once_its_application_is_built(kluis):
    """Each server process of `kluis serve --workers N` builds its application, then moves what start-up left
    alive out of the cyclic collector's walk (``kluis.kit.heap``): the routes, schemas and wiring that every
    request would otherwise make each full collection walk again."""
    import gc

    wiring.use_for_cli(kluis)
    gc.unfreeze()
    try:
        served = application.from_settings()
        assert gc.get_freeze_count() > 0
        assert not any(o is served for o in gc.get_objects()), "the application is walked by every collection"
    finally:
        gc.unfreeze()
        wiring.use_for_cli(None)
