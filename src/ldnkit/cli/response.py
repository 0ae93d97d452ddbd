"""CLI command: `ldnkit response DIARY.json --start DATE` (is LDN helping?)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import BaseModel, ConfigDict, Field
from rich.table import Table

from ldnkit.analytics.charts import symptom_chart_svg
from ldnkit.cli.app import app
from ldnkit.cli.render import (
    JSON_OPTION_HELP,
    console,
    date_option,
    emit,
    parse_model,
)
from ldnkit.domain.diary import DiaryEntry
from ldnkit.domain.response import Intake, ResponseAssessment, assess
from ldnkit.jsoninput import read_json_file
from ldnkit.knowledge.limits import limits
from ldnkit.validation import InputError, Problem, show


class PlanStep(BaseModel):
    """A plan step as `ldnkit plan --json` prints it (time and note are accepted and unused)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    start: dt.date
    end: dt.date | None = None
    dose_mg: Annotated[float, Field(gt=0, le=12)]
    time: str | None = None
    note: str | None = None


class DiaryFile(BaseModel):
    """DIARY.json: `{"intake": {...}, "entries": [...], "steps": [...]}` or a bare entry list."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    intake: Intake | None = None
    entries: list[DiaryEntry]
    steps: list[PlanStep] = Field(default_factory=list)


def read_diary(data: Any) -> DiaryFile:
    """Validate a diary document; every bad field and every repeated day is one problem."""
    diary = parse_model(DiaryFile, {"entries": data} if isinstance(data, list) else data)
    first_index: dict[dt.date, int] = {}
    problems = []
    for index, entry in enumerate(diary.entries):
        if entry.day in first_index:
            problems.append(
                Problem(
                    f"entries[{index}].day",
                    show(entry.day.isoformat()),
                    f"one entry per day (entries[{first_index[entry.day]}] has the same day; "
                    "merge them first)",
                )
            )
        first_index.setdefault(entry.day, index)
    if problems:
        raise InputError(problems)
    return diary


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:+.1f}%"


def _render(result: ResponseAssessment) -> None:
    status = result.status.replace("_", " ")
    console.print(
        f"Response on {result.as_of.isoformat()} (day {result.days_on_treatment} since "
        f"{result.start.isoformat()}): [bold]{status}[/bold]"
    )
    for missing in result.missing:
        console.print(f"  too few entries to judge: needs {missing}")
    if result.measures:
        table = Table(
            title=f"Baseline against the latest {limits().response.latest_window.days} days",
            caption="Pain and fatigue: lower is better. Sleep quality and mood: higher is better.",
        )
        for column in ("Measure", "Baseline", "Latest", "Change [95% CI]", "Better by", "IMMPACT"):
            table.add_column(column, no_wrap=column.startswith("Change"))
        for change in result.measures.values():
            low, high = change.ci_absolute
            table.add_row(
                change.measure.replace("_", " "),
                f"{change.baseline:.2f}",
                f"{change.latest:.2f}",
                f"{change.absolute_change:+.2f} [{low:+.2f}, {high:+.2f}]",
                _pct(change.improvement_pct),
                (change.category or "-").replace("_", " "),
            )
        console.print(table)
        source = "diary days before the start" if result.baseline_source == "diary" else "intake"
        console.print(
            f"Baseline from {source}; {result.latest_entries} entries since "
            f"{result.latest_from.isoformat()}."
        )
    if result.first_sustained_30pct_day is not None:
        console.print(
            f"First sustained {limits().response.moderate_improvement.percent:g}% improvement in "
            f"pain: {result.first_sustained_30pct_day} "
            f"(day {result.days_to_sustained_30pct})"
        )
    if result.steps:
        steps = Table(title="Dose steps")
        for column in ("From", "To", "Dose", "Entries", "Doses taken", "Pain", "Pain better by"):
            steps.add_column(column)
        for step in result.steps:
            steps.add_row(
                step.start.isoformat(),
                step.end.isoformat() if step.end else "ongoing",
                f"{step.dose_mg:g} mg",
                str(step.entries),
                str(step.doses_taken),
                "-" if step.pain is None else f"{step.pain:.1f}",
                _pct(step.pain_improvement_pct),
            )
        console.print(steps)
    a = result.adherence
    console.print(
        f"Adherence: dose recorded on {a.days_dose_taken} of {a.days_with_entry} diary days"
        + (f" ({a.adherence_pct:g}%)" if a.adherence_pct is not None else "")
        + f"; diary kept on {a.completeness_pct:g}% of {a.days_in_period} days."
    )
    for course in result.side_effect_timeline:
        state = "ongoing" if course.ongoing else "no longer reported"
        console.print(
            f"Side effect: {course.name}, {course.days_reported} days from {course.first_day} "
            f"to {course.last_day}, worst {course.worst_severity}, {state}"
        )
    if result.morning_dose_suggestion is not None:
        s = result.morning_dose_suggestion
        console.print(f"Suggestion: {s.message} [{', '.join(s.sources)}]", markup=False)
    rec = result.recommendation
    console.print(f"Recommendation: [bold]{rec.action.replace('_', ' ')}[/bold] (due {rec.due})")
    for reason in rec.reasons:
        cite = f" [{', '.join(reason.sources)}]" if reason.sources else ""
        console.print(f"  - {reason.text}{cite}", markup=False)


@app.command(
    "response",
    help="Assess the response to LDN: baseline against the latest "
    f"{limits().response.latest_window.days} days, with intervals.",
)
def response_command(
    diary_file: Annotated[
        Path,
        typer.Argument(
            metavar="DIARY.json",
            help='A list of diary entries, or {"intake": {...}, "entries": [...], "steps": [...]}.',
        ),
    ],
    start: Annotated[str, typer.Option(help="LDN start date, YYYY-MM-DD.")],
    as_of: Annotated[
        str | None, typer.Option(help="Assess as of this day, YYYY-MM-DD (default: last entry).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help=JSON_OPTION_HELP)] = False,
    svg: Annotated[
        Path | None, typer.Option(help="Also write the symptom chart as SVG to this file.")
    ] = None,
) -> None:
    first = date_option("--start", start)
    assert first is not None  # a required option
    until = date_option("--as-of", as_of)
    diary = read_diary(read_json_file(diary_file, "DIARY.json"))
    day = until or max((e.day for e in diary.entries), default=first)
    steps = [(s.start, s.end, s.dose_mg) for s in diary.steps]
    result = assess(diary.entries, first, day, intake=diary.intake, steps=steps)
    if svg is not None:
        shown = steps or [(s.start, s.end, s.dose_mg) for s in result.steps]
        svg.write_text(symptom_chart_svg(diary.entries, shown), encoding="utf-8")
    emit(result, as_json, lambda: _render(result))
