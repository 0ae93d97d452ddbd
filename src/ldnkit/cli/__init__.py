"""The `ldnkit` command line: thin; each command parses, calls one domain function, renders."""

# Each module registers its commands on `app` when imported.
from ldnkit.cli import (  # noqa: F401  (imported for their registrations)
    ask,
    criteria,
    db,
    demo,
    drug,
    fhir,
    knowledge,
    outcomes,
    plan,
    population,
    response,
    screen,
    serve,
    users,
)
from ldnkit.cli.app import app, main

__all__ = ["app", "main"]
