"""CLI command: `ldnkit outcomes --fhir DIR` (what happened to the clinic's LDN patients)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from ldnkit.cli.app import app
from ldnkit.cli.render import JSON_OPTION_HELP, Citations, console, date_option, emit
from ldnkit.knowledge import knowledge_base
from ldnkit.knowledge.outcomes import outcome_book
from ldnkit.validation import InputError

if TYPE_CHECKING:  # the statistics behind these load scipy: only the outcomes command pays for it
    from ldnkit.domain.outcomes import OutcomeRun, PersistenceFigures
    from ldnkit.domain.outcomes.figures import PublishedFigureOut

MAX_GRACE_DAYS = 365


def _responder() -> str:
    """The responder's fall in pain as the knowledge base defines it (outcomes.yaml), in words.

    Read when a table is drawn, not at import: every CLI command would pay for it."""
    return f"pain fell by {outcome_book().responder.min_reduction * 100:g}% or more"


# The clinic's rows: (label, figure name); a published figure naming the same figure sits beside.
_ROWS: tuple[tuple[str, str], ...] = (
    ("Prescribed LDN", "prescribed"),
    ("Never filled it", "never_started_rate"),
    ("Started (filled at least once)", "started"),
    ("With pain scores before and after", "with_response_measure"),
    ("Responders", "responder_rate_30"),  # labelled by _responder() when drawn
    ("Pain fell at all", "any_improvement_rate"),
    ("Mean change in pain (0-10)", "nrs_change_mean"),
    ("Median days on LDN", "persistence.median_days"),
    ("Still on LDN at 90 days", "persistence.at_90_days"),
    ("Still on LDN at 180 days", "persistence.at_180_days"),
)


@app.command("outcomes")
def outcomes_command(
    fhir: Annotated[
        Path | None,
        typer.Option("--fhir", help="Read a FHIR R4 Bulk Data export folder (NDJSON, .gz too)."),
    ] = None,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Count up to this date (YYYY-MM-DD; today).")
    ] = None,
    grace_days: Annotated[
        int | None,
        typer.Option(
            "--grace-days",
            help="Days after a fill's supply runs out before a patient counts as stopped (30).",
            min=0,
            max=MAX_GRACE_DAYS,
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help=JSON_OPTION_HELP)] = False,
) -> None:
    """Clinic outcomes of LDN: fills, pain response, persistence and what predicts response."""
    from ldnkit.population.outcomes import outcomes_from_export

    day = date_option("--as-of", as_of) or dt.date.today()
    if fhir is None:
        raise InputError.single(
            "--fhir",
            "nothing",
            "a FHIR Bulk Data export folder to read (outcomes from the clinic database are "
            "not available yet)",
        )
    run, export = outcomes_from_export(fhir, day, grace_days)
    skipped = [s.as_json() for s in export.skipped]
    data = {**run.figures.model_dump(mode="json"), "skipped": skipped}
    emit(data, as_json, lambda: _show(run, export.patients, skipped))


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def _published_pct(value: float) -> str:
    # As the article gives it: 44%, not 44.0%.
    return f"{100 * value:g}%"


def _ci(interval: tuple[float, float] | None, percent: bool) -> str:
    if interval is None:
        return ""
    low, high = interval
    if percent:
        return f" (95% CI {_pct(low)} to {_pct(high)})"
    return f" (95% CI {low:+.2f} to {high:+.2f})"


def _clinic_cell(run: OutcomeRun, key: str) -> str:
    from ldnkit.domain.outcomes.figures import clinic_value

    figures = run.figures
    measured = figures.with_response_measure
    if key == "never_started_rate":
        return f"{figures.never_started:,} ({_pct(clinic_value(key, figures))})"
    if key == "responder_rate_30":
        return (
            f"{figures.responders_30:,} of {measured:,}: {_pct(figures.responder_rate_30)}"
            + _ci(figures.responder_rate_30_ci, percent=True)
        )
    if key == "any_improvement_rate":
        return f"{figures.any_improvement:,} of {measured:,}: {_pct(figures.any_improvement_rate)}"
    if key == "nrs_change_mean":
        mean = figures.nrs_change_mean
        return "-" if mean is None else f"{mean:+.2f}" + _ci(figures.nrs_change_ci, False)
    value = clinic_value(key, figures)
    if value is None:
        return "-" if not key.startswith("persistence.at") else "not followed that long yet"
    if key.startswith("persistence.at"):
        return _pct(value)
    return f"{round(value):,}"


def _published_cell(figure: PublishedFigureOut, cite: Citations, notes: list[str]) -> str:
    value = {
        "proportion": _published_pct(figure.value),
        "points": f"{figure.value:+.2f}",
        "days": f"{figure.value:g} days",
        "patients": f"{figure.value:,.0f}",
    }[figure.unit]
    marks = cite.mark(figure.sources)
    if figure.note:
        notes.append(f"{figure.text} {marks} {figure.note}")
        return f"{value} {marks} *"
    return f"{value} {marks}"


def _persistence_line(grace: int, persistence: PersistenceFigures) -> str:
    median = persistence.median_days
    at_180 = persistence.at_180_days
    return (
        f"{grace} days: median {'not reached' if median is None else f'{median} days'}, "
        f"{'-' if at_180 is None else _pct(at_180)} still on LDN at 180 days"
    )


def _group_label(group: str) -> str:
    kind, _, key = group.partition(":")
    if kind == "condition":
        return knowledge_base().condition(key).name
    return f"{key} (ICD-10-CM category)"


def _show(run: OutcomeRun, patients: int, skipped: list[dict[str, Any]]) -> None:
    figures = run.figures
    cite = Citations(knowledge_base())
    notes: list[str] = []
    series = figures.published[0] if figures.published else None
    beside = {f.clinic: f for f in series.figures if f.clinic} if series else {}
    table = Table(
        title=f"LDN outcomes as of {figures.as_of.isoformat()} "
        f"({patients:,} patients in the export)"
    )
    table.add_column("")
    table.add_column("This clinic", justify="right")
    if series is not None:
        table.add_column("Published case series", justify="right")
    for label, key in _ROWS:
        if key == "responder_rate_30":
            label = _responder().capitalize()
        row = [label, _clinic_cell(run, key)]
        if series is not None:
            figure = beside.get(key)
            row.append(_published_cell(figure, cite, notes) if figure else "")
        table.add_row(*row)
    console.print(table)
    persistence = figures.persistence
    console.print(
        f"Persistence with {figures.grace_days} days' grace after a fill runs out: "
        f"{persistence.discontinued:,} stopped, {persistence.censored:,} still on LDN."
    )
    console.print(
        "With other grace periods: "
        + "; ".join(_persistence_line(g, p) for g, p in run.sensitivity)
        + "."
    )
    _show_predictors(run)
    if series is not None:
        console.print()
        console.print(Text(f"Published: {series.title}", style="bold"))
        console.print(f"  {series.setting} {cite.mark(series.sources)}", markup=False)
        for predictor in series.predictors:
            console.print(f"  - {predictor.text} {cite.mark(predictor.sources)}", markup=False)
        for note in notes:
            console.print(f"  * {note}", markup=False)
    if skipped:
        console.print()
        console.print(Text("Not counted", style="bold"))
        for item in skipped:
            example = f" (e.g. {item['resource']}/{item['example']})" if item["example"] else ""
            console.print(
                f"  {item['count']:,} {item['resource']}: {item['reason']}{example}",
                markup=False,
            )
    console.print()
    console.print(Text("References", style="bold"))
    for number, source in cite.references():
        link = f" {source.link}" if source.link else ""
        console.print(f"  [{number}] {source.citation}{link}", markup=False)


def _show_predictors(run: OutcomeRun) -> None:
    predictors = run.figures.predictors
    console.print()
    if not predictors:
        console.print(
            "Response by diagnosis: no diagnosis has 5 or more patients with pain scores "
            "before and after."
        )
        return
    table = Table(title=f"Response ({_responder()}) by diagnosis at the start")
    for column in ("Diagnosis", "Patients", "Responders", "Rate", "Everyone else"):
        table.add_column(column, justify="left" if column == "Diagnosis" else "right")
    table.add_column("Odds ratio", justify="right")
    table.add_column("p (Fisher)", justify="right")
    for p in predictors:
        table.add_row(
            _group_label(p.group),
            f"{p.n:,}",
            f"{p.responders:,}",
            _pct(p.rate),
            _pct(p.rest_rate),
            "not finite" if p.odds_ratio is None else f"{p.odds_ratio:.2f}",
            f"{p.p_fisher:.3g}",
        )
    console.print(table)
    console.print(
        "Diagnoses with 5 or more measured patients; p-values are not adjusted for the "
        "number of diagnoses compared."
    )
