"""Clinic outcomes throughput on a generated LDN clinic export (100,000 prescribed patients).

Prints prescribed patients per second and peak memory (RSS) for
- the floor: DuckDB's plain `read_json` scan of the same files (every field of every record),
- `ldnkit outcomes --fhir` end to end: the DuckDB reading, the checks, the courses and the
  domain's figures (Kaplan-Meier at three grace periods, Fisher per diagnosis group),
and the ratio. Target: outcomes >= 0.5x the plain scan.

Each run happens in a fresh process, so that its peak memory is its own (the outcomes run
forks one worker per CPU for large exports; the largest worker's peak is shown beside the
parent's). Best of --rounds.
Run: .venv/bin/python bench/outcomes.py [--patients N] [--folder DIR] [--rounds 3]
(the export is generated into DIR, or a temporary folder, unless DIR already holds one).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ldnkit.population.duckdb_engine import plain_scan
from ldnkit.population.outcomes import outcomes_from_export
from ldnkit.population.outcomes_synth import generate_clinic

AS_OF = dt.date(2026, 11, 23)


def _measure(kind: str, folder: Path) -> dict[str, float]:
    """Run once in this (fresh) process: seconds, peak RSS of it and of its workers, count."""
    start = time.perf_counter()
    if kind == "scan":
        count = plain_scan(folder)
    else:
        run, _ = outcomes_from_export(folder, AS_OF)
        count = run.figures.prescribed
    seconds = time.perf_counter() - start
    # ru_maxrss is in KB on Linux; the workers' is the largest of them.
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    workers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {"seconds": seconds, "rss": own, "workers_rss": workers, "count": count}


def timed(label: str, kind: str, folder: Path, rounds: int) -> tuple[float, int]:
    """Best seconds of `rounds` runs (the machine may be shared), and what the run counted."""
    runs = []
    for _ in range(rounds):
        command = [sys.executable, __file__, "--measure", kind, "--folder", str(folder)]
        done = subprocess.run(command, check=True, capture_output=True, text=True)
        runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
    best = min(r["seconds"] for r in runs)
    own = max(r["rss"] for r in runs)
    workers = max(r["workers_rss"] for r in runs)
    count = int(runs[0]["count"])
    what = "records read" if kind == "scan" else "prescribed patients"
    memory = f"peak RSS {own:6,.0f} MB" + (f" (+ {workers:,.0f} MB per worker)" if workers else "")
    print(f"{label:<30} {best:8.2f} s   {memory}   {count:,} {what}", flush=True)
    return best, count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--patients", type=int, default=100_000)
    parser.add_argument("--folder", type=Path, default=None)
    parser.add_argument("--rounds", type=int, default=3, help="best of N for each")
    parser.add_argument("--measure", choices=("scan", "outcomes"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(_measure(args.measure, args.folder)))
        return

    scratch = Path(tempfile.mkdtemp(prefix="ldnkit-bench-"))
    folder = args.folder or scratch / "export"
    try:
        if not (folder / "MedicationRequest.000.ndjson").exists():
            start = time.perf_counter()
            counts = generate_clinic(args.patients, folder, seed=1, as_of=AS_OF)
            print(
                f"generated {args.patients:,} prescribed patients in "
                f"{time.perf_counter() - start:.1f} s: {counts}"
            )
        size = sum(p.stat().st_size for p in folder.iterdir()) / 1e6
        print(f"export: {size:,.0f} MB of NDJSON in {folder}\n")

        scan, _ = timed("plain read_json scan (floor)", "scan", folder, args.rounds)
        outcomes, patients = timed("ldnkit outcomes --fhir", "outcomes", folder, args.rounds)
        print()
        print(f"plain scan             {patients / scan:10,.0f} patients/s")
        print(f"ldnkit outcomes --fhir {patients / outcomes:10,.0f} patients/s")
        print(f"outcomes / plain scan : {scan / outcomes:6.2f}x   (target >= 0.5)")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
