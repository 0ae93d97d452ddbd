"""CLI commands: `ldnkit users create` (clinician and patient logins)."""

from __future__ import annotations

import typer

from ldnkit.bootstrap import open_store
from ldnkit.cli.app import app
from ldnkit.cli.render import JSON_OPTION_HELP, console, emit, parse_model
from ldnkit.services.accounts import NewAccount, create_account

users_app = typer.Typer(help="Clinician and patient logins.")
app.add_typer(users_app, name="users")


@users_app.command("create")
def create(
    role: str = typer.Option(..., help="clinician or patient"),
    email: str = typer.Option(..., help="The login email."),
    password: str = typer.Option(..., help="At least 8 characters."),
    clinician: str | None = typer.Option(
        None, help="For a patient: the email of their clinician (the patient record is theirs)."
    ),
    name: str = typer.Option("", help="Display name (defaults to the part of the email before @)."),
    as_json: bool = typer.Option(False, "--json", help=JSON_OPTION_HELP),
) -> None:
    """Create a login; a patient account comes with its patient record, under its clinician."""
    new = parse_model(
        NewAccount,
        {"role": role, "email": email, "password": password, "clinician": clinician, "name": name},
    )
    store = open_store()
    try:
        account = create_account(store, new)
    finally:
        store.close()
    data = {
        "id": account.id,
        "email": account.email,
        "role": account.role,
        "patient_id": account.patient_id,
    }
    emit(
        data,
        as_json,
        lambda: console.print(
            f"Created {account.role} {account.email}"
            + (f" (patient record {account.patient_id})" if account.patient_id else "")
        ),
    )
