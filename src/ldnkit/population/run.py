"""`ldnkit population screen`: a Bulk Data export in, one screened row per patient out."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, NamedTuple

import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.csv as pa_csv  # type: ignore[import-untyped]
import pyarrow.parquet as pq  # type: ignore[import-untyped]

from ldnkit.validation import InputError

Engine = Literal["duckdb", "spark"]
ENGINES: tuple[str, ...] = ("duckdb", "spark")

OUTPUT_SCHEMA = pa.schema(
    [
        ("patient_id", pa.string()),
        ("verdict", pa.string()),
        ("earliest_start", pa.date32()),
        ("rules", pa.string()),
        ("on_naltrexone", pa.bool_()),
        ("active_opioids", pa.string()),
        ("candidate_conditions", pa.string()),
        ("age", pa.int32()),
        ("sex", pa.string()),
    ]
)


@dataclass
class Summary:
    """What a population run found, for the terminal table and `--json`."""

    patients: int = 0
    verdicts: Counter[str] = field(default_factory=Counter)
    rules: Counter[str] = field(default_factory=Counter)
    on_naltrexone: int = 0
    with_active_opioids: int = 0
    with_candidate_conditions: int = 0

    def add(self, rows: Iterable[dict[str, Any]]) -> None:
        for row in rows:
            self.patients += 1
            self.verdicts[row["verdict"]] += 1
            self.rules.update(r for r in row["rules"].split(";") if r)
            self.on_naltrexone += bool(row["on_naltrexone"])
            self.with_active_opioids += bool(row["active_opioids"])
            self.with_candidate_conditions += bool(row["candidate_conditions"])

    def merge(self, other: Summary) -> None:
        """Add what another part of the same run found."""
        self.patients += other.patients
        self.verdicts.update(other.verdicts)
        self.rules.update(other.rules)
        self.on_naltrexone += other.on_naltrexone
        self.with_active_opioids += other.with_active_opioids
        self.with_candidate_conditions += other.with_candidate_conditions

    def as_json(self, out: Path, engine: str, as_of: dt.date) -> dict[str, Any]:
        return {
            "out": str(out),
            "engine": engine,
            "as_of": as_of.isoformat(),
            "patients": self.patients,
            "verdicts": {
                v: self.verdicts.get(v, 0)
                for v in ("eligible", "caution", "wait", "contraindicated")
            },
            "rules": dict(self.rules.most_common()),
            "on_naltrexone": self.on_naltrexone,
            "with_active_opioids": self.with_active_opioids,
            "with_candidate_conditions": self.with_candidate_conditions,
        }


class _Writer:
    """Collects output batches; writes them sorted by patient id to CSV or Parquet."""

    def __init__(self, out: Path) -> None:
        suffix = out.suffix.lower()
        if suffix not in (".csv", ".parquet"):
            raise InputError.single("--out", str(out), "a file name ending in .csv or .parquet")
        if not out.parent.is_dir():
            raise InputError.single("--out", str(out), "a file in an existing folder")
        self.out = out
        self.tables: list[Any] = []

    def write(self, table: Any) -> None:
        self.tables.append(table)

    def close(self) -> None:
        # Sorted, so both engines (which group in different orders) write the same file.
        table = pa.concat_tables(self.tables or [OUTPUT_SCHEMA.empty_table()])
        table = table.sort_by("patient_id")
        # Written beside the target and renamed: a failed run never leaves a half file behind.
        partial = self.out.with_name(self.out.name + ".partial")
        try:
            if self.out.suffix.lower() == ".parquet":
                pq.write_table(table, partial)
            else:
                pa_csv.write_csv(table, partial)
            partial.replace(self.out)
        finally:
            partial.unlink(missing_ok=True)


class Screened(NamedTuple):
    """One batch of output rows (an Arrow table) and what it holds."""

    table: Any
    summary: Summary


def screened(rows: list[dict[str, Any]]) -> Screened:
    """A batch of output rows, as written and counted."""
    summary = Summary()
    summary.add(rows)
    return Screened(pa.Table.from_pylist(rows, schema=OUTPUT_SCHEMA), summary)


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
) -> Summary:
    """Screen every patient of a Bulk Data export folder; write the rows to `out`.

    `workers`: processes screening the duckdb engine's rows (default: one per CPU for large
    exports, see `ldnkit.population.workers`).
    """
    if engine not in ENGINES:
        raise InputError.single("--engine", engine, "one of " + ", ".join(ENGINES))
    writer = _Writer(out)
    summary = Summary()
    batches = (
        _spark_batches(folder, as_of, spark_master)
        if engine == "spark"
        else _duckdb_batches(folder, as_of, batch_size, workers)
    )
    for batch in batches:
        writer.write(batch.table)
        summary.merge(batch.summary)
        if progress is not None:
            progress(batch.summary.patients)
    writer.close()
    return summary


def _spark_batches(folder: Path, as_of: dt.date, spark_master: str | None) -> Iterator[Screened]:
    from ldnkit.population import spark_engine

    rows = spark_engine.screen_rows(folder, as_of, spark_master or "local[*]")
    for start in range(0, len(rows), 20_000):
        yield screened(rows[start : start + 20_000])


def _duckdb_batches(
    folder: Path, as_of: dt.date, batch_size: int, workers: int | None
) -> Iterator[Screened]:
    from ldnkit.population import duckdb_engine
    from ldnkit.population import workers as pool
    from ldnkit.population.rows import RowScreener

    index = duckdb_engine.medication_index(folder)
    with duckdb_engine.patient_facts(folder, batch_size) as facts:
        screener = RowScreener(as_of, index, facts.condition_kinds, facts.order_kinds)
        # Read whole before screening: the rows are small (kinds and dates), and worker
        # processes must start after DuckDB has closed (no threads of its own to fork).
        batches = list(facts.batches)
    yield from pool.screen_batches(screener, batches, workers)
