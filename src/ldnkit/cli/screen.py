"""`ldnkit screen`: the safety screen for starting LDN."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ldnkit.cli.app import app
from ldnkit.cli.knowledge import Citations
from ldnkit.cli.render import JSON_OPTION_HELP, console, emit, parse_model, read_json_file
from ldnkit.domain.profile import PatientProfile
from ldnkit.domain.screening import Screening, screen
from ldnkit.knowledge import knowledge_base

_STYLE = {"contraindicated": "bold red", "wait": "bold yellow", "caution": "yellow", "info": "cyan"}


def _show(result: Screening) -> None:
    style = _STYLE.get(result.verdict, "bold green")
    console.print(f"Verdict: [{style}]{result.verdict}[/]")
    start = result.earliest_start.isoformat() if result.earliest_start else "none (contraindicated)"
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
        Path, typer.Argument(help="Patient profile as JSON (see the README for the fields).")
    ],
    as_json: Annotated[bool, typer.Option("--json", help=JSON_OPTION_HELP)] = False,
) -> None:
    """Screen a patient for starting LDN: verdict, earliest start and each finding with sources."""
    parsed = parse_model(PatientProfile, read_json_file(profile, "profile"))
    result = screen(parsed)
    emit(result, as_json, lambda: _show(result))
