"""CLI commands: `ldnkit fhir profile FILE` and `ldnkit export fhir PATIENT`."""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from ldnkit.cli.app import app
from ldnkit.cli.render import JSON_OPTION_HELP, console, date_option, emit, print_counts
from ldnkit.validation import InputError

fhir_app = typer.Typer(
    help="Read FHIR R4 input (Bundle, resource, NDJSON, Bulk Data folder).", no_args_is_help=True
)
app.add_typer(fhir_app, name="fhir")
export_app = typer.Typer(
    help="Export a patient's record, or the whole clinic, to other systems.", no_args_is_help=True
)
app.add_typer(export_app, name="export")


@fhir_app.command("profile")
def profile_command(
    file: Annotated[
        Path, typer.Argument(help="FHIR JSON (Bundle or resource), NDJSON, or a folder.")
    ],
    patient: Annotated[
        str | None,
        typer.Option("--patient", help="Patient id when the input holds several patients."),
    ] = None,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Read the record as of this date (today).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help=JSON_OPTION_HELP)] = False,
) -> None:
    """Show the screening profile ldnkit reads from FHIR: what counts and what does not."""
    from ldnkit.fhir.reading import profile_from_file

    profile = profile_from_file(file, date_option("--as-of", as_of) or dt.date.today(), patient)

    def human() -> None:
        console.print(
            f"As of {profile.as_of}: age {profile.age if profile.age is not None else 'unknown'},"
            f" sex {profile.sex}, pregnant: "
            f"{'unknown' if profile.pregnant is None else 'yes' if profile.pregnant else 'no'}"
        )
        table = Table(title="Medications")
        for column in ("Name", "RxNorm", "Status", "Last dose"):
            table.add_column(column)
        for med in profile.medications:
            table.add_row(med.name or "", med.rxnorm or "", med.status, str(med.last_dose or ""))
        console.print(table)
        conditions = Table(title="Active conditions")
        conditions.add_column("Condition")
        for condition in profile.conditions:
            conditions.add_row(
                condition if isinstance(condition, str) else f"{condition.system} {condition.code}"
            )
        console.print(conditions)
        if profile.allergies:
            console.print(
                "Allergies: "
                + ", ".join(
                    a if isinstance(a, str) else (a.name or f"RxNorm {a.rxnorm}")
                    for a in profile.allergies
                )
            )
        for procedure in profile.planned_procedures:
            console.print(f"Planned: {procedure.name or 'procedure'} on {procedure.date}")

    emit(profile, as_json, human)


@export_app.command("fhir")
def export_fhir_command(
    patient: Annotated[int, typer.Argument(help="The patient's number in the clinic database.")],
    clinician: Annotated[
        str, typer.Option("--clinician", help="Email of the patient's clinician (audited).")
    ],
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="Bundle file to write (default patient-ID.fhir.json; - for standard output).",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help=JSON_OPTION_HELP)] = False,
) -> None:
    """Export a patient's plan, diary and FIQR results as a FHIR R4 Bundle."""
    from ldnkit.bootstrap import open_store
    from ldnkit.services.export import fhir_bundle
    from ldnkit.store.repository import Forbidden, NotFound

    store = open_store()
    try:
        account = store.account_by_email(clinician)
        if account is None or account.role != "clinician":
            raise InputError.single("--clinician", clinician, "the email of a clinician account")
        try:
            bundle = fhir_bundle(store, account.actor, patient)
        except (NotFound, Forbidden):
            raise InputError.single(
                "PATIENT", patient, "a patient of this clinician (see the clinic's patient list)"
            ) from None
    finally:
        store.close()
    text = json.dumps(bundle, indent=2, ensure_ascii=False)
    target = out or Path(f"patient-{patient}.fhir.json")
    if str(target) == "-":
        print(text)
        return
    target.write_text(text + "\n", encoding="utf-8")
    counts = dict(sorted(Counter(e["resource"]["resourceType"] for e in bundle["entry"]).items()))
    data = {"patient": patient, "out": str(target), "resources": counts}

    def human() -> None:
        table = Table(title=f"Patient {patient}: FHIR R4 bundle written to {target}")
        table.add_column("Resource type")
        table.add_column("Resources", justify="right")
        for kind, count in counts.items():
            table.add_row(kind, str(count))
        console.print(table)

    emit(data, as_json, human)


@export_app.command("bulk")
def export_bulk_command(
    folder: Annotated[Path, typer.Argument(help="A new (or empty) folder to write the export to.")],
    clinician: Annotated[
        str | None,
        typer.Option("--clinician", help="Only this clinician's patients (default: everyone)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help=JSON_OPTION_HELP)] = False,
) -> None:
    """Export the whole clinic as a FHIR R4 Bulk Data export (NDJSON files and a manifest).

    Patients, their conditions, plans (MedicationRequest), dispenses (MedicationDispense),
    stops (MedicationStatement) and diaries (Observation; pain as LOINC 72514-3):
    `ldnkit outcomes --fhir FOLDER` gives the same figures as `ldnkit outcomes`.
    """
    from ldnkit.bootstrap import open_store
    from ldnkit.services.export import bulk_export

    store = open_store()
    try:
        actor = None
        if clinician is not None:
            account = store.account_by_email(clinician)
            if account is None or account.role != "clinician":
                raise InputError.single(
                    "--clinician", clinician, "the email of a clinician account"
                )
            actor = account.actor
        counts = bulk_export(store, folder, actor)
    finally:
        store.close()
    data = {"out": str(folder), "resources": counts}

    emit(
        data, as_json, lambda: print_counts(f"FHIR R4 Bulk Data export written to {folder}", counts)
    )
