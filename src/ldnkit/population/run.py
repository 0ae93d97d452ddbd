"""`ldnkit population screen`: a Bulk Data export in, one screened row per patient out."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Literal

from ldnkit.population.output import Screened, Summary, Writer
from ldnkit.validation import InputError

Engine = Literal["duckdb", "spark"]
ENGINES: tuple[str, ...] = ("duckdb", "spark")


def screen_population(
    folder: Path,
    as_of: dt.date,
    out: Path,
    engine: str = "duckdb",
    spark_master: str | None = None,
    progress: Callable[[int], None] | None = None,
    *,
    batch_size: int = 10_000,
    workers: int | None = None,
    memory: int | None = None,
) -> Summary:
    """Screen every patient of a Bulk Data export folder; write the rows to `out`.

    `workers`: processes screening the duckdb engine's rows (default: one per CPU for large
    exports, see `ldnkit.population.workers`). `memory`: the duckdb engine's memory budget in
    bytes (default: `duckdb_engine.memory_budget()`); Spark takes its memory from its own
    settings.
    """
    if engine not in ENGINES:
        raise InputError.single("--engine", engine, "one of " + ", ".join(ENGINES))
    if memory is not None and engine != "duckdb":
        raise InputError.single("--memory", f"{memory} bytes", "only with --engine duckdb")
    # DuckDB hands its rows over by patient id, so they are written as they come.
    writer = Writer(out, in_order=engine == "duckdb")
    summary = Summary()
    batches = (
        _spark_batches(folder, as_of, spark_master)
        if engine == "spark"
        else _duckdb_batches(folder, as_of, batch_size, workers, memory)
    )
    try:
        for batch in batches:
            writer.write(batch.table)
            summary.merge(batch.summary)
            if progress is not None:
                progress(batch.summary.patients)
        writer.close()
    finally:
        writer.abort()
    return summary


def _spark_batches(folder: Path, as_of: dt.date, spark_master: str | None) -> Iterator[Screened]:
    from ldnkit.population import spark_engine

    yield from spark_engine.screen_batches(folder, as_of, spark_master or "local[*]")


def _duckdb_batches(
    folder: Path, as_of: dt.date, batch_size: int, workers: int | None, memory: int | None
) -> Iterator[Screened]:
    from ldnkit.fhir.reading import bulk_medications, bulk_patients
    from ldnkit.population import duckdb_engine
    from ldnkit.population.rows import RowScreener, warm_up
    from ldnkit.population.workers import ScreeningPool, default_workers

    # A budget the machine cannot give stops the run before any work starts.
    memory = duckdb_engine.memory_budget(memory)
    medications = bulk_medications(folder)
    if workers is None:
        workers = default_workers(bulk_patients(folder))
    warm_up(as_of)

    # The workers fork here, before DuckDB starts threads of its own.
    def screener(conditions: dict[int, Any], orders: dict[int, Any]) -> RowScreener:
        return RowScreener(as_of, medications, conditions, orders)

    with (
        ScreeningPool(workers) as pool,
        duckdb_engine.patient_facts(folder, screener, batch_size, memory=memory) as facts,
    ):
        yield from pool.screen(facts.screener, facts.batches)
