"""`ldnkit screen`: the safety screen for starting LDN."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ldnkit.cli.app import app
from ldnkit.cli.render import (
    JSON_OPTION_HELP,
    Citations,
    console,
    date_option,
    emit,
    parse_model,
)
from ldnkit.domain.profile import PatientProfile
from ldnkit.domain.screening import Screening, screen
from ldnkit.fhir.reading import profile_from_file
from ldnkit.jsoninput import read_json_file
from ldnkit.knowledge import knowledge_base
from ldnkit.validation import InputError

_STYLE = {"contraindicated": "bold red", "wait": "bold yellow", "caution": "yellow", "info": "cyan"}


def _show(result: Screening) -> None:
    style = _STYLE.get(result.verdict, "bold green")
    console.print(f"Verdict: [{style}]{result.verdict}[/]")
    if result.earliest_start is not None:
        start = result.earliest_start.isoformat()
    elif result.verdict == "contraindicated":
        start = "none (contraindicated)"
    else:
        start = "cannot be dated yet (see the findings for what is missing)"
    console.print(f"Earliest start: {start}")
    if not result.findings:
        console.print("No findings.")
        return
    cite = Citations(knowledge_base())
    for f in result.findings:
        console.print()
        console.print(f"[{_STYLE[f.severity]}]{f.severity.upper()}[/] {f.rule}: {f.subject}")
        console.print(f"  {f.message} {cite.mark(f.sources)}")
    console.print("\nSources")
    for number, source in cite.references():
        link = f" {source.link}" if source.link else ""
        console.print(f"  [{number}] {source.citation}{link} ({source.id})")


@app.command("screen")
def screen_command(
    profile: Annotated[
        Path | None,
        typer.Argument(help="Patient profile as JSON (see the README for the fields)."),
    ] = None,
    fhir: Annotated[
        Path | None,
        typer.Option(
            "--fhir",
            help="Read the patient from FHIR R4 instead: a resource, a Bundle, NDJSON or a "
            "Bulk Data export folder.",
        ),
    ] = None,
    patient: Annotated[
        str | None,
        typer.Option("--patient", help="With --fhir: which patient, when the data has several."),
    ] = None,
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help="With --fhir: the day to screen for (YYYY-MM-DD); today."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help=JSON_OPTION_HELP)] = False,
) -> None:
    """Screen a patient for starting LDN: verdict, earliest start and each finding with sources."""
    result = screen(_profile(profile, fhir, patient, as_of))
    emit(result, as_json, lambda: _show(result))


def _profile(
    profile: Path | None, fhir: Path | None, patient: str | None, as_of: str | None
) -> PatientProfile:
    if (profile is None) == (fhir is None):
        raise InputError.single(
            "profile", "both" if profile else "neither", "a PROFILE.json or --fhir FILE (one)"
        )
    if profile is not None:
        if patient is not None or as_of is not None:
            raise InputError.single(
                "--patient/--as-of", patient or as_of, "only with --fhir (a profile has as_of)"
            )
        return parse_model(PatientProfile, read_json_file(profile, "profile"))
    assert fhir is not None
    return profile_from_file(fhir, date_option("--as-of", as_of), patient)
