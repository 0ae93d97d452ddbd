"""CLI command: `ldnkit outcomes` (what happened to the clinic's LDN patients), from the clinic
database or, with --fhir, from a FHIR Bulk Data export."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from ldnkit.cli.app import app
from ldnkit.cli.render import JSON_OPTION_HELP, console, date_option, emit
from ldnkit.validation import InputError

if TYPE_CHECKING:  # the statistics behind these load scipy: only the outcomes command pays for it
    from ldnkit.analytics.outcomes_report import Report
    from ldnkit.domain.outcomes import OutcomeRun
    from ldnkit.store.records import Actor
    from ldnkit.store.repository import Store

MAX_GRACE_DAYS = 365


@app.command("outcomes")
def outcomes_command(
    fhir: Annotated[
        Path | None,
        typer.Option(
            "--fhir",
            help="Read a FHIR R4 Bulk Data export folder (NDJSON, .gz too) instead of the "
            "clinic database.",
        ),
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
    account: Annotated[
        str | None,
        typer.Option(
            "--as",
            help="Count as this clinician (their own patients) or analyst (the whole clinic, "
            "groups under 5 withheld) would see it; default: the whole clinic.",
        ),
    ] = None,
    pdf: Annotated[
        Path | None, typer.Option("--pdf", help="Also write the report as a PDF to this file.")
    ] = None,
    csv_file: Annotated[
        Path | None, typer.Option("--csv", help="Also write the figures as CSV to this file.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help=JSON_OPTION_HELP)] = False,
) -> None:
    """Clinic outcomes of LDN: fills, pain response, persistence and what predicts response."""
    from ldnkit.analytics.outcomes_report import outcomes_report, skipped_line

    day = date_option("--as-of", as_of) or dt.date.today()
    if fhir is not None:
        if account is not None:
            raise InputError.single(
                "--as", account, "no account with --fhir (an export is counted whole)"
            )
        from ldnkit.population.outcomes import outcomes_from_export

        run, export = outcomes_from_export(fhir, day, grace_days)
        skipped = [s.as_json() for s in export.skipped]
        data: dict[str, Any] = {**run.figures.model_dump(mode="json"), "skipped": skipped}
        lines = [
            skipped_line(s, f"{s.resource}/{s.example}" if s.example else None)
            for s in export.skipped
        ]
        report = outcomes_report(run, f"{export.patients:,} patients in the export", skipped=lines)
        withheld: frozenset[str] = frozenset()
        stopped: dict[str, int] | None = None
        suppressed = False
    else:
        from ldnkit.bootstrap import open_store
        from ldnkit.services.outcomes import clinic_report

        store = open_store()
        try:
            clinic = clinic_report(store, _actor(store, account), day, grace_days)
        finally:
            store.close()
        run, withheld, stopped, suppressed = (
            clinic.run,
            clinic.withheld,
            clinic.stopped,
            clinic.suppressed,
        )
        data = clinic.json()
        report = clinic.report()
    if pdf is not None:
        _write_pdf(pdf, run, report, withheld, suppressed)
    if csv_file is not None:
        from ldnkit.analytics.outcomes_report import outcomes_csv

        _write(csv_file, outcomes_csv(run, stopped=stopped, withheld=withheld).encode())
    emit(data, as_json, lambda: _show(report))


def _actor(store: Store, email: str | None) -> Actor | None:
    if email is None:
        return None
    account = store.account_by_email(email)
    if account is None or account.role not in ("clinician", "analyst"):
        raise InputError.single("--as", email, "the email of a clinician or analyst account")
    return account.actor


def _write(path: Path, content: bytes) -> None:
    try:
        path.write_bytes(content)
    except OSError as exc:
        raise InputError.single(
            "file", str(path), f"a file that can be written ({exc.strerror})"
        ) from None


def _write_pdf(
    path: Path, run: OutcomeRun, report: Report, withheld: frozenset[str], suppressed: bool
) -> None:
    from ldnkit.analytics.outcomes_report import report_pdf

    _write(path, report_pdf(run, report, withheld, suppressed=suppressed))


def _show(report: Report) -> None:
    table = Table(title=f"{report.title} ({report.scope})")
    table.add_column("")
    table.add_column("This clinic", justify="right")
    if report.published_title:
        table.add_column("Published case series", justify="right")
    for row in report.rows:
        cells = [row.label, row.clinic] + ([row.published] if report.published_title else [])
        table.add_row(*cells)
    console.print(table)
    if report.suppression_note:
        console.print(report.suppression_note, markup=False)
    console.print(report.persistence, markup=False)
    console.print("With other grace periods: " + "; ".join(report.sensitivity) + ".")
    _show_predictors(report)
    if report.stopped:
        console.print()
        stops = Table(title="Stopped by their clinician, by the first reason recorded")
        stops.add_column("Reason")
        stops.add_column("Patients", justify="right")
        for row in report.stopped:
            stops.add_row(row.label, row.clinic)
        console.print(stops)
    if report.published_title:
        console.print()
        console.print(Text(f"Published: {report.published_title}", style="bold"))
        console.print(f"  {report.published_setting}", markup=False)
        for line in report.published_predictors:
            console.print(f"  - {line}", markup=False)
        for note in report.published_notes:
            console.print(f"  * {note}", markup=False)
    if report.skipped:
        console.print()
        console.print(Text("Not counted", style="bold"))
        for line in report.skipped:
            console.print(f"  {line}", markup=False)
    console.print()
    console.print(Text("References", style="bold"))
    for reference in report.references:
        link = f" {reference.link}" if reference.link else ""
        console.print(f"  [{reference.number}] {reference.citation}{link}", markup=False)


def _show_predictors(report: Report) -> None:
    console.print()
    if not report.predictors:
        console.print(
            "Response by diagnosis: no diagnosis has 5 or more patients with pain scores "
            "before and after."
        )
        return
    table = Table(title=f"Response ({report.responder_words}) by diagnosis at the start")
    for column in ("Diagnosis", "Patients", "Responders", "Rate", "Everyone else"):
        table.add_column(column, justify="left" if column == "Diagnosis" else "right")
    table.add_column("Odds ratio", justify="right")
    table.add_column("p (Fisher)", justify="right")
    for p in report.predictors:
        table.add_row(p.label, p.n, p.responders, p.rate, p.rest_rate, p.odds_ratio, p.p_fisher)
    console.print(table)
    console.print(report.predictors_note)
