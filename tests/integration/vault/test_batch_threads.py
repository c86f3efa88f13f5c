"""How many record batches a server process writes at once (issue 18 §6, R-VLT-1): a batch is work for the CPU
under the interpreter's lock, and 64 in flight on a process's 40 threads took the lock from each other in turn,
so every batch took longer and the load scenario's answers passed wrk's two seconds. Two work at once; the rest
wait their turn in order, holding no thread, and every one of them is written."""

from __future__ import annotations

import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from tests.helpers import api_key, headers

from kluis.vault import api as vault_api
from kluis.vault.models import Record
from kluis.wiring import Kluis

WAITING = 2  # batches sent beyond the limit


def _until(condition: Any, what: str, seconds: float = 30) -> None:
    """Wait for ``condition`` to hold (a state of the server, polled), failing after ``seconds``."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.005)


def test_r_vlt_1_a_process_writes_two_batches_at_once_and_the_rest_wait_their_turn(
        client: TestClient, kluis: Kluis, monkeypatch: pytest.MonkeyPatch) -> None:
    auth = headers(api_key(kluis, ["accounts"]), "accounts")
    person = client.post("/api/v1/people", json={"subject_types": ["employee"]}, headers=auth).json()["id"]
    # The account is the contract that `accounts` processes under: the gate allows the batches.
    assert client.post(f"/api/v1/people/{person}/relations", json={"kind": "account"}, headers=auth).status_code == 201
    inside, most, lock, release = 0, 0, threading.Lock(), threading.Event()
    real = vault_api._record_questions

    def arriving(*args: Any, **kwargs: Any) -> Any:
        """The batch's first step once it may work (before its transaction): count the batches at work and
        hold each until the test has seen who waits."""
        nonlocal inside, most
        with lock:
            inside += 1
            most = max(most, inside)
        release.wait(60)
        with lock:
            inside -= 1
        return real(*args, **kwargs)

    monkeypatch.setattr(vault_api, "_record_questions", arriving)
    body = {"items": [{"person_id": person, "category": "basic", "purposes": ["accounts"],
                       "legal_basis": "contract", "source": "direct", "content": {"n": n}} for n in range(3)]}
    sent = vault_api.BATCH_THREADS + WAITING
    with ThreadPoolExecutor(sent) as pool:
        answers = [pool.submit(client.post, "/api/v1/records/batch", json=body, headers=auth) for _ in range(sent)]
        _until(lambda: vault_api.BATCHES.in_use() == (vault_api.BATCH_THREADS, WAITING),
               "two batches at work and the rest waiting")
        with lock:
            assert inside == vault_api.BATCH_THREADS  # the two at work got in; the others are queued, not running
        release.set()
        statuses = [answer.result(timeout=120).status_code for answer in answers]
    assert statuses == [201] * sent
    assert most == vault_api.BATCH_THREADS
    with kluis.db.sessions() as session:
        written = select(func.count()).select_from(Record).where(Record.person_id == uuid.UUID(person))
        assert session.scalar(written) == 3 * sent
