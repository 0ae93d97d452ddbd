"""The Spark engine (local mode) writes exactly what the DuckDB engine writes."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
from pathlib import Path

import pytest

from ldnkit.population.run import screen_population
from ldnkit.population.synth import generate
from ldnkit.validation import InputError

pytestmark = pytest.mark.spark

SYNTHEA = Path(__file__).resolve().parents[1] / "fixtures" / "synthea-bulk-10"
AS_OF = dt.date(2026, 11, 23)


def needs_java() -> None:
    if shutil.which("java") is None:
        # In CI a missing JDK must fail loudly, not pass as a quiet skip.
        if os.environ.get("CI"):
            pytest.fail("no JDK; .ci/run installs default-jre-headless", pytrace=False)
        pytest.skip("no JDK on this machine (CI installs default-jre-headless)")


def test_spark_and_duckdb_write_identical_rows(tmp_path: Path) -> None:
    needs_java()
    folder = tmp_path / "export"
    generate(60, folder, seed=11, as_of=AS_OF, per_file=200)
    # Synthea's real patients beside the synthetic ones, in the same export.
    for path in SYNTHEA.glob("*.ndjson"):
        shutil.copy(path, folder / path.name.replace(".000.", ".900."))
    duck, spark = tmp_path / "duckdb.csv", tmp_path / "spark.csv"
    summary = screen_population(folder, AS_OF, duck)
    screen_population(folder, AS_OF, spark, engine="spark", spark_master="local[2]")
    assert summary.patients == 73
    assert spark.read_text() == duck.read_text()


def test_a_line_that_is_not_json_is_one_clear_error(tmp_path: Path) -> None:
    needs_java()
    folder = tmp_path / "export"
    generate(5, folder, seed=2, as_of=AS_OF)
    with (folder / "Patient.000.ndjson").open("a", encoding="utf-8") as handle:
        handle.write('{"resourceType": "Patient", "id": \n')
    out = tmp_path / "rows.csv"
    with pytest.raises(InputError) as caught:
        screen_population(folder, AS_OF, out, engine="spark", spark_master="local[1]")
    (problem,) = caught.value.problems
    assert problem.field == "Patient files"
    assert problem.expected == "readable FHIR R4 NDJSON"
    assert not out.exists()


def test_an_impossible_order_date_is_one_clear_error(tmp_path: Path) -> None:
    # Also on an order no rule reads, which is never dated one by one.
    needs_java()
    folder = tmp_path / "export"
    generate(5, folder, seed=2, as_of=AS_OF)
    orders = next(folder.glob("MedicationRequest*"))
    lines = orders.read_text().splitlines()
    first = json.loads(lines[0])
    first["authoredOn"] = "2017-13-45"
    orders.write_text("\n".join([json.dumps(first), *lines[1:]]) + "\n")
    out = tmp_path / "rows.csv"
    with pytest.raises(InputError) as caught:
        screen_population(folder, AS_OF, out, engine="spark", spark_master="local[1]")
    (problem,) = caught.value.problems
    assert (problem.field, problem.received) == ("MedicationRequest.authoredOn", '"2017-13-45"')
    assert not out.exists()
