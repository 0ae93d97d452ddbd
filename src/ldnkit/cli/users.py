"""CLI commands: `ldnkit users create | set-password | disable | enable | revoke` (clinician,
patient and analyst logins)."""

from __future__ import annotations

import typer

from ldnkit.cli.app import app
from ldnkit.cli.render import JSON_OPTION_HELP, console, emit
from ldnkit.services.password_rules import MIN_PASSWORD_CHARS

# The account services and the store are imported by the commands that use them, not at
# start: every other command, `ldnkit --help` included, would wait for SQLAlchemy otherwise.

users_app = typer.Typer(help="Clinician, patient and analyst logins.")
app.add_typer(users_app, name="users")

PASSWORD_HELP = (
    f"At least {MIN_PASSWORD_CHARS} characters, not a common password; kept exactly as typed, "
    "spaces included. Left out, it is asked for without showing it."
)


def _password(given: str | None) -> str:
    if given is not None:
        return given
    typed: str = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    return typed


@users_app.command("create")
def create(
    role: str = typer.Option(
        ..., help="clinician, patient, or analyst (the clinic's outcomes, no patient records)"
    ),
    email: str = typer.Option(..., help="The login email."),
    password: str | None = typer.Option(None, help=PASSWORD_HELP),
    clinician: str | None = typer.Option(
        None, help="For a patient: the email of their clinician (the patient record is theirs)."
    ),
    patient: int | None = typer.Option(
        None,
        help="For a patient whose record exists without a login: the record's id (then no "
        "clinician is needed, and no second record is made).",
    ),
    name: str = typer.Option("", help="Display name (defaults to the part of the email before @)."),
    as_json: bool = typer.Option(False, "--json", help=JSON_OPTION_HELP),
) -> None:
    """Create a login; a patient account comes with its patient record, under its clinician,
    or joins an existing record that has no login (--patient)."""
    from ldnkit.bootstrap import open_store
    from ldnkit.services.accounts import NewAccount, create_account, parse_login

    new = parse_login(
        NewAccount,
        {
            "role": role,
            "email": email,
            "password": _password(password),
            "clinician": clinician,
            "patient": patient,
            "name": name,
        },
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


@users_app.command("set-password")
def set_password_command(
    email: str = typer.Argument(..., help="The login email."),
    password: str | None = typer.Option(None, help=PASSWORD_HELP),
    as_json: bool = typer.Option(False, "--json", help=JSON_OPTION_HELP),
) -> None:
    """Give a login a new password; its browser sessions and API tokens all end."""
    from ldnkit.bootstrap import open_store
    from ldnkit.services.accounts import set_password

    new_password = _password(password)
    store = open_store()
    try:
        ended = set_password(store, email, new_password)
    finally:
        store.close()
    emit(
        {"email": email.strip().lower(), "sessions_ended": ended},
        as_json,
        lambda: console.print(f"New password set for {email}; {ended} session(s) ended."),
    )


def _switch(email: str, disabled: bool, as_json: bool) -> None:
    from ldnkit.bootstrap import open_store
    from ldnkit.services.accounts import set_disabled

    store = open_store()
    try:
        ended = set_disabled(store, email, disabled)
    finally:
        store.close()
    shown = email.strip().lower()
    said = (
        f"Switched {shown} off: it cannot sign in; {ended} session(s) ended."
        if disabled
        else f"Switched {shown} on: it can sign in again."
    )
    emit(
        {"email": shown, "disabled": disabled, "sessions_ended": ended},
        as_json,
        lambda: console.print(said),
    )


@users_app.command("disable")
def disable_command(
    email: str = typer.Argument(..., help="The login email."),
    as_json: bool = typer.Option(False, "--json", help=JSON_OPTION_HELP),
) -> None:
    """Switch a login off: it cannot sign in, and every session and API token of it ends.
    Its records are kept; `ldnkit users enable` switches it on again."""
    _switch(email, True, as_json)


@users_app.command("enable")
def enable_command(
    email: str = typer.Argument(..., help="The login email."),
    as_json: bool = typer.Option(False, "--json", help=JSON_OPTION_HELP),
) -> None:
    """Switch a login on again after `ldnkit users disable`."""
    _switch(email, False, as_json)


@users_app.command("revoke")
def revoke_command(
    email: str = typer.Argument(..., help="The login email."),
    as_json: bool = typer.Option(False, "--json", help=JSON_OPTION_HELP),
) -> None:
    """Sign a login out everywhere: every browser session and API token of it ends."""
    from ldnkit.bootstrap import open_store
    from ldnkit.services.accounts import revoke

    store = open_store()
    try:
        ended = revoke(store, email)
    finally:
        store.close()
    emit(
        {"email": email.strip().lower(), "sessions_ended": ended},
        as_json,
        lambda: console.print(f"Signed {email} out everywhere: {ended} session(s) ended."),
    )
