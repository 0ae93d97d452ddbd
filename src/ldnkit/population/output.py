"""What a population run writes: one row per patient (CSV or Parquet) and a summary."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from ldnkit.validation import InputError

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

    def add(self, rows: Sequence[dict[str, Any]]) -> None:
        # Column by column: a run counts every patient, so this is kept to a few passes.
        self.patients += len(rows)
        self.verdicts.update(row["verdict"] for row in rows)
        self.rules.update(r for row in rows for r in row["rules"].split(";") if r)
        self.on_naltrexone += sum(1 for row in rows if row["on_naltrexone"])
        self.with_active_opioids += sum(1 for row in rows if row["active_opioids"])
        self.with_candidate_conditions += sum(1 for row in rows if row["candidate_conditions"])

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


class Screened(NamedTuple):
    """One batch of output rows (an Arrow table) and what it holds."""

    table: Any
    summary: Summary


def screened(rows: list[dict[str, Any]]) -> Screened:
    """A batch of output rows, as written and counted."""
    summary = Summary()
    summary.add(rows)
    return Screened(pa.Table.from_pylist(rows, schema=OUTPUT_SCHEMA), summary)


def summarised(table: Any) -> Screened:
    """A table of output rows (from another process or engine), counted."""
    return screened(table.to_pylist())


class Writer:
    """Writes output batches sorted by patient id to CSV or Parquet, whole or not at all.

    An engine that delivers its batches in patient order (`in_order`) has them written as they
    come, so memory does not grow with the export; otherwise they are kept and sorted at the end.
    """

    def __init__(self, out: Path, in_order: bool = False) -> None:
        suffix = out.suffix.lower()
        if suffix not in (".csv", ".parquet"):
            raise InputError.single("--out", str(out), "a file name ending in .csv or .parquet")
        if not out.parent.is_dir():
            raise InputError.single("--out", str(out), "a file in an existing folder")
        self.out = out
        self.in_order = in_order
        # Written beside the target and renamed: a failed run never leaves a half file behind.
        self.partial = out.with_name(out.name + ".partial")
        self.kept: list[Any] = []
        self.sink: Any = None
        self.last_id: str | None = None

    def write(self, table: Any) -> None:
        if not self.in_order:
            self.kept.append(table)
        elif table.num_rows:
            ids = table.column("patient_id")
            if self.last_id is not None and ids[0].as_py() <= self.last_id:
                raise RuntimeError("population rows came out of patient order")
            self.last_id = ids[-1].as_py()
            self._sink().write_table(table)

    def _sink(self) -> Any:
        if self.sink is None:
            if self.out.suffix.lower() == ".parquet":
                self.sink = pq.ParquetWriter(self.partial, OUTPUT_SCHEMA)
            else:
                self.sink = pa_csv.CSVWriter(self.partial, OUTPUT_SCHEMA)
        return self.sink

    def close(self) -> None:
        """Sort what was kept, finish the file and put it in place."""
        try:
            if self.kept:
                self._sink().write_table(pa.concat_tables(self.kept).sort_by("patient_id"))
                self.kept = []
            self._sink().close()
            self.sink = None
            self.partial.replace(self.out)
        finally:
            self.abort()

    def abort(self) -> None:
        """Leave nothing behind (a failed run)."""
        if self.sink is not None:
            self.sink.close()
            self.sink = None
        self.partial.unlink(missing_ok=True)
