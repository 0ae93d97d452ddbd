"""Reading real FHIR: the specification's own examples and a real Synthea bulk export."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from ldnkit.domain.profile import CodedCondition
from ldnkit.fhir.mapping import medication_from_fhir
from ldnkit.fhir.reading import bulk_files, profile_from_file, read_resources
from ldnkit.validation import InputError

FIXTURES = Path(__file__).parents[1] / "fixtures" / "fhir"
SYNTHEA = Path(__file__).resolve().parents[1] / "fixtures" / "synthea-bulk-10"
AS_OF = dt.date(2026, 11, 23)
MEPERIDINE_PATIENT = "79a66c97-6131-3213-f3c9-4606946ab056"


def synthea_lines(kind: str) -> list[dict[str, Any]]:
    path = SYNTHEA / f"{kind}.000.ndjson"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_spec_example_completed_oxycodone_order_ends_after_its_supply() -> None:
    example = json.loads((FIXTURES / "medicationrequest0301.json").read_text())
    med = medication_from_fhir(example)
    assert med is not None
    assert med.name == "Oral Form Oxycodone (product)"
    assert med.status == "stopped"
    # authoredOn 2015-01-15 + expectedSupplyDuration 10 d, no repeats.
    assert med.last_dose == dt.date(2015, 1, 25)


def test_spec_example_statement_names_contained_ndc_product() -> None:
    example = json.loads((FIXTURES / "medicationstatementexample1.json").read_text())
    med = medication_from_fhir(example)
    assert med is not None
    assert (med.name, med.rxnorm, med.status) == ("Tylenol PM", None, "active")


def test_synthea_resolved_conditions_and_stopped_orders_do_not_count() -> None:
    profile = profile_from_file(SYNTHEA, AS_OF, f"Patient/{MEPERIDINE_PATIENT}")
    conditions = [
        c
        for c in synthea_lines("Condition")
        if c["subject"] == {"reference": f"Patient/{MEPERIDINE_PATIENT}"}
    ]
    active_codes = {
        c["code"]["coding"][0]["code"]
        for c in conditions
        if c["clinicalStatus"]["coding"][0]["code"] == "active"
    }
    resolved_codes = {c["code"]["coding"][0]["code"] for c in conditions} - active_codes
    got = {c.code for c in profile.conditions if isinstance(c, CodedCondition)}
    assert got == active_codes
    assert resolved_codes  # the export does hold resolved conditions, and none came through
    meperidine = [m for m in profile.medications if m.rxnorm == "861467"]
    assert [(m.status, m.last_dose) for m in meperidine] == [
        ("stopped", dt.date(1980, 6, 5) + dt.timedelta(days=30))
    ]
    assert profile.sex == "female"


def test_synthea_active_orders_are_the_only_active_medications() -> None:
    pid = "a5cb8ce9-cec6-6b23-0990-cbaf753578a4"
    profile = profile_from_file(SYNTHEA, AS_OF, pid)
    expected = {
        r["medicationCodeableConcept"]["coding"][0]["code"]
        for r in synthea_lines("MedicationRequest")
        if r["subject"] == {"reference": f"Patient/{pid}"} and r["status"] == "active"
    }
    assert expected  # this patient has active orders beside many stopped ones
    assert {m.rxnorm for m in profile.medications if m.status == "active"} == expected


def test_bulk_folder_reads_several_gzipped_files_per_type(tmp_path: Path) -> None:
    lines = (SYNTHEA / "Condition.000.ndjson").read_bytes().splitlines(keepends=True)
    half = len(lines) // 2
    (tmp_path / "Condition.000.ndjson").write_bytes(b"".join(lines[:half]))
    with gzip.open(tmp_path / "Condition.001.ndjson.gz", "wb") as handle:
        handle.write(b"".join(lines[half:]))
    shutil.copy(SYNTHEA / "Patient.000.ndjson", tmp_path / "Patient.000.ndjson")
    (tmp_path / "notes.txt").write_text("not FHIR")
    files = bulk_files(tmp_path)
    assert {k: [p.name for p in v] for k, v in files.items()} == {
        "Condition": ["Condition.000.ndjson", "Condition.001.ndjson.gz"],
        "Patient": ["Patient.000.ndjson"],
    }
    kinds = [r["resourceType"] for r in read_resources(tmp_path)]
    assert kinds.count("Condition") == len(lines)


def test_bundle_with_urn_uuid_references(tmp_path: Path) -> None:
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {
                "fullUrl": "urn:uuid:6b0c",
                "resource": {
                    "resourceType": "Patient",
                    "gender": "male",
                    "birthDate": "1960-04-13",
                },
            },
            {
                "fullUrl": "urn:uuid:77aa",
                "resource": {
                    "resourceType": "MedicationRequest",
                    "status": "active",
                    "intent": "order",
                    "subject": {"reference": "urn:uuid:6b0c"},
                    "medicationCodeableConcept": {"text": "Methadone 10 mg tablet"},
                },
            },
        ],
    }
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(bundle))
    profile = profile_from_file(path, AS_OF)
    assert (profile.age, profile.sex) == (66, "male")
    assert [m.name for m in profile.medications] == ["Methadone 10 mg tablet"]


def test_bad_line_in_bulk_file_names_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "Patient.000.ndjson").write_text('{"resourceType": "Patient", "id": "a"}\n{oops\n')
    with pytest.raises(InputError) as caught:
        read_resources(tmp_path)
    assert caught.value.problems[0].field == "Patient.000.ndjson line 2"


def test_invalid_resource_in_bundle_is_reported_by_name_and_field(tmp_path: Path) -> None:
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": {"resourceType": "Patient", "id": "p1", "birthDate": "13/04/1960"}}],
    }
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(bundle))
    with pytest.raises(InputError) as caught:
        profile_from_file(path, AS_OF)
    assert [p.field for p in caught.value.problems] == ["Patient/p1.birthDate"]


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("bad.ndjson", b"\xff\xfe", "expected UTF-8 encoded FHIR JSON"),
        ("bad.json", b"\xff{}", "expected UTF-8 encoded FHIR JSON"),
        ("fake.ndjson.gz", b"not gzip at all", "expected valid gzip"),
    ],
)
def test_unreadable_files_are_one_error_naming_the_file(
    tmp_path: Path, name: str, content: bytes, expected: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(InputError) as caught:
        read_resources(path)
    (problem,) = caught.value.problems
    assert problem.field == name
    assert str(problem).endswith(expected)
