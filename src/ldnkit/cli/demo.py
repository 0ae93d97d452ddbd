"""CLI command: `ldnkit demo` seeds a demo clinic (a clinician, three patients, 90-day diaries)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer
from rich.table import Table

from ldnkit.cli.app import app
from ldnkit.cli.render import JSON_OPTION_HELP, console, emit

if TYPE_CHECKING:  # the store is imported when a command runs, not at start
    from ldnkit.services.demo import DemoLogin


def print_logins(logins: list[DemoLogin]) -> None:
    table = Table(title="Demo logins")
    for column in ("role", "email", "password", "name"):
        table.add_column(column)
    for login in logins:
        table.add_row(login.role, login.email, login.password, login.name)
    console.print(table)


@app.command()
def demo(as_json: bool = typer.Option(False, "--json", help=JSON_OPTION_HELP)) -> None:
    """Seed a demo clinic into an empty database: a responder, a non-responder, sleep effects."""
    from ldnkit.bootstrap import open_store
    from ldnkit.services.demo import seed_demo_if_empty

    store = open_store()
    try:
        logins = seed_demo_if_empty(store)
    finally:
        store.close()
    if logins is None:
        emit(
            {"seeded": False, "logins": []},
            as_json,
            lambda: console.print("The database already has accounts; nothing seeded."),
        )
        return
    data = {"seeded": True, "logins": [vars(login) for login in logins]}
    emit(data, as_json, lambda: print_logins(logins))
