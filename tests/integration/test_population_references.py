"""Every reference form FHIR allows names the same patient and drug on every screening path."""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from ldnkit.cli import main
from ldnkit.population.run import screen_population
from ldnkit.population.synth import generate

AS_OF = dt.date(2026, 11, 23)
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
SNOMED = "http://snomed.info/sct"
BASE = "https://ehr.example.org/fhir"

# How a resource may name its patient (R4 References: relative, absolute, versioned, a Bundle's
# urn:uuid; a bare id is not valid FHIR but some exports write it).
SUBJECT_FORMS = {
    "relative": "Patient/{id}",
    "bare": "{id}",
    "absolute": BASE + "/Patient/{id}",
    "versioned": "Patient/{id}/_history/3",
    "absolute-versioned": BASE + "/Patient/{id}/_history/3",
    "urn-uuid": "urn:uuid:{id}",
}
# How an order may name its Medication: the same forms, and one contained in the order.
MEDICATION_FORMS = {
    "relative": "Medication/{id}",
    "bare": "{id}",
    "absolute": BASE + "/Medication/{id}",
    "versioned": "Medication/{id}/_history/2",
    "urn-uuid": "urn:uuid:{id}",
    "contained": "#{id}",
}
TRAMADOL = {
    "coding": [{"system": RXNORM, "code": "10689", "display": "tramadol hydrochloride 50 MG"}],
    "text": "tramadol hydrochloride 50 MG Oral Tablet",
}


def _ndjson(path: Path, resources: list[dict[str, Any]]) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in resources), encoding="utf-8")


def build_export(folder: Path) -> dict[str, str]:
    """A synthetic export plus one patient per pair of forms, each on active tramadol.

    Returns the added patients' ids by "subject form / medication form".
    """
    generate(12, folder, seed=5, as_of=AS_OF, per_file=500)
    patients, conditions, orders, medications = [], [], [], []
    added: dict[str, str] = {}
    for s, (subject_form, subject) in enumerate(SUBJECT_FORMS.items()):
        for m, (medication_form, reference) in enumerate(MEDICATION_FORMS.items()):
            pid = f"00000000-0000-4000-8000-{s:06d}{m:06d}"
            added[f"{subject_form} / {medication_form}"] = pid
            about = {"reference": subject.format(id=pid)}
            patients.append(
                {
                    "resourceType": "Patient",
                    "id": pid,
                    "gender": "female",
                    "birthDate": "1980-02-03",
                }
            )
            conditions.append(
                {
                    "resourceType": "Condition",
                    "id": f"c-{s}-{m}",
                    "clinicalStatus": {"coding": [{"code": "active"}]},
                    "code": {"coding": [{"system": SNOMED, "code": "95417003"}]},
                    "subject": about,
                }
            )
            med_id = f"med-{s}-{m}"
            order: dict[str, Any] = {
                "resourceType": "MedicationRequest",
                "id": f"rx-{s}-{m}",
                "status": "active",
                "intent": "order",
                "subject": about,
                "medicationReference": {"reference": reference.format(id=med_id)},
                "authoredOn": "2026-11-01",
            }
            medication = {"resourceType": "Medication", "id": med_id, "code": TRAMADOL}
            if medication_form == "contained":
                # A contained resource may carry fields the screen does not read.
                order["contained"] = [{**medication, "status": "active"}]
            else:
                medications.append(medication)
            orders.append(order)
    _ndjson(folder / "Patient.900.ndjson", patients)
    _ndjson(folder / "Condition.900.ndjson", conditions)
    _ndjson(folder / "MedicationRequest.900.ndjson", orders)
    _ndjson(folder / "Medication.000.ndjson", medications)
    return added


@pytest.fixture(scope="module")
def export(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    folder = tmp_path_factory.mktemp("references")
    return folder, build_export(folder)


def read_rows(path: Path) -> dict[str, dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return {r["patient_id"]: r for r in csv.DictReader(handle)}


def screened_alone(folder: Path, pid: str, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    """What `ldnkit screen --fhir FOLDER --patient ID --json` says of one patient."""
    args = ["screen", "--fhir", str(folder), "--patient", pid, "--as-of", AS_OF.isoformat()]
    assert main([*args, "--json"]) == 0
    result: dict[str, Any] = json.loads(capsys.readouterr().out)
    return result


def test_every_reference_form_names_the_same_patient_and_drug_on_both_paths(
    export: tuple[Path, dict[str, str]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder, added = export
    out = tmp_path / "rows.csv"
    screen_population(folder, AS_OF, out)
    rows = read_rows(out)
    assert len(rows) == 12 + len(added)
    for pid, row in rows.items():
        alone = screened_alone(folder, pid, capsys)
        assert row["verdict"] == alone["verdict"], pid
        assert row["rules"] == ";".join(dict.fromkeys(f["rule"] for f in alone["findings"])), pid
        assert row["earliest_start"] == (alone["earliest_start"] or ""), pid
    for forms, pid in added.items():
        # The order reached its patient and its drug was read, whatever the forms.
        assert rows[pid]["verdict"] == "contraindicated", forms
        assert "opioid-active" in rows[pid]["rules"].split(";"), forms
        assert rows[pid]["active_opioids"] == "tramadol hydrochloride 50 MG", forms
        assert "Fibromyalgia" in rows[pid]["candidate_conditions"], forms


@pytest.mark.spark
def test_spark_reads_every_reference_form_as_duckdb_does(
    export: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    if shutil.which("java") is None:
        if os.environ.get("CI"):
            pytest.fail("no JDK; .ci/run installs default-jre-headless", pytrace=False)
        pytest.skip("no JDK on this machine (CI installs default-jre-headless)")
    folder, added = export
    duck, spark = tmp_path / "duckdb.csv", tmp_path / "spark.csv"
    screen_population(folder, AS_OF, duck)
    screen_population(folder, AS_OF, spark, engine="spark", spark_master="local[2]")
    assert spark.read_text() == duck.read_text()
    assert all(read_rows(spark)[pid]["verdict"] == "contraindicated" for pid in added.values())


def test_one_patient_named_in_several_forms_gets_all_their_records(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The engines group each large type by the reference's text before reading the patient
    # from it; texts that name one patient must come back together.
    folder = tmp_path / "export"
    generate(3, folder, seed=9, as_of=AS_OF)
    pid = "00000000-0000-4000-8000-999999999999"
    forms = ["Patient/{id}", "urn:uuid:{id}", BASE + "/Patient/{id}/_history/3"]
    patient = {"resourceType": "Patient", "id": pid, "gender": "male", "birthDate": "1970-05-06"}
    conditions = [
        {
            "resourceType": "Condition",
            "id": f"c-{n}",
            "clinicalStatus": {"coding": [{"code": "active"}]},
            "code": {"coding": [{"system": SNOMED, "code": code}]},
            "subject": {"reference": form.format(id=pid)},
        }
        for n, (form, code) in enumerate(
            zip(forms, ["95417003", "52702003", "278860009"], strict=True)
        )
    ]
    opioids = [("10689", "tramadol hydrochloride 50 MG"), ("7052", "morphine")]
    orders = [
        {
            "resourceType": "MedicationRequest",
            "id": f"rx-{n}",
            "status": "active",
            "intent": "order",
            "subject": {"reference": form.format(id=pid)},
            "medicationCodeableConcept": {
                "coding": [{"system": RXNORM, "code": code, "display": name}]
            },
            "authoredOn": "2026-11-01",
        }
        for n, (form, (code, name)) in enumerate(zip(forms[:2], opioids, strict=True))
    ]
    _ndjson(folder / "Patient.900.ndjson", [patient])
    _ndjson(folder / "Condition.900.ndjson", conditions)
    _ndjson(folder / "MedicationRequest.900.ndjson", orders)
    out = tmp_path / "rows.csv"
    screen_population(folder, AS_OF, out)
    row = read_rows(out)[pid]
    assert row["active_opioids"] == "morphine; tramadol hydrochloride 50 MG"
    assert row["candidate_conditions"] == (
        "Chronic low-back pain; Fibromyalgia; "
        "Myalgic encephalomyelitis / chronic fatigue syndrome (ME/CFS)"
    )
    alone = screened_alone(folder, pid, capsys)
    assert row["rules"] == ";".join(dict.fromkeys(f["rule"] for f in alone["findings"]))
    assert row["verdict"] == alone["verdict"] == "contraindicated"
