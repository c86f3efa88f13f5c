"""A form posted to a server process that dies right after its answer (issue 18 §4): the answer's last byte has
left, and nothing after it runs (the page's background task, which starts only once the answer has gone).

Deterministic and fast: the application is called as the server calls it, and the server's ``send`` of the answer's
last byte ends the call, as a SIGKILL at that moment ends the process: nothing after it runs.

What the code-mail tests share: the outbox, and the worker that addresses what the dead page never did.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import urllib.parse
from typing import Any

from sqlalchemy import func, select
from tests.integration.rights.rights_support import send_all

from kluis.audit.models import AuditEvent
from kluis.mail.models import Outbox
from kluis.web.public import after_answer


class _Killed(BaseException):  # noqa: N818 - it names what happened; not an Exception, so no handler stops it
    """The process died: raised in place of the rest of the process's life."""


def answer_then_die(client: Any, path: str, form: dict[str, str]) -> tuple[int, dict[str, list[str]]]:
    """POST ``form`` to ``path`` of the client's application with the client's cookies; the answer's status and
    headers (name -> values) as the browser received them, and then the process dies."""
    body = urllib.parse.urlencode(form).encode()
    cookie = "; ".join(f"{name}={value}" for name, value in client.cookies.items())
    parts = urllib.parse.urlsplit(path)
    answer: dict[str, Any] = {"status": 0, "headers": {}}

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            answer["status"] = message["status"]
            for name, value in message.get("headers", []):
                answer["headers"].setdefault(name.decode().lower(), []).append(value.decode())
        elif message["type"] == "http.response.body" and not message.get("more_body"):
            raise _Killed  # the last byte has left: here the process dies

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
             "path": parts.path, "raw_path": parts.path.encode(), "query_string": parts.query.encode(),
             "root_path": "", "client": ("192.0.2.1", 50000), "server": ("testserver", 80),
             "headers": [(b"host", b"testserver"), (b"content-type", b"application/x-www-form-urlencoded"),
                         (b"content-length", str(len(body)).encode()), (b"cookie", cookie.encode())]}

    async def run() -> None:
        try:
            await client.app(scope, receive, send)
        except _Killed:
            return
        except BaseExceptionGroup as group:  # a middleware's task group may wrap it
            if group.subgroup(_Killed) is None:
                raise
            return
        raise AssertionError("the answer never finished")

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, run()).result()
    assert answer["status"], "no answer was sent"
    return answer["status"], answer["headers"]


def mails(kluis: Any) -> list[Outbox]:
    with kluis.db.sessions() as session:
        return list(session.scalars(select(Outbox)))


def addressed(kluis: Any) -> int:
    """How many held code mails were given their address, or cancelled (one audit event each)."""
    with kluis.db.sessions() as session:
        return session.scalar(select(func.count()).select_from(AuditEvent)
                              .where(AuditEvent.action.in_(("mail.addressed", "mail.cancelled"))))


def the_worker_addresses_them(kluis: Any, catcher: Any, known: str) -> None:
    """Two code mails held by answers whose server died, to nobody yet and the address sealed; the worker sends
    the one for ``known`` and cancels the other, and neither keeps its sealed address."""
    held = mails(kluis)
    assert [(m.state, m.person_id) for m in held] == [("queued", None), ("queued", None)]
    assert all(m.sealed_to and b"example.nl" not in m.sealed_to for m in held)
    send_all(kluis)  # the worker, after the restart
    assert [m.to for m in catcher.messages] == [(known,)]
    assert sorted((m.state, m.sealed_to) for m in mails(kluis)) == [("cancelled", None), ("sent", None)]


def a_late_page_addresses_nothing_again(kluis: Any, dies: Any) -> None:
    """``dies()`` posts a form whose server dies after answering: the worker addresses its code mail, and the
    page's task, run late after all, finds it done."""
    before, already = {m.id for m in mails(kluis)}, addressed(kluis)
    dies()
    [died] = [m.id for m in mails(kluis) if m.id not in before]
    send_all(kluis)
    assert addressed(kluis) == already + 1
    late = after_answer(kluis, died)
    late.func(*late.args, **late.kwargs)
    send_all(kluis)
    assert addressed(kluis) == already + 1
