"""CLI commands: `ldnkit population screen` and `ldnkit population synth`."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from ldnkit.cli.app import app
from ldnkit.cli.render import (
    JSON_OPTION_HELP,
    console,
    date_option,
    emit,
    print_counts,
    size_option,
)
from ldnkit.knowledge.rules import rule_texts
from ldnkit.validation import InputError

population_app = typer.Typer(
    help="Screen a whole population from a FHIR Bulk Data export (DuckDB or Spark).",
    no_args_is_help=True,
)
app.add_typer(population_app, name="population")

_VERDICT_STYLE = {
    "eligible": "green",
    "caution": "yellow",
    "wait": "cyan",
    "contraindicated": "red",
}


def _progress(label: str, quiet: bool) -> Progress:
    return Progress(
        TextColumn(label),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=quiet,
    )


@population_app.command("screen")
def screen_command(
    folder: Annotated[Path, typer.Argument(help="Bulk Data export folder (Type.000.ndjson[.gz]).")],
    out: Annotated[Path, typer.Option("--out", help="Output file: .csv or .parquet.")],
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Screen as of this date (YYYY-MM-DD; today).")
    ] = None,
    engine: Annotated[
        str, typer.Option("--engine", help="duckdb (embedded, default) or spark.")
    ] = "duckdb",
    spark_master: Annotated[
        str | None,
        typer.Option("--spark-master", help="Spark master URL (default local[*])."),
    ] = None,
    memory: Annotated[
        str | None,
        typer.Option(
            "--memory",
            help="Memory for the duckdb engine, e.g. 4GiB (default: a quarter of the "
            "machine's, 256MiB to 1GiB). More screens large exports faster.",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help=JSON_OPTION_HELP)] = False,
) -> None:
    """Screen every patient of a FHIR Bulk Data export; one row per patient in --out."""
    from ldnkit.population.duckdb_engine import count_patients, memory_budget
    from ldnkit.population.run import ENGINES, screen_population

    day = date_option("--as-of", as_of) or dt.date.today()
    if engine not in ENGINES:
        raise InputError.single("--engine", engine, "one of " + ", ".join(ENGINES))
    if spark_master is not None and engine != "spark":
        raise InputError.single("--spark-master", spark_master, "only with --engine spark")
    budget = None
    if memory is not None:
        if engine != "duckdb":
            raise InputError.single("--memory", memory, "only with --engine duckdb")
        budget = memory_budget(size_option("--memory", memory), typed=memory)
    total = count_patients(folder)
    with _progress(f"Screening ({engine})", as_json) as bar:
        task = bar.add_task("screen", total=total)
        summary = screen_population(
            folder, day, out, engine, spark_master, lambda n: bar.advance(task, n), memory=budget
        )
    data = summary.as_json(out, engine, day)
    emit(data, as_json, lambda: _show_summary(data))


def _show_summary(data: dict[str, Any]) -> None:
    patients = data["patients"]
    table = Table(title=f"Population screen as of {data['as_of']}: {patients} patients")
    table.add_column("Verdict")
    table.add_column("Patients", justify="right")
    table.add_column("Share", justify="right")
    for verdict, count in data["verdicts"].items():
        share = f"{100 * count / patients:.1f}%" if patients else "-"
        style = _VERDICT_STYLE[verdict]
        table.add_row(f"[{style}]{verdict}[/{style}]", str(count), share)
    console.print(table)
    # The findings by the titles a clinician reads on the screen (the JSON and the rows keep
    # the rule ids other programs read).
    texts = rule_texts()
    rules = Table(title="Findings (patients)")
    rules.add_column("Finding")
    rules.add_column("Patients", justify="right")
    for rule, count in data["rules"].items():
        rules.add_row(texts[rule].title if rule in texts else rule, str(count))
    if data["rules"]:
        console.print(rules)
    console.print(
        f"On naltrexone: {data['on_naltrexone']}; with active opioids: "
        f"{data['with_active_opioids']}; with a candidate condition: "
        f"{data['with_candidate_conditions']}."
    )
    console.print(f"Rows written to {data['out']} ({data['engine']}).")


# 100,000 patients are 1.5 GB of NDJSON; a million (15 GB) is past any benchmark's need, and a
# mistyped count must not fill the disk.
MAX_SYNTH_PATIENTS = 1_000_000


@population_app.command("synth")
def synth_command(
    out: Annotated[Path, typer.Option("--out", help="Folder to write the export into.")],
    patients: Annotated[
        int,
        typer.Option(
            "--patients",
            help=f"How many patients (at most {MAX_SYNTH_PATIENTS:,}).",
            min=1,
            max=MAX_SYNTH_PATIENTS,
        ),
    ],
    seed: Annotated[int, typer.Option("--seed", help="Random seed (same seed, same data).")] = 0,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Dates are generated up to this day (today).")
    ] = None,
    gzip: Annotated[bool, typer.Option("--gzip", help="Write .ndjson.gz files.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help=JSON_OPTION_HELP)] = False,
) -> None:
    """Write a synthetic FHIR Bulk Data export shaped like Synthea's, for scale tests."""
    from ldnkit.population.synth import generate

    day = date_option("--as-of", as_of) or dt.date.today()
    if out.exists() and not out.is_dir():
        raise InputError.single("--out", str(out), "a folder (new or existing)")
    with _progress("Generating", as_json) as bar:
        task = bar.add_task("synth", total=patients)
        counts = generate(
            patients,
            out,
            seed=seed,
            as_of=day,
            compress=gzip,
            progress=lambda n: bar.advance(task, n),
        )
    data = {"out": str(out), "patients": patients, "resources": counts}

    emit(data, as_json, lambda: print_counts(f"Synthetic export in {out}", counts))
