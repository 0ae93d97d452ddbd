"""The `ldnkit` command line: thin; each command parses, calls one domain function, renders."""

from ldnkit.cli.app import app, main

# Each module registers its commands on `app` when imported.
from ldnkit.cli import (  # noqa: E402,F401  (imported for their registrations)
    criteria,
    db,
    demo,
    drug,
    knowledge,
    plan,
    response,
    screen,
    serve,
    users,
)

__all__ = ["app", "main"]
