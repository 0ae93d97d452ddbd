"""`ldnkit criteria NAME INPUT.json`: readable table by default, --json, exit 2 on bad input."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ldnkit.cli import main
from ldnkit.domain.criteria import evaluate

INPUTS: dict[str, dict[str, Any]] = {
    "acr2010": {
        "pain_areas": ["neck", "upper_back", "lower_back", "hip_left", "hip_right", "chest"],
        "fatigue": 2,
        "waking_unrefreshed": 2,
        "cognitive": 1,
        "somatic": 0,
        "duration_months": 6,
        "other_explanation": False,
    },
    "acr2011": {
        "pain_areas": ["neck", "hip_left", "hip_right", "shoulder_girdle_left"],
        "fatigue": 3,
        "waking_unrefreshed": 3,
        "cognitive": 2,
        "headache": True,
        "lower_abdominal_pain": False,
        "depression": False,
        "duration_months": 12,
        "other_explanation": False,
    },
    "acr2016": {
        "pain_areas": ["jaw_left", "chest", "abdomen", "shoulder_girdle_right", "hip_left"],
        "fatigue": 3,
        "waking_unrefreshed": 3,
        "cognitive": 3,
        "headache": True,
        "lower_abdominal_pain": True,
        "depression": False,
        "duration_months": 5,
    },
    "fiqr": {
        "function": [2, 2, 2, 2, 2, 2, 2, 2, None],
        "overall": [6, 7],
        "symptoms": [7, 6, 5, 4, 3, 2, 1, 0, 9, 8],
    },
    "iom2015": {
        "reduced_activity_months": 6,
        "fatigue_not_relieved_by_rest": True,
        "pem": True,
        "unrefreshing_sleep": True,
        "cognitive_impairment": True,
        "orthostatic_intolerance": False,
    },
}


def write(tmp_path: Path, data: Any, name: str = "input.json") -> str:
    path = tmp_path / name
    path.write_text(json.dumps(data), encoding="utf-8")
    return str(path)


@pytest.mark.parametrize("name", list(INPUTS))
def test_json_output_is_the_result_of_the_calculator(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["criteria", name, write(tmp_path, INPUTS[name]), "--json"])
    assert code == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == evaluate(name, INPUTS[name]).model_dump(mode="json")


def test_acr2010_json_carries_the_contract_keys(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    main(["criteria", "acr2010", write(tmp_path, INPUTS["acr2010"]), "--json"])
    printed = json.loads(capsys.readouterr().out)
    # WPI 6, SS 5: neither arm of the 2010 criteria.
    assert (printed["met"], printed["wpi"], printed["sss"]) == (False, 6, 5)
    first = printed["criteria"][0]
    assert set(first) == {"id", "text", "passed", "detail"}
    assert first["passed"] is False


def test_table_marks_each_criterion_and_states_the_verdict(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["criteria", "acr2016", write(tmp_path, INPUTS["acr2016"])]) == 0
    out = capsys.readouterr().out
    # WPI 5, SSS 11: severity passes; only 2 regions count (jaw, chest, abdomen do not).
    assert "✔" in out
    assert "✘" in out
    assert "regions with pain 2/5" in out
    assert "Verdict: criteria not met" in out
    assert "wolfe-2016" in out


def test_table_for_a_met_iom_case_says_met(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = INPUTS["iom2015"] | {"reduced_activity_months": 8}
    assert main(["criteria", "iom2015", write(tmp_path, data)]) == 0
    out = capsys.readouterr().out
    assert "Verdict: criteria met" in out
    assert "✘" not in out


def test_fiqr_table_shows_domains_total_and_both_severity_schemes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["criteria", "fiqr", write(tmp_path, INPUTS["fiqr"])]) == 0
    out = capsys.readouterr().out
    # Function 16 * 9/8 / 3 = 6; overall 13; symptoms 22.5: total 41.5.
    assert "Total: 41.5 of 100" in out
    assert "Salaffi 2018 (4 bands): mild" in out
    assert "Salaffi 2021 (5 bands): moderate" in out
    assert "Unanswered: function item 9 (Go shopping for groceries)" in out
    assert "fiqr-myalgia-scoring" in out
    assert "fiqr-info-scoring" in out


def test_unknown_name_exits_2_with_the_choices(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["criteria", "acr2099", write(tmp_path, INPUTS["acr2010"])]) == 2
    err = capsys.readouterr().err
    assert err == (
        'error: name: got "acr2099"; expected one of acr2010, acr2011, acr2016, fiqr, iom2015\n'
    )


def test_bad_fields_exit_2_with_one_line_per_problem(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = INPUTS["acr2010"] | {"pain_areas": ["neck", "knee"], "fatigue": 7, "pregnent": True}
    assert main(["criteria", "acr2010", write(tmp_path, data)]) == 2
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    assert len(lines) == 3
    assert lines[0].startswith('error: pain_areas[1]: got "knee"; expected one of')
    assert "fatigue: got 7; expected a number at most 3" in lines[1]
    assert "pregnent" in lines[2]
    assert captured.out == ""


def test_malformed_json_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "broken.json"
    path.write_text('{"pain_areas": [', encoding="utf-8")
    assert main(["criteria", "fiqr", str(path)]) == 2
    assert 'INPUT.json: got "invalid JSON at line 1' in capsys.readouterr().err


def test_missing_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["criteria", "fiqr", str(tmp_path / "absent.json")]) == 2
    assert "expected an existing JSON file" in capsys.readouterr().err


def test_help_names_every_calculator(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["criteria", "--help"]) == 0
    out = capsys.readouterr().out
    assert "acr2010, acr2011, acr2016, fiqr, iom2015" in out
    assert "--json" in out
