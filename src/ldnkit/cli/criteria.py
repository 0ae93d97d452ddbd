"""CLI command: `ldnkit criteria NAME INPUT.json` (diagnostic criteria and the FIQR)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from ldnkit.cli.app import app
from ldnkit.cli.render import JSON_OPTION_HELP, console, emit
from ldnkit.domain.criteria import (
    FIQR_ITEMS,
    NAMES,
    Acr2010Result,
    Acr2011Result,
    Acr2016Result,
    CriteriaResult,
    FiqrResult,
    Iom2015Result,
    Note,
    check_name,
    evaluate,
)
from ldnkit.jsoninput import read_json_file

PASS, FAIL = "✔", "✘"


@app.command("criteria")
def criteria(
    name: Annotated[
        str, typer.Argument(metavar="NAME", help="Which criteria: " + ", ".join(NAMES) + ".")
    ],
    input_file: Annotated[
        Path,
        typer.Argument(metavar="INPUT.json", help="The answers as JSON (fields depend on NAME)."),
    ],
    as_json: Annotated[bool, typer.Option("--json", help=JSON_OPTION_HELP)] = False,
) -> None:
    """Check diagnostic criteria (ACR 2010/2011/2016, IOM 2015) or score the FIQR.

    Every criterion is shown with whether it passed and why; conflicts between published
    versions are shown as notes with their sources.
    """
    result = evaluate(check_name(name), read_json_file(input_file, "INPUT.json"))
    emit(result, as_json, lambda: _show(result))


def _show(result: CriteriaResult) -> None:
    console.print(Text(result.title, style="bold"))
    if isinstance(result, FiqrResult):
        _show_fiqr(result)
    else:
        _show_criteria(result)
    _show_notes(result.notes)
    console.print(Text("Sources: " + ", ".join(result.sources)))


def _show_criteria(
    result: Acr2010Result | Acr2011Result | Acr2016Result | Iom2015Result,
) -> None:
    scores = []
    if not isinstance(result, Iom2015Result):
        scores.append(f"WPI {result.wpi}/19, symptom severity {result.sss}/12")
    if isinstance(result, Acr2011Result | Acr2016Result):
        scores.append(f"FS/PSD {result.psd}/31 ({result.psd_band})")
    if isinstance(result, Acr2011Result):
        scores.append("FS ≥ 13: " + ("yes" if result.fs_cutoff_met else "no"))
    if isinstance(result, Acr2016Result):
        scores.append(f"regions with pain {result.regions}/5")
    if scores:
        console.print(Text("; ".join(scores)))
    table = Table(show_header=True, header_style="bold")
    table.add_column("")
    table.add_column("Criterion")
    table.add_column("Why")
    for c in result.criteria:
        mark = Text(PASS, style="green") if c.passed else Text(FAIL, style="red")
        table.add_row(mark, Text(c.text), Text(c.detail))
    console.print(table)
    if isinstance(result, Acr2016Result):
        regions = Table(show_header=True, header_style="bold", title="2016 regions")
        for column in ("", "Region", "Painful areas", "Not counted"):
            regions.add_column(column)
        for r in result.region_breakdown:
            regions.add_row(
                Text(PASS if r.has_pain else "·"),
                Text(r.label),
                Text(", ".join(r.painful_areas) or "-"),
                Text(", ".join(r.uncounted_painful_areas) or "-"),
            )
        console.print(regions)
    verdict = "criteria met" if result.met else "criteria not met"
    console.print(Text(f"Verdict: {verdict}", style="bold green" if result.met else "bold red"))


def _show_fiqr(result: FiqrResult) -> None:
    table = Table(show_header=True, header_style="bold")
    for column in ("Domain", "Answered", "Score", "Range", "Prorated"):
        table.add_column(column)
    for d in result.domains:
        table.add_row(
            Text(d.label),
            Text(f"{d.answered}/{d.items}"),
            Text("not scored" if d.score is None else f"{d.score:g}"),
            Text(f"0-{d.max}"),
            Text("yes" if d.prorated else "no"),
        )
    console.print(table)
    total = (
        "not scored (too many unanswered items)" if result.total is None else f"{result.total:g}"
    )
    console.print(Text(f"Total: {total} of 100", style="bold"))
    for s in result.severity:
        band = f"{s.band} ({s.range})" if s.band else "-"
        console.print(Text(f"Severity, {s.label}: {band}"))
    valid = "yes" if result.valid else "no (fiqr.info rule)"
    console.print(Text(f"Valid: {valid}; prorated: {'yes' if result.prorated else 'no'}"))
    for d in result.domains:
        for index in d.unanswered:
            # JSON paths count from 0; people count items from 1.
            item = FIQR_ITEMS[d.id][index]
            console.print(Text(f"Unanswered: {d.label.lower()} item {index + 1} ({item})"))


def _show_notes(notes: tuple[Note, ...]) -> None:
    if notes:
        console.print(Text("Notes:"))
    for n in notes:
        console.print(Text(f"- {n.text} [{', '.join(n.sources)}]"))
