"""`ldnkit outcomes --fhir DIR` on a hand-worked export, on generated clinics, and on bad input."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import shutil
import warnings
from collections import defaultdict
from pathlib import Path
from typing import Any

import duckdb
import pytest

from ldnkit.cli import main
from ldnkit.domain.outcomes import (
    Diagnosis,
    Dispense,
    Medication,
    PainScore,
    Prescription,
    TherapyCourse,
    clinic_outcomes,
)
from ldnkit.fhir.boundary import resource_problems
from ldnkit.fhir.mapping import patient_ref_id, subject_id
from ldnkit.fhir.mapping.references import reference_id_sql
from ldnkit.fhir.reading import bulk_files, iter_ndjson
from ldnkit.population.outcomes import outcomes_from_export, read_export
from ldnkit.population.outcomes_synth import generate_clinic

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
EXPORT = FIXTURES / "outcomes-export"
SYNTHEA = FIXTURES / "synthea-bulk-10"
AS_OF = "2025-12-31"


def run_json(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    assert main(["outcomes", *args, "--json"]) == 0
    document: dict[str, Any] = json.loads(capsys.readouterr().out)
    return document


def test_hand_worked_export_gives_the_figures_worked_by_hand(
    capsys: pytest.CaptureFixture[str],
) -> None:
    document = run_json(capsys, "--fhir", str(EXPORT), "--as-of", AS_OF)
    assert {k: document[k] for k in ("prescribed", "never_started", "started")} == {
        "prescribed": 5,
        "never_started": 1,
        "started": 4,
    }
    assert document["with_response_measure"] == 4
    assert (document["responders_30"], document["responder_rate_30"]) == (2, 0.5)
    assert (document["any_improvement"], document["any_improvement_rate"]) == (3, 0.75)
    assert document["nrs_change_mean"] == pytest.approx(-1.75)
    assert document["persistence"] == {
        "median_days": 90,
        "at_90_days": 0.25,
        "at_180_days": 0.25,
        "discontinued": 3,
        "censored": 1,
    }
    assert document["predictors"] == []
    assert document["grace_days"] == 30
    assert document["as_of"] == AS_OF


def test_every_skipped_record_is_counted_with_its_reason(
    capsys: pytest.CaptureFixture[str],
) -> None:
    document = run_json(capsys, "--fhir", str(EXPORT), "--as-of", AS_OF)
    skipped = {
        (s["resource"], s["reason"]): (s["count"], s["example"]) for s in document["skipped"]
    }
    assert skipped == {
        ("MedicationRequest", "authoredOn is a day that does not exist"): (1, "rx6a"),
        ("MedicationRequest", 'status "activ" is not a MedicationRequest status'): (1, "rx7a"),
        ("MedicationRequest", "naltrexone order with no dose in mg: not counted as LDN"): (
            1,
            "rx8",
        ),
        ("MedicationRequest", "names its drug by neither text nor RxNorm: cannot tell if LDN"): (
            1,
            "rx9",
        ),
        ("MedicationDispense", "daysSupply is not a number"): (1, "f1d"),
        ("MedicationDispense", "handed over before its prescription was written"): (1, "f6a"),
        ("Observation", "pain score outside 0-10"): (1, "o6x"),
        ("Observation", "not a FHIR resource (a line that is not JSON, or no resourceType)"): (
            1,
            None,
        ),
        ("Condition", "no recordedDate: not used as a predictor"): (1, "c4a"),
    }


def test_resources_the_fhir_validator_rejects_are_the_ones_skipped() -> None:
    rejected = set()
    for files in bulk_files(EXPORT).values():
        for path in files:
            for resource in _resources(path):
                if resource_problems(resource):
                    rejected.add(resource["id"])
    skipped = {s.example for s in read_export(EXPORT).skipped}
    assert rejected == {"rx6a", "rx7a", "f1d"}
    assert rejected <= skipped


def _resources(path: Path) -> list[dict[str, Any]]:
    # The broken line is skipped here: it is not a resource for the validator to judge.
    if path.name.endswith(".gz"):
        text = gzip.decompress(path.read_bytes()).decode()
    else:
        text = path.read_text()
    return [json.loads(line) for line in text.splitlines() if line.strip().endswith("}")]


def test_table_shows_the_clinic_beside_the_published_series_and_the_grace_periods(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["outcomes", "--fhir", str(EXPORT), "--as-of", AS_OF]) == 0
    table = capsys.readouterr().out
    assert "Published case series" in table
    assert "44% [1]" in table
    assert "McKenzie-Brown AM, Boorman DW" in table
    assert "With other grace periods: 30 days: median 90 days" in table
    assert "60 days:" in table
    assert "90 days:" in table
    assert "Not counted" in table
    assert "pain score outside 0-10 (e.g. Observation/o6x)" in table
    assert "no diagnosis has 5 or more patients" in table


def test_a_longer_grace_period_is_used_when_asked(capsys: pytest.CaptureFixture[str]) -> None:
    # With 150 days' grace p3's fill on 07-20 (coverage end 06-03 + 150) continues its episode.
    document = run_json(capsys, "--fhir", str(EXPORT), "--as-of", AS_OF, "--grace-days", "150")
    assert document["grace_days"] == 150
    assert document["persistence"]["censored"] == 2


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["--fhir", str(EXPORT), "--as-of", "2025-02-30"], "--as-of"),
        (["--fhir", str(EXPORT), "--as-of", "soon"], "--as-of"),
        (["--fhir", str(EXPORT), "--as", "doc@clinic.test"], "--as"),
        (["--fhir", str(FIXTURES / "no-such-folder")], "folder"),
        (["--fhir", str(EXPORT / "Patient.ndjson")], "folder"),
        (["--fhir", str(FIXTURES / "fhir")], "folder"),  # JSON files, not an export
        (["--fhir", str(SYNTHEA)], "folder"),  # orders but no fills
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    args: list[str], field: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["outcomes", *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {field}: got")
    assert len(err.strip().splitlines()) == 1
    assert "Traceback" not in err


def test_a_negative_grace_period_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["outcomes", "--fhir", str(EXPORT), "--grace-days", "-1"]) == 2
    err = capsys.readouterr().err
    assert "--grace-days" in err
    assert len(err.strip().splitlines()) == 1


def test_a_damaged_gzip_file_stops_the_run_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "export"
    shutil.copytree(EXPORT, folder)
    damaged = folder / "MedicationDispense.001.ndjson.gz"
    damaged.write_bytes(damaged.read_bytes()[:40])
    assert main(["outcomes", "--fhir", str(folder), "--as-of", AS_OF]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: folder: got")
    assert len(err.strip().splitlines()) == 1


# -- generated clinics --------------------------------------------------------------------------

GENERATED_AS_OF = dt.date(2026, 6, 1)


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("clinic")
    generate_clinic(400, folder, seed=7, as_of=GENERATED_AS_OF, per_file=500, compress=True)
    return folder


def test_generated_clinic_has_the_shapes_it_promises(generated: Path) -> None:
    run, export = outcomes_from_export(generated, GENERATED_AS_OF)
    figures = run.figures
    assert export.patients == 420  # 400 on LDN and 5% others
    # Clean data: only the diagnoses generated without a recorded date are noted.
    assert {s.resource for s in export.skipped} == {"Condition"}
    assert figures.prescribed == 400
    # About 44% never fill (400 patients: give or take 5 points), a few start after as_of.
    assert 0.35 <= figures.never_started / figures.prescribed <= 0.55
    assert figures.with_response_measure > 50
    assert figures.nrs_change_mean is not None
    assert figures.nrs_change_mean < 0
    by_grace = dict(run.sensitivity)
    assert by_grace[30].discontinued >= by_grace[90].discontinued
    groups = {p.group for p in figures.predictors}
    assert {"icd10cm:M47", "condition:neuropathic-pain"} <= groups


def test_generated_resources_are_valid_fhir_with_real_icd10cm_codes(generated: Path) -> None:
    with warnings.catch_warnings():
        # The package reads its data through a deprecated importlib call.
        warnings.simplefilter("ignore", DeprecationWarning)
        import simple_icd_10_cm as icd
    for files in bulk_files(generated).values():
        for path in files[:1]:
            for resource in list(iter_ndjson(path))[:150]:
                assert resource_problems(resource) == [], resource["id"]
                if resource["resourceType"] == "Condition":
                    code = resource["code"]["coding"][0]["code"]
                    assert icd.is_valid_item(code), code


def test_duckdb_reading_agrees_with_a_plain_python_reading(generated: Path) -> None:
    """The SQL narrows rows; every figure must equal the domain's over every record."""
    duck = outcomes_from_export(generated, GENERATED_AS_OF, workers=1)[0].figures
    plain = clinic_outcomes(_plain_courses(generated), GENERATED_AS_OF).figures
    assert duck == plain


def test_worker_processes_give_the_figures_of_one_process(generated: Path) -> None:
    one = outcomes_from_export(generated, GENERATED_AS_OF, workers=1)[0]
    three = outcomes_from_export(generated, GENERATED_AS_OF, workers=3)[0]
    assert three.figures == one.figures
    assert three.sensitivity == one.sensitivity


def _plain_courses(folder: Path) -> list[TherapyCourse]:
    """Every record of a clean export as courses, with json and dicts only (no checks)."""
    by_patient: dict[str, dict[str, list[Any]]] = defaultdict(lambda: defaultdict(list))
    for kind, files in bulk_files(folder).items():
        for path in files:
            for r in iter_ndjson(path):
                pid = r["id"] if kind == "Patient" else subject_id(r)
                assert pid is not None
                by_patient[pid][kind].append(r)
    courses = []
    for pid, records in by_patient.items():
        courses.append(
            TherapyCourse(
                pid,
                tuple(_order(r) for r in records["MedicationRequest"]),
                tuple(_fill(r) for r in records["MedicationDispense"]),
                tuple(
                    PainScore(
                        dt.date.fromisoformat(r["effectiveDateTime"][:10]),
                        r["valueQuantity"]["value"],
                        r["status"],
                        r["effectiveDateTime"],
                    )
                    for r in records["Observation"]
                    if r["code"]["coding"][0]["code"] in ("72514-3", "38208-5")
                ),
                tuple(
                    Diagnosis(
                        (("icd10cm", r["code"]["coding"][0]["code"]),),
                        r["clinicalStatus"]["coding"][0]["code"],
                        r["verificationStatus"]["coding"][0]["code"],
                        dt.date.fromisoformat(r["recordedDate"]) if "recordedDate" in r else None,
                    )
                    for r in records["Condition"]
                ),
            )
        )
    return courses


def _medication(r: dict[str, Any]) -> Medication:
    concept = r["medicationCodeableConcept"]
    dose = None
    for dosage in r.get("dosageInstruction", []):
        for rate in dosage.get("doseAndRate", []):
            dose = rate["doseQuantity"]["value"]
    return Medication(concept["text"], concept["coding"][0]["code"], dose)


def _order(r: dict[str, Any]) -> Prescription:
    authored = dt.date.fromisoformat(r["authoredOn"][:10])
    return Prescription(r["id"], authored, r["status"], _medication(r))


def _fill(r: dict[str, Any]) -> Dispense:
    references = r.get("authorizingPrescription") or [{}]
    return Dispense(
        r["id"],
        patient_ref_id(references[0].get("reference")),
        dt.date.fromisoformat(r["whenHandedOver"][:10]),
        r["status"],
        r["daysSupply"]["value"] if "daysSupply" in r else None,
        _medication(r),
    )


@pytest.mark.parametrize(
    ("reference", "expected"),
    [
        ("Patient/abc", "abc"),
        ("urn:uuid:abc", "abc"),
        ("abc", "abc"),
        ("http://example.org/fhir/Patient/123", "123"),
        ("Patient/123/_history/2", "123"),  # a version of patient 123
        ("http://example.org/fhir/Patient/123/_history/2", "123"),
        ("Patient?identifier=x", None),  # a search, not a patient
        ("urn:oid:1.2.3", None),
        ("Patient/123/", None),
        ("#p1", None),  # a contained patient is no patient of the export
        (None, None),
    ],
)
def test_references_are_read_as_the_id_they_name(
    reference: str | None, expected: str | None
) -> None:
    assert patient_ref_id(reference) == expected
    sql = f"SELECT {reference_id_sql('s')} FROM (SELECT {{'reference': ?::VARCHAR}} AS s)"
    assert duckdb.connect().execute(sql, [reference]).fetchall() == [(expected,)]
