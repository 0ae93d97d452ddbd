"""Population screening throughput on a synthetic Bulk Data export (100,000 patients by default).

Prints patients per second for
- the floor: DuckDB's plain `read_json` scan of the same files (every field of every record read),
- the duckdb engine (`ldnkit population screen --engine duckdb`): its rows screened by one
  worker process per CPU (the default for large exports), and in one process,
- the spark engine (local[*]; skipped with --no-spark or when no JDK is installed),
- a naive pure-Python pass: `json` module, resources grouped in dicts, the same FHIR mapping
  (without fhir.resources validation) and the same screen,
and the ratios. Targets: duckdb >= 0.5x the plain scan, duckdb >= 10x the naive pass.

Run: .venv/bin/python bench/population.py [--patients N] [--folder DIR] [--no-spark]
(the export is generated into DIR, or a temporary folder, unless DIR already holds one).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ldnkit.domain.screening import screen
from ldnkit.fhir.mapping import profile_from_resources, subject_id
from ldnkit.fhir.reading import bulk_files
from ldnkit.population.duckdb_engine import plain_scan
from ldnkit.population.run import screen_population
from ldnkit.population.synth import generate

AS_OF = dt.date(2026, 11, 23)


def naive(folder: Path) -> None:
    """json.loads line by line, group per patient in dicts, map and screen each patient."""
    by_patient: dict[str, list[dict[str, Any]]] = defaultdict(list)
    patients: list[str] = []
    for paths in bulk_files(folder).values():
        for path in paths:
            with path.open(encoding="utf-8") as handle:
                for line in handle:
                    resource = json.loads(line)
                    if resource["resourceType"] == "Patient":
                        patients.append(resource["id"])
                        by_patient[resource["id"]].append(resource)
                    else:
                        pid = subject_id(resource)
                        if pid:
                            by_patient[pid].append(resource)
    for pid in patients:
        screen(profile_from_resources(by_patient[pid], AS_OF, pid, validate=False))


def timed(label: str, work: Callable[[], None], patients: int, rounds: int = 1) -> float:
    """Patients per second of the best of `rounds` runs (the machine may be shared)."""
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - start)
    print(f"{label:<34} {best:8.2f} s {patients / best:12,.0f} patients/s", flush=True)
    return patients / best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--patients", type=int, default=100_000)
    parser.add_argument("--folder", type=Path, default=None)
    parser.add_argument("--no-spark", action="store_true")
    parser.add_argument("--no-naive", action="store_true")
    parser.add_argument("--rounds", type=int, default=3, help="best of N for scan and duckdb")
    args = parser.parse_args()

    scratch = Path(tempfile.mkdtemp(prefix="ldnkit-bench-"))
    folder = args.folder or scratch / "export"
    try:
        if not (folder / "Patient.000.ndjson").exists():
            start = time.perf_counter()
            generate(args.patients, folder, seed=1, as_of=AS_OF)
            print(f"generated {args.patients:,} patients in {time.perf_counter() - start:.1f} s")
        patients = sum(1 for p in bulk_files(folder)["Patient"] for _ in p.open())
        size = sum(p.stat().st_size for p in folder.iterdir()) / 1e6
        print(f"export: {patients:,} patients, {size:,.0f} MB of NDJSON in {folder}\n")

        scan = timed(
            "plain read_json scan (floor)", lambda: plain_scan(folder), patients, args.rounds
        )
        duck = timed(
            "duckdb engine",
            lambda: screen_population(folder, AS_OF, scratch / "duckdb.parquet"),
            patients,
            args.rounds,
        )
        alone = timed(
            "duckdb engine, one process",
            lambda: screen_population(folder, AS_OF, scratch / "alone.parquet", workers=1),
            patients,
            args.rounds,
        )
        spark = None
        if not args.no_spark and shutil.which("java"):
            spark = timed(
                "spark engine (local[*])",
                lambda: screen_population(folder, AS_OF, scratch / "spark.parquet", engine="spark"),
                patients,
            )
        slow = (
            None
            if args.no_naive
            else timed("naive pure-Python pass", lambda: naive(folder), patients)
        )
        print()
        print(f"duckdb / plain scan : {duck / scan:6.2f}x   (target >= 0.5)")
        if slow:
            print(f"duckdb / naive      : {duck / slow:6.2f}x   (target >= 10)")
        print(f"duckdb, one process / plain scan : {alone / scan:6.2f}x")
        if slow:
            print(f"duckdb, one process / naive      : {alone / slow:6.2f}x")
        if spark:
            print(f"spark  / plain scan : {spark / scan:6.2f}x")
            if slow:
                print(f"spark  / naive      : {spark / slow:6.2f}x")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
