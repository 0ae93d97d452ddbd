"""`ldnkit fhir profile` on real FHIR and `ldnkit export fhir` from a real clinic database."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fhir.resources.R4B.bundle import Bundle

from ldnkit.bootstrap import open_store
from ldnkit.cli import main
from ldnkit.services.demo import seed_demo

SYNTHEA = Path(__file__).resolve().parents[1] / "fixtures" / "synthea-bulk-10"
FIXTURES = Path(__file__).parents[1] / "fixtures" / "fhir"
BACK_PAIN_PATIENT = "ca15b832-01e4-41dd-6a52-97bd3e5510cb"


def test_fhir_profile_table_and_json(capsys: pytest.CaptureFixture[str]) -> None:
    args = [
        "fhir",
        "profile",
        str(SYNTHEA),
        "--patient",
        BACK_PAIN_PATIENT,
        "--as-of",
        "2026-11-23",
    ]
    assert main(args) == 0
    table = capsys.readouterr().out
    assert "age 40, sex female" in table
    assert "snomed 278860009" in table  # chronic low back pain, active
    assert main([*args, "--json"]) == 0
    profile = json.loads(capsys.readouterr().out)
    assert profile["age"] == 40
    assert {"system": "snomed", "code": "278860009"} in profile["conditions"]
    assert all(m["status"] in ("active", "stopped") for m in profile["medications"])


def test_fhir_profile_of_spec_example(capsys: pytest.CaptureFixture[str]) -> None:
    path = FIXTURES / "medicationrequest0301.json"
    assert main(["fhir", "profile", str(path), "--as-of", "2015-01-20", "--json"]) == 0
    profile = json.loads(capsys.readouterr().out)
    assert profile["medications"] == [
        {
            "name": "Oral Form Oxycodone (product)",
            "rxnorm": None,
            "status": "stopped",
            # 10-day supply from 2015-01-15, capped at the day the record is read.
            "last_dose": "2015-01-20",
        }
    ]


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["--patient", "no-such-patient"], "patient"),
        (["--as-of", "tomorrow"], "--as-of"),
    ],
)
def test_fhir_profile_bad_input_exits_2(
    args: list[str], field: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["fhir", "profile", str(SYNTHEA), *args]) == 2
    assert capsys.readouterr().err.startswith(f"error: {field}: got")


def test_fhir_profile_invalid_resource_names_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "order.json"
    path.write_text(
        json.dumps(
            {
                "resourceType": "MedicationRequest",
                "id": "rx9",
                "status": "stoped",
                "intent": "order",
                "subject": {"reference": "Patient/p"},
                "medicationCodeableConcept": {"text": "tramadol"},
            }
        )
    )
    assert main(["fhir", "profile", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith('error: MedicationRequest/rx9.status: got "stoped"; expected one of')


@pytest.fixture
def clinic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("LDNKIT_DATABASE_URL", f"sqlite:///{tmp_path / 'clinic.db'}")
    monkeypatch.chdir(tmp_path)
    store = open_store()
    try:
        logins = seed_demo(store)
    finally:
        store.close()
    return next(login.email for login in logins if login.role == "clinician")


def test_export_fhir_writes_a_valid_bundle(
    clinic: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["export", "fhir", "1", "--clinician", clinic]) == 0
    assert "FHIR R4 bundle written to patient-1.fhir.json" in capsys.readouterr().out
    bundle = json.loads((tmp_path / "patient-1.fhir.json").read_text())
    Bundle.model_validate(bundle)
    kinds = [e["resource"]["resourceType"] for e in bundle["entry"]]
    assert kinds.count("MedicationRequest") == 1
    assert kinds.count("Observation") > 0
    assert main(["export", "fhir", "1", "--clinician", clinic, "--out", "b.json", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["resources"]["MedicationRequest"] == 1
    assert summary["resources"]["Observation"] == kinds.count("Observation")


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["999", "--clinician", "{clinic}"], "PATIENT"),
        (["1", "--clinician", "someone@else.example"], "--clinician"),
    ],
)
def test_export_fhir_bad_input_exits_2(
    clinic: str,
    args: list[str],
    field: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    args = [a.replace("{clinic}", clinic) for a in args]
    assert main(["export", "fhir", *args]) == 2
    assert capsys.readouterr().err.startswith(f"error: {field}: got")
    assert not list(tmp_path.glob("patient-*.json"))
