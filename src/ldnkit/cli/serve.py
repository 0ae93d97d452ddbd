"""CLI command: `ldnkit serve` migrates the database and runs the web app."""

from __future__ import annotations

import os
import socket
from typing import Any

import typer

from ldnkit.cli.app import app
from ldnkit.cli.demo import print_logins
from ldnkit.cli.render import console
from ldnkit.settings import LOOPBACK_HOSTS
from ldnkit.validation import InputError

MAX_WORKERS = 64


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    port: int = typer.Option(8000, min=1, max=65535, help="Port to listen on."),
    demo_if_empty: bool = typer.Option(
        False, "--demo-if-empty", help="Seed the demo clinic first when the database is empty."
    ),
    workers: int = typer.Option(
        1,
        min=1,
        max=MAX_WORKERS,
        help="Worker processes serving requests side by side (sessions, sign-in limits and "
        "CDS Hooks token checks are shared through the database).",
    ),
) -> None:
    """Apply migrations, then serve the clinician and patient web app and the JSON API."""
    import uvicorn

    # Imported here, not at start: the store and the web app take a while to import.
    from ldnkit.bootstrap import WEB_APP_FACTORY, load_settings, open_store, web_app
    from ldnkit.services.demo import DEMO_CLINICIAN, demo_logins, seed_demo_if_empty

    settings = load_settings()
    store = open_store(settings)  # migrates
    try:
        seeded = seed_demo_if_empty(store) if demo_if_empty else None
        has_demo = store.account_by_email(DEMO_CLINICIAN) is not None
    finally:
        store.close()
    # Built and the port tried before saying "running": a bad LDNKIT_CDS_CLIENTS file or a
    # port in use is then the only thing printed, with exit status 2.
    application = web_app(settings)
    _check_port_free(host, port)
    shown = "127.0.0.1" if host == "0.0.0.0" else host  # noqa: S104 (only the printed URL)
    console.print(f"ldnkit is running at http://{shown}:{port}/  (Ctrl+C stops it)")
    if host not in LOOPBACK_HOSTS and not settings.trusted_hosts:
        # Reachable from other machines, but answering only to the names below.
        answers = ", ".join(settings.allowed_hosts())
        console.print(
            f"It answers to {answers} only: set LDNKIT_TRUSTED_HOSTS to the names it is reached by."
        )
    if seeded or has_demo:
        print_logins(seeded or demo_logins())
    options: dict[str, Any] = {"host": host, "port": port, "log_level": "warning"}
    if workers == 1:
        uvicorn.run(application, proxy_headers=True, **options)
        return
    # Each worker process builds its own app (and store) from the factory; the one built here
    # only showed that the settings hold.
    application.state.store.close()
    uvicorn.run(WEB_APP_FACTORY, factory=True, workers=workers, proxy_headers=True, **options)


def _check_port_free(host: str, port: int) -> None:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        with socket.create_server((host, port), family=family):
            pass
    except OSError as exc:
        reason = os.strerror(exc.errno) if exc.errno else str(exc)
        raise InputError.single("--port", port, f"a port free on {host} ({reason})") from None
