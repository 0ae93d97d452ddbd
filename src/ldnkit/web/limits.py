"""How much one request may send, enforced as the bytes arrive (a plain ASGI wrapper).

Without a bound a single account could make the server buffer a 200 MB body before any route
looked at it. `BodyLimit` counts body bytes as the server receives them, chunked bodies
included: a declared Content-Length over the limit is refused before anything is read, and a
body that grows past the limit is cut off there and answered 413 (the connection is closed, so
the rest is never read). The route never sees a body over its limit.
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ldnkit.jsoninput import size
from ldnkit.validation import Problem

KIB = 1024
# A diary entry is a few hundred bytes (a 2,000-character note written as \u escapes is 12 kB).
API_BODY_LIMIT = 64 * KIB
# The largest form is a clinician's visit note of up to 20,000 characters, URL-encoded.
FORM_BODY_LIMIT = 512 * KIB

LimitFor = Callable[[Scope], int]
Refusal = Callable[[Scope, int], Response]


def body_too_large(limit: int) -> Problem:
    return Problem("body", f"a body of more than {size(limit)}", f"a body of at most {size(limit)}")


def _declared_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            return int(value) if value.isdigit() and len(value) < 20 else None
    return None


class BodyLimit:
    """Refuse request bodies over the limit `limit_for(scope)` with `refusal(scope, limit)`."""

    def __init__(self, app: ASGIApp, limit_for: LimitFor, refusal: Refusal) -> None:
        self.app = app
        self.limit_for = limit_for
        self.refusal = refusal

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope)
        declared = _declared_length(scope)
        if declared is not None and declared > limit:
            await self._refuse(scope, receive, send, limit)
            return
        received = 0
        over = False
        started = False

        async def counted() -> Message:
            nonlocal received, over
            if over:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    # To the route the client has gone: it stops reading and gives up.
                    over = True
                    return {"type": "http.disconnect"}
            return message

        async def answered(message: Message) -> None:
            nonlocal started
            if over:
                return  # whatever the route answered to a cut-off body, the 413 replaces it
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted, answered)
        except Exception:
            if not over:
                raise
        if over and not started:
            await self._refuse(scope, receive, send, limit)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        response = self.refusal(scope, limit)
        # Closing the connection is what keeps the rest of the body from being read at all.
        response.headers["connection"] = "close"
        await response(scope, receive, send)
