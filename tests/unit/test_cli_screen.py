"""`ldnkit screen` from the command line: table, JSON contract and bad input."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ldnkit.cli import main

CONTRACT_PROFILE: dict[str, Any] = {
    "as_of": "2026-11-23",
    "age": 47,
    "sex": "female",
    "conditions": ["fibromyalgia", "M79.7", {"system": "icd10cm", "code": "G93.32"}],
    "medications": [
        {"name": "Ultram 50 mg", "status": "active"},
        {"rxnorm": "7804", "status": "stopped", "last_dose": "2026-11-20"},
    ],
    "allergies": [],
    "pregnant": False,
    "breastfeeding": False,
    "liver": "normal",
    "kidney": "normal",
    "alcohol": "none",
    "planned_procedures": [
        {"date": "2026-12-10", "opioids_expected": True, "name": "knee arthroscopy"}
    ],
}


def write(tmp_path: Path, data: object, name: str = "profile.json") -> str:
    path = tmp_path / name
    path.write_text(json.dumps(data) if not isinstance(data, str) else data)
    return str(path)


def test_screen_json_follows_the_contract(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["screen", write(tmp_path, CONTRACT_PROFILE), "--json"])
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert out["verdict"] == "contraindicated"
    assert out["earliest_start"] is None
    assert [f["rule"] for f in out["findings"]] == [
        "opioid-active",
        "opioid-washout",
        "procedure-hold",
    ]
    assert out["findings"][0]["subject"] == "Ultram 50 mg"


def test_screen_table_shows_verdict_and_findings(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["screen", write(tmp_path, CONTRACT_PROFILE)])
    assert code == 0
    out = capsys.readouterr().out
    assert "Verdict: contraindicated" in out
    assert "opioid-active" in out
    assert "fda-revia-label" in out


def test_eligible_profile_exits_zero(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    recorded = {
        "as_of": "2026-11-23",
        "liver": "normal",
        "kidney": "normal",
        "pregnant": False,
        "medications": [{"name": "lisinopril 10 mg", "status": "active"}],
    }
    code = main(["screen", write(tmp_path, recorded), "--json"])
    assert code == 0
    assert json.loads(capsys.readouterr().out)["verdict"] == "eligible"


def test_a_profile_with_nothing_recorded_is_not_eligible(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Issue 8: no medications and unknown liver, kidney and pregnancy status was a green
    # "eligible"; now the empty list asks to confirm no opioid use, and the rest is "not recorded".
    code = main(["screen", write(tmp_path, {"as_of": "2026-11-23"}), "--json"])
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert out["verdict"] == "caution"
    assert [f["rule"] for f in out["findings"]] == [
        "medications-none-recorded",
        "liver-not-recorded",
        "kidney-not-recorded",
        "pregnancy-not-recorded",
    ]


def test_an_undated_wait_says_the_start_cannot_be_dated(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    profile = {"as_of": "2026-11-23", "medications": [{"name": "tramadol", "status": "stopped"}]}
    assert main(["screen", write(tmp_path, profile)]) == 0
    out = capsys.readouterr().out
    assert "Verdict: wait" in out
    assert "Earliest start: cannot be dated yet" in out


def test_a_last_dose_after_the_screening_day_exits_2_naming_the_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    profile = {
        "as_of": "2026-11-23",
        "medications": [
            {"name": "lisinopril", "status": "active"},
            {"name": "oxycodone", "status": "stopped", "last_dose": "2026-11-30"},
        ],
    }
    assert main(["screen", write(tmp_path, profile)]) == 2
    assert capsys.readouterr().err.splitlines() == [
        'error: medications[1].last_dose: got "2026-11-30"; expected a date on or before the '
        "screening date as_of (2026-11-23)"
    ]


def test_misspelled_field_exits_2_naming_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["screen", write(tmp_path, {"pregnent": True})])
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["error: pregnent: got true; expected no such field (check the spelling)"]


def test_every_bad_field_gets_its_own_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = {"age": -1, "liver": "fine", "medications": [{"name": "x", "status": "paused"}]}
    code = main(["screen", write(tmp_path, bad)])
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 3
    assert any(line.startswith("error: age: got -1;") for line in err)
    assert any(line.startswith('error: liver: got "fine"; expected one of normal') for line in err)
    assert any(line.startswith("error: medications[0].status:") for line in err)


def test_an_age_of_true_and_a_dose_time_are_named_in_plain_words(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = {
        "age": True,
        "medications": [
            {"name": "oxycodone", "status": "stopped", "last_dose": "2026-11-20T10:00"}
        ],
    }
    assert main(["screen", write(tmp_path, bad)]) == 2
    assert capsys.readouterr().err.splitlines() == [
        "error: age: got true; expected a whole number of years",
        'error: medications[0].last_dose: got "2026-11-20T10:00"; expected a date YYYY-MM-DD',
    ]


def test_invalid_json_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["screen", write(tmp_path, "{not json")])
    assert code == 2
    assert "invalid JSON at line 1" in capsys.readouterr().err


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16"])
def test_profile_saved_by_windows_editors_is_read(
    encoding: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Notepad writes a UTF-8 byte-order mark; PowerShell's ">" writes UTF-16.
    path = tmp_path / "profile.json"
    path.write_text(json.dumps(CONTRACT_PROFILE), encoding=encoding)
    assert main(["screen", str(path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["verdict"] == "contraindicated"


def test_profile_that_is_not_text_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "profile.json"
    path.write_bytes(b'{"as_of": "\xff"}')
    assert main(["screen", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: profile: ")
    assert "expected a JSON file in UTF-8 text" in err
    assert "Traceback" not in err


def test_missing_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["screen", str(tmp_path / "absent.json")])
    assert code == 2
    assert "expected an existing JSON file" in capsys.readouterr().err


def test_screen_help_describes_the_command(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["screen", "--help"])
    assert code == 0
    assert "Screen a patient for starting LDN" in capsys.readouterr().out


SYNTHEA = Path(__file__).resolve().parents[1] / "fixtures" / "synthea-bulk-10"
# In the Synthea export: a meperidine order stopped in 1980 and chronic kidney disease.
MEPERIDINE_PATIENT = "79a66c97-6131-3213-f3c9-4606946ab056"


def test_screen_reads_a_patient_from_a_bulk_fhir_export(
    capsys: pytest.CaptureFixture[str],
) -> None:
    args = ["screen", "--fhir", str(SYNTHEA), "--patient", MEPERIDINE_PATIENT]
    code = main([*args, "--as-of", "2026-11-23", "--json"])
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    rules = [f["rule"] for f in out["findings"]]
    # The meperidine order was stopped decades ago: no opioid finding, no washout.
    assert not {"opioid-active", "opioid-washout"} & set(rules)
    assert "kidney-impaired" in rules
    assert out["verdict"] == "caution"


def test_screen_needs_exactly_one_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["screen"]) == 2
    assert "expected a PROFILE.json or --fhir FILE" in capsys.readouterr().err
    both = ["screen", write(tmp_path, {}), "--fhir", str(SYNTHEA)]
    assert main(both) == 2
    assert "expected a PROFILE.json or --fhir FILE" in capsys.readouterr().err


def test_fhir_screen_with_several_patients_asks_which(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["screen", "--fhir", str(SYNTHEA)]) == 2
    assert "expected one patient" in capsys.readouterr().err


def test_fhir_screen_rejects_a_bad_date(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["screen", "--fhir", str(SYNTHEA), "--patient", MEPERIDINE_PATIENT]
    assert main([*args, "--as-of", "23/11/2026"]) == 2
    assert capsys.readouterr().err.strip() == (
        'error: --as-of: got "23/11/2026"; expected a date YYYY-MM-DD'
    )
