"""Run the web app on a real uvicorn server in a background thread (tests, benchmarks)."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import uvicorn

from ldnkit.bootstrap import web_app
from ldnkit.settings import Settings


@contextmanager
def background_server(settings: Settings, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """Serve the app until the block ends; yields its base URL (port 0 picks a free port)."""
    config = uvicorn.Config(
        web_app(settings),
        host=host,
        port=port,
        log_level="warning",
        lifespan="on",
        proxy_headers=True,
        forwarded_allow_ips="127.0.0.1",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="ldnkit-web", daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the web server did not start")
        time.sleep(0.02)
    bound = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://{host}:{bound}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)


def wait_until_serving(base_url: str, seconds: float = 30) -> None:
    """Block until a server started elsewhere (`ldnkit serve` in a subprocess) answers."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            httpx.get(f"{base_url}/login", timeout=1)
            return
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"nothing answered at {base_url}") from None
            time.sleep(0.05)


_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_from(page: str) -> str:
    """The CSRF token of the first form on a page."""
    found = _CSRF.search(page)
    if found is None:
        raise LookupError("the page has no form with a CSRF token")
    return found.group(1)


def sign_in(client: httpx.Client, email: str, password: str) -> httpx.Response:
    """Sign a browser-like client in through the sign-in form, as a person would."""
    token = csrf_from(client.get("/login").text)
    form = {"email": email, "password": password, "csrf_token": token}
    return client.post("/login", data=form, follow_redirects=False)


@contextmanager
def signed_in(
    base_url: str, email: str, password: str, timeout: float = 30
) -> Iterator[httpx.Client]:
    """A browser-like client (cookies kept, redirects not followed), signed in through the form.

    A refused sign-in stops here: whatever the caller does next would only fail further on.
    """
    with httpx.Client(base_url=base_url, follow_redirects=False, timeout=timeout) as client:
        response = sign_in(client, email, password)
        if response.status_code != 303:
            raise RuntimeError(f"signing in as {email} was refused ({response.status_code})")
        yield client


def api_token(base_url: str, email: str, password: str) -> str:
    """A bearer token from POST /api/v1/token."""
    response = httpx.post(
        f"{base_url}/api/v1/token", data={"username": email, "password": password}
    )
    response.raise_for_status()
    token: str = response.json()["access_token"]
    return token
