"""Population screening on DuckDB: same verdicts as the one-patient screen, at scale."""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import json
import shutil
from collections import defaultdict
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from ldnkit.cli import main
from ldnkit.domain.screening import read_when_stopped, screen
from ldnkit.fhir.mapping import profile_from_resources, subject_id
from ldnkit.fhir.reading import read_resources
from ldnkit.population.run import screen_population
from ldnkit.population.synth import generate

SYNTHEA = Path(__file__).resolve().parents[1] / "fixtures" / "synthea-bulk-10"
AS_OF = dt.date(2026, 11, 23)


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("synthetic")
    generate(400, folder, seed=7, as_of=AS_OF, per_file=1500)
    return folder


def read_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def one_by_one(folder: Path) -> dict[str, Any]:
    """The reference: every patient mapped and screened alone, resource by resource."""
    by_patient: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for resource in read_resources(folder):
        pid = resource["id"] if resource["resourceType"] == "Patient" else subject_id(resource)
        if pid:
            by_patient[pid].append(resource)
    return {
        pid: screen(profile_from_resources(resources, AS_OF, pid))
        for pid, resources in by_patient.items()
        if any(r["resourceType"] == "Patient" for r in resources)
    }


@pytest.mark.parametrize("source", ["synthea", "synthetic"])
def test_each_row_matches_screening_the_patient_alone(
    source: str, synthetic: Path, tmp_path: Path
) -> None:
    folder = SYNTHEA if source == "synthea" else synthetic
    out = tmp_path / "rows.csv"
    screen_population(folder, AS_OF, out)
    rows = read_rows(out)
    expected = one_by_one(folder)
    assert sorted(r["patient_id"] for r in rows) == sorted(expected)
    for row in rows:
        alone = expected[row["patient_id"]]
        assert row["verdict"] == alone.verdict, row["patient_id"]
        assert row["rules"] == ";".join(dict.fromkeys(f.rule for f in alone.findings))
        assert row["earliest_start"] == (
            alone.earliest_start.isoformat() if alone.earliest_start else ""
        )


def test_synthea_resolved_conditions_and_stopped_orders_do_not_count(tmp_path: Path) -> None:
    out = tmp_path / "rows.csv"
    screen_population(SYNTHEA, AS_OF, out)
    rows = {r["patient_id"]: r for r in read_rows(out)}
    assert len(rows) == 13
    # The meperidine order (an opioid) was stopped in 1980: no opioid finding for her.
    meperidine = rows["79a66c97-6131-3213-f3c9-4606946ab056"]
    assert meperidine["active_opioids"] == ""
    assert "opioid" not in meperidine["rules"]
    # Chronic low back pain is active for this patient and is a candidate condition.
    assert (
        "Chronic low-back pain"
        in rows["ca15b832-01e4-41dd-6a52-97bd3e5510cb"]["candidate_conditions"]
    )
    # Social findings and resolved conditions are no candidate for anyone.
    assert all(r["on_naltrexone"] == "false" for r in rows.values())


def test_stopped_orders_no_rule_reads_still_make_a_medication_list(
    synthetic: Path, tmp_path: Path
) -> None:
    # The engines keep one such order per patient instead of each (they change no result);
    # a patient with nothing else must still not read as having no medications recorded.
    by_patient: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for resource in read_resources(synthetic):
        pid = resource["id"] if resource["resourceType"] == "Patient" else subject_id(resource)
        if pid:
            by_patient[pid].append(resource)
    only_quiet = []
    for pid, resources in by_patient.items():
        medications = profile_from_resources(resources, AS_OF, pid).medications
        if medications and not any(
            m.status == "active" or read_when_stopped(m) for m in medications
        ):
            only_quiet.append(pid)
    assert len(only_quiet) >= 5
    out = tmp_path / "rows.csv"
    screen_population(synthetic, AS_OF, out)
    rows = {r["patient_id"]: r for r in read_rows(out)}
    for pid in only_quiet:
        assert "medications-none-recorded" not in rows[pid]["rules"].split(";")


def test_opioid_and_naltrexone_columns_follow_active_orders(
    synthetic: Path, tmp_path: Path
) -> None:
    out = tmp_path / "rows.parquet"
    screen_population(synthetic, AS_OF, out)
    table = pq.read_table(out).to_pylist()
    on_opioids = [r for r in table if r["active_opioids"]]
    assert on_opioids
    assert all(r["verdict"] == "contraindicated" for r in on_opioids)
    assert all("opioid-active" in r["rules"].split(";") for r in on_opioids)
    assert any(r["on_naltrexone"] for r in table)
    assert {r["verdict"] for r in table} == {"eligible", "caution", "wait", "contraindicated"}


def test_gzipped_and_split_files_give_the_same_rows(synthetic: Path, tmp_path: Path) -> None:
    packed = tmp_path / "packed"
    packed.mkdir()
    for path in synthetic.iterdir():
        with path.open("rb") as src, gzip.open(packed / (path.name + ".gz"), "wb") as dst:
            shutil.copyfileobj(src, dst)
    plain, zipped = tmp_path / "plain.csv", tmp_path / "zipped.csv"
    screen_population(synthetic, AS_OF, plain)
    screen_population(packed, AS_OF, zipped)
    assert plain.read_text() == zipped.read_text()
    assert len(list(packed.glob("Condition.*.ndjson.gz"))) > 1


def test_worker_processes_write_the_same_rows_as_one_process(
    synthetic: Path, tmp_path: Path
) -> None:
    alone, shared = tmp_path / "alone.csv", tmp_path / "shared.csv"
    one = screen_population(synthetic, AS_OF, alone, batch_size=64, workers=1)
    two = screen_population(synthetic, AS_OF, shared, batch_size=64, workers=2)
    assert shared.read_text() == alone.read_text()
    assert two == one
    assert two.patients == 400


@pytest.mark.parametrize("source", ["synthea", "synthetic"])
def test_kinds_sharing_a_hash_are_joined_by_fragment_with_the_same_rows(
    source: str, synthetic: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ldnkit.population import reduction

    folder = SYNTHEA if source == "synthea" else synthetic
    by_hash, by_fragment = tmp_path / "hash.csv", tmp_path / "fragment.csv"
    screen_population(folder, AS_OF, by_hash)
    used: list[str] = []
    queries = reduction.queries

    def spy(dialect: reduction.Dialect, by_hash: bool = True) -> tuple[dict[str, str], str]:
        kinds, rows = queries(dialect, by_hash)
        used.append(rows)
        return kinds, rows

    # As if two kinds of each table had collided.
    monkeypatch.setattr(reduction, "HASHES_UNIQUE", "SELECT false AS one_each -- {}")
    monkeypatch.setattr(reduction, "queries", spy)
    screen_population(folder, AS_OF, by_fragment)
    assert "k.fragment_hash" not in used[-1]
    assert "k.fragment IS NOT DISTINCT FROM" in used[-1]
    assert by_fragment.read_text() == by_hash.read_text()


@pytest.mark.parametrize("source", ["synthea", "synthetic"])
def test_an_export_too_large_for_the_memory_budget_parses_twice_with_the_same_rows(
    source: str, synthetic: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ldnkit.population import duckdb_engine

    folder = SYNTHEA if source == "synthea" else synthetic
    parsed = []
    register = duckdb_engine.register_views

    def watched(*args: Any, **kwargs: Any) -> Any:
        parsed.append(tuple(kwargs.get("tables", ())))
        return register(*args, **kwargs)

    monkeypatch.setattr(duckdb_engine, "register_views", watched)
    once, twice = tmp_path / "once.csv", tmp_path / "twice.csv"
    screen_population(folder, AS_OF, once)
    monkeypatch.setattr(duckdb_engine, "_TABLES_SHARE", 0)
    screen_population(folder, AS_OF, twice)
    assert parsed == [("Condition", "MedicationRequest"), ()]
    assert twice.read_text() == once.read_text()
    assert len(read_rows(once)) > 5


def test_a_tight_memory_budget_writes_the_same_rows_and_leaves_no_spill_folder(
    synthetic: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tempfile

    roomy, tight = tmp_path / "roomy.csv", tmp_path / "tight.csv"
    screen_population(synthetic, AS_OF, roomy)
    limits: list[str] = []
    made = tempfile.TemporaryDirectory

    def spill_folder(*args: Any, **kwargs: Any) -> Any:
        folder = made(*args, **kwargs)
        limits.append(folder.name)
        return folder

    monkeypatch.setattr(tempfile, "TemporaryDirectory", spill_folder)
    screen_population(synthetic, AS_OF, tight, batch_size=50, memory=256 << 20)
    assert tight.read_text() == roomy.read_text()
    (spill,) = limits
    assert not Path(spill).exists()


@pytest.mark.parametrize(
    ("machine", "budget"),
    [(24 << 30, 1 << 30), (2 << 30, 512 << 20), (512 << 20, 256 << 20), (0, 1 << 30)],
)
def test_the_memory_budget_is_a_quarter_of_the_machine_from_256_mib_to_1_gib(
    machine: int, budget: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ldnkit.population import duckdb_engine

    monkeypatch.setattr(duckdb_engine, "_memory", lambda: machine)
    assert duckdb_engine.memory_budget() == budget


@pytest.mark.parametrize(
    ("limit", "memory"),
    [("max\n", 24 << 30), ("2147483648\n", 2 << 30), ("9223372036854771712\n", 24 << 30)],
)
def test_a_containers_memory_limit_counts_when_it_is_below_the_machines(
    limit: str, memory: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    from ldnkit.population import duckdb_engine

    (tmp_path / "memory.max").write_text(limit)
    monkeypatch.setattr(
        duckdb_engine, "CGROUP_LIMITS", (tmp_path / "none", tmp_path / "memory.max")
    )
    monkeypatch.setattr(os, "sysconf", lambda name: {"SC_PHYS_PAGES": 6 << 20}.get(name, 4096))
    assert duckdb_engine._memory() == memory
    # The default budget follows: a quarter of a 2 GiB container is 512 MiB.
    assert duckdb_engine.memory_budget() == min(1 << 30, memory // 4)


@pytest.mark.parametrize(
    ("typed", "expected"),
    [("100MB", "at least 256MiB"), ("64GiB", "at most the memory this machine has (32768MiB)")],
)
def test_a_memory_budget_the_machine_cannot_give_is_refused_before_any_work(
    typed: str,
    expected: str,
    synthetic: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from ldnkit.population import duckdb_engine

    monkeypatch.setattr(duckdb_engine, "_memory", lambda: 32 << 30)
    out = tmp_path / "rows.csv"
    assert main(["population", "screen", str(synthetic), "--out", str(out), "--memory", typed]) == 2
    assert capsys.readouterr().err.strip() == f'error: --memory: got "{typed}"; expected {expected}'
    assert not out.exists()


def test_a_larger_memory_budget_parses_the_export_once_with_the_same_rows(
    synthetic: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ldnkit.population import duckdb_engine

    # As if the export were large: too large for the default budget (1 GiB on a 32 GiB
    # machine), not for 8 GiB.
    conditions_and_orders = sum(
        path.stat().st_size
        for kind in ("Condition", "MedicationRequest")
        for path in synthetic.glob(f"{kind}.*")
    )
    monkeypatch.setattr(duckdb_engine, "_memory", lambda: 32 << 30)
    monkeypatch.setattr(duckdb_engine, "_TABLE_PER_NDJSON_BYTE", (2 << 30) / conditions_and_orders)
    parsed, limits = [], []
    register, limit = duckdb_engine.register_views, duckdb_engine._limit

    def watched(*args: Any, **kwargs: Any) -> Any:
        if "tables" in kwargs:  # the screen's read (the patient count reads views only)
            parsed.append(tuple(kwargs["tables"]))
        return register(*args, **kwargs)

    def limited(con: Any, budget: int, spill: str) -> None:
        limit(con, budget, spill)
        limits.append(con.execute("SELECT current_setting('memory_limit')").fetchone()[0])

    monkeypatch.setattr(duckdb_engine, "register_views", watched)
    monkeypatch.setattr(duckdb_engine, "_limit", limited)
    default, roomy = tmp_path / "default.csv", tmp_path / "roomy.csv"
    args = ["population", "screen", str(synthetic), "--as-of", AS_OF.isoformat()]
    assert main([*args, "--out", str(default)]) == 0
    assert main([*args, "--out", str(roomy), "--memory", "8GiB"]) == 0
    assert parsed == [(), ("Condition", "MedicationRequest")]
    assert limits == ["1.0 GiB", "8.0 GiB"]
    assert roomy.read_text() == default.read_text()


def test_synthetic_export_is_valid_fhir_and_repeatable(tmp_path: Path) -> None:
    from ldnkit.fhir.boundary import resource_problems

    first, second = tmp_path / "a", tmp_path / "b"
    counts = generate(30, first, seed=3, as_of=AS_OF)
    generate(30, second, seed=3, as_of=AS_OF)
    assert counts["Patient"] == 30
    for path in first.iterdir():
        assert path.read_bytes() == (second / path.name).read_bytes()
    problems = [p for r in read_resources(first) for p in resource_problems(r)]
    assert problems == []


def test_cli_population_screen_table_and_json(
    synthetic: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "rows.csv"
    args = ["population", "screen", str(synthetic), "--as-of", AS_OF.isoformat(), "--out", str(out)]
    assert main(args) == 0
    table = capsys.readouterr().out
    assert "Population screen as of 2026-11-23: 400 patients" in table
    assert "contraindicated" in table
    # Findings by the titles clinicians read, not by rule id.
    assert "Active opioid" in table
    assert "Kidney function not recorded" in table
    assert "opioid-active" not in table
    assert main([*args, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["patients"] == 400
    assert sum(data["verdicts"].values()) == 400
    assert data["verdicts"]["contraindicated"] == sum(
        1 for r in read_rows(out) if r["verdict"] == "contraindicated"
    )


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        (["--out", "rows.txt"], "--out"),
        (["--out", "rows.csv", "--as-of", "23/11/2026"], "--as-of"),
        (["--out", "rows.csv", "--engine", "sqlite"], "--engine"),
        (["--out", "rows.csv", "--memory", "lots"], "--memory"),
        (["--out", "rows.csv", "--memory", "100MB"], "--memory"),
        (["--out", "rows.csv", "--memory", "4GiB", "--engine", "spark"], "--memory"),
    ],
)
def test_cli_population_bad_input_exits_2(
    extra: list[str],
    field: str,
    synthetic: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["population", "screen", str(synthetic), *extra]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {field}: got")
    assert not list(tmp_path.glob("rows.*"))


def test_cli_population_screen_missing_folder_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nowhere"
    assert main(["population", "screen", str(missing), "--out", str(tmp_path / "r.csv")]) == 2
    assert "folder" in capsys.readouterr().err


def test_cli_population_synth_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "export"
    assert main(["population", "synth", "--patients", "12", "--out", str(out), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["resources"]["Patient"] == 12
    assert (out / "Patient.000.ndjson").read_text().count("\n") == 12


def test_an_impossible_order_date_is_one_clear_error(
    synthetic: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "export"
    shutil.copytree(synthetic, folder)
    orders = next(folder.glob("MedicationRequest*"))
    lines = orders.read_text().splitlines()
    first = json.loads(lines[0])
    first["authoredOn"] = "2017-13-45"
    orders.write_text("\n".join([json.dumps(first), *lines[1:]]) + "\n")
    code = main(
        [
            "population",
            "screen",
            str(folder),
            "--as-of",
            "2026-11-23",
            "--out",
            str(tmp_path / "rows.csv"),
        ]
    )
    assert code == 2
    assert capsys.readouterr().err.strip().splitlines()[-1] == (
        'error: MedicationRequest.authoredOn: got "2017-13-45"; '
        "expected a calendar date that exists (YYYY, YYYY-MM or YYYY-MM-DD)"
    )
    assert not (tmp_path / "rows.csv").exists()
