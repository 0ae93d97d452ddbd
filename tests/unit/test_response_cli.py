"""`ldnkit response`: a readable summary, JSON, an SVG chart, and exit 2 on bad diaries."""

from __future__ import annotations

import datetime as dt
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from ldnkit.cli import main
from ldnkit.demo.diaries import demo_diary, demo_steps

START = dt.date(2026, 2, 2)


def write(path: Path, data: object) -> str:
    path.write_text(json.dumps(data), encoding="utf-8")
    return str(path)


def entries_json(kind: str = "responder") -> list[dict[str, object]]:
    return [e.model_dump(mode="json") for e in demo_diary(kind, START)]  # type: ignore[arg-type]


def test_summary_names_status_change_and_recommendation(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    diary = write(tmp_path / "diary.json", entries_json())
    assert main(["response", diary, "--start", START.isoformat()]) == 0
    out = capsys.readouterr().out
    assert "Response on 2026-05-02 (day 90 since 2026-02-02): responding" in out
    assert "pain" in out
    assert "substantial" in out or "moderate" in out
    assert "Recommendation: continue" in out
    assert "dworkin-2008-immpact" in out


def test_json_output_is_the_assessment(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    diary = write(tmp_path / "diary.json", entries_json("sleep_side_effects"))
    code = main(
        ["response", diary, "--start", START.isoformat(), "--as-of", "2026-04-30", "--json"]
    )
    assert code == 0
    data = json.loads(capsys.readouterr().out)
    assert data["as_of"] == "2026-04-30"
    assert data["morning_dose_suggestion"]["evidence"] == "lay sources only"
    assert data["recommendation"]["action"] == "too_early"  # day 88: due on day 90
    low, high = data["measures"]["pain"]["ci_absolute"]
    assert low <= data["measures"]["pain"]["absolute_change"] <= high


def test_intake_and_plan_steps_in_the_file_are_used(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    treated = entries_json()[14:]
    steps = [
        {
            "start": s.isoformat(),
            "end": e.isoformat() if e else None,
            "dose_mg": d,
            "time": "bedtime",
        }
        for s, e, d in demo_steps(START)
    ]
    doc = {
        "intake": {"pain": 7, "fatigue": 7, "sleep_quality": 3},
        "entries": treated,
        "steps": steps,
    }
    diary = write(tmp_path / "diary.json", doc)
    assert main(["response", diary, "--start", START.isoformat(), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["baseline_source"] == "intake"
    assert data["measures"]["pain"]["baseline"] == 7.0
    assert [s["dose_mg"] for s in data["steps"]] == [1.5, 3.0, 4.5]
    assert not data["steps"][0]["inferred"]


def test_svg_option_writes_the_symptom_chart(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    diary = write(tmp_path / "diary.json", entries_json())
    chart = tmp_path / "chart.svg"
    assert main(["response", diary, "--start", START.isoformat(), "--svg", str(chart)]) == 0
    root = ET.fromstring(chart.read_text(encoding="utf-8"))
    steps = root.findall(".//{http://www.w3.org/2000/svg}rect[@class='dose-step']")
    assert len(steps) == 3


def test_too_few_entries_is_reported_not_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    diary = write(tmp_path / "diary.json", entries_json()[14:20])
    assert main(["response", diary, "--start", START.isoformat()]) == 0
    out = capsys.readouterr().out
    assert "too few entries" in out
    assert "too early" in out


def test_bad_entries_exit_2_with_one_line_per_problem(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    entries = entries_json()[:5]
    entries[1]["pain"] = 11
    entries[3]["dose_mg"] = 50
    entries[4]["side_effects"] = [{"id": "hair-loss", "severity": "mild"}]
    entries[4]["pian"] = 2
    diary = write(tmp_path / "diary.json", entries)
    assert main(["response", diary, "--start", START.isoformat()]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    fields = [line.removeprefix("error: ").split(":")[0] for line in lines]
    assert fields == [
        "entries[1].pain",
        "entries[3].dose_mg",
        "entries[4].side_effects[0].id",
        "entries[4].pian",
    ]


def test_two_entries_for_one_day_exit_2_naming_both(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    entries = entries_json()[:3]
    entries.append(dict(entries[1], pain=0))
    diary = write(tmp_path / "diary.json", {"entries": entries})
    assert main(["response", diary, "--start", START.isoformat()]) == 2
    err = capsys.readouterr().err
    assert err.startswith('error: entries[3].day: got "2026-01-20"; expected one entry per day')
    assert "entries[1] has the same day" in err


def test_unknown_top_level_field_and_bad_date_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    diary = write(tmp_path / "diary.json", {"entries": [], "intak": {}})
    assert main(["response", diary, "--start", START.isoformat()]) == 2
    assert "intak: got {}; expected no such field" in capsys.readouterr().err
    assert main(["response", diary, "--start", "02/02/2026"]) == 2
    assert capsys.readouterr().err == (
        'error: --start: got "02/02/2026"; expected a date YYYY-MM-DD\n'
    )


@pytest.mark.parametrize("option", ["--start", "--as-of"])
def test_a_date_at_the_calendars_end_exits_2_not_a_traceback(
    option: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    diary = write(tmp_path / "diary.json", entries_json()[:3])
    args = ["response", diary, "--start", START.isoformat()]
    for day in ("0001-01-01", "9999-12-31"):
        assert main([*args, option, day]) == 2
        assert capsys.readouterr().err == (
            f'error: {option}: got "{day}"; expected a date from 1900-01-01 to 2199-12-31\n'
        )


def test_missing_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["response", str(tmp_path / "nope.json"), "--start", "2026-02-02"]) == 2
    assert "DIARY.json" in capsys.readouterr().err


def test_help_describes_the_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["response", "--help"]) == 0
    out = capsys.readouterr().out
    assert "--start" in out
    assert "--json" in out
    assert "--svg" in out
