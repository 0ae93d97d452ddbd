"""Only the host names the deployment is reached by (a plain ASGI wrapper).

Redirects that Starlette builds (a trailing slash, a static folder) and the URL a CDS Hooks token
must name are made from the request's Host header, which the caller chooses. A request naming a
host that is not listed (LDNKIT_TRUSTED_HOSTS, or localhost, 127.0.0.1 and the public URL's host)
is refused with 400 before any route sees it, in the caller's own format.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from starlette.datastructures import Headers
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from ldnkit.settings import host_allowed
from ldnkit.validation import Problem, show

Refusal = Callable[[Scope, str], Response]


class TrustedHosts:
    """Refuse requests whose Host is not in `allowed` with `refusal(scope, host)`."""

    def __init__(self, app: ASGIApp, allowed: Sequence[str], refusal: Refusal) -> None:
        self.app = app
        self.allowed = tuple(allowed)
        self.refusal = refusal

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        host = _host_name(Headers(scope=scope).get("host", ""))
        if host_allowed(host, self.allowed):
            await self.app(scope, receive, send)
            return
        await self.refusal(scope, host)(scope, receive, send)


def host_not_listed(host: str) -> Problem:
    return Problem(
        "Host", show(host), "a host name this server is reached by (see LDNKIT_TRUSTED_HOSTS)"
    )


def _host_name(header: str) -> str:
    """The name in a Host header, without its port (`[::1]:8000` gives `::1`)."""
    if header.startswith("["):
        return header[1 : header.find("]")] if "]" in header else header
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header
