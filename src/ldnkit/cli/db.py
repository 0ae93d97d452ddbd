"""CLI commands: `ldnkit db upgrade` and `ldnkit db status` (the schema of the clinic database)."""

from __future__ import annotations

import typer

from ldnkit.cli.app import app
from ldnkit.cli.render import JSON_OPTION_HELP, console, emit

# The store (SQLAlchemy, Alembic) is imported by the commands that use it, not at start:
# every other command, `ldnkit --help` included, would wait for it otherwise.

db_app = typer.Typer(help="The clinic database: apply migrations, show the schema version.")
app.add_typer(db_app, name="db")


@db_app.command("upgrade")
def upgrade(as_json: bool = typer.Option(False, "--json", help=JSON_OPTION_HELP)) -> None:
    """Apply every pending migration to the database named by LDNKIT_DATABASE_URL."""
    from ldnkit.bootstrap import open_store, shown_url, upgrade_store
    from ldnkit.store import migrate

    store = open_store(upgrade=False)
    try:
        before = migrate.current_revision(store.engine)
        upgrade_store(store)
        after = migrate.current_revision(store.engine)
    finally:
        store.close()
    data = {"database": shown_url(store), "from": before, "to": after}
    emit(
        data,
        as_json,
        lambda: console.print(
            f"{data['database']}: "
            + (
                f"already at {after}"
                if before == after
                else f"upgraded {before or 'empty'} -> {after}"
            )
        ),
    )


@db_app.command("status")
def status(as_json: bool = typer.Option(False, "--json", help=JSON_OPTION_HELP)) -> None:
    """Show the schema version of the database and the newest one this ldnkit ships."""
    from ldnkit.bootstrap import open_store, shown_url
    from ldnkit.store import migrate

    store = open_store(upgrade=False)
    try:
        current = migrate.current_revision(store.engine)
    finally:
        store.close()
    head = migrate.head_revision()
    data = {
        "database": shown_url(store),
        "current": current,
        "head": head,
        "up_to_date": current == head,
    }
    emit(
        data,
        as_json,
        lambda: console.print(
            f"{data['database']}: at {current or 'empty'}, newest {head}"
            + ("" if current == head else " (run `ldnkit db upgrade`)")
        ),
    )
