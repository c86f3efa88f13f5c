"""A bound on every request body (hostile input: a client may not make a server process buffer gigabytes).

A declared ``Content-Length`` over the bound is refused before anything is read; a body sent without one is
counted as it arrives and refused once it passes the bound. Either way the answer is 413 (problem+json, or
the console's error page) and nothing was written: the body never reached a handler whole.
"""

from __future__ import annotations

from typing import Any

from starlette.exceptions import HTTPException

from kluis.web.problems import problem


class BodyTooLarge(HTTPException):
    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body is larger than {limit:,} bytes; send less per call")


class BodyLimit:
    """ASGI middleware: the outermost layer, so every route (and the decisions hot path) is bounded."""

    def __init__(self, app: Any, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = next((v for k, v in scope["headers"] if k == b"content-length"), None)
        if declared is not None and (not declared.isdigit() or int(declared) > self.limit):
            await self._refuse(scope, receive, send)
            return
        seen, started = 0, False

        async def bounded() -> dict[str, Any]:
            nonlocal seen
            message: dict[str, Any] = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise BodyTooLarge(self.limit)
            return message

        async def tracked(message: dict[str, Any]) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, bounded, tracked)
        except BodyTooLarge:
            if not started:  # a layer below let it through unanswered (the handlers answer it otherwise)
                await self._refuse(scope, receive, send)

    async def _refuse(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        await problem(413, "http_413", str(BodyTooLarge(self.limit).detail))(scope, receive, send)
