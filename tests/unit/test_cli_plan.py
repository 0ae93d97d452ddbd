"""`ldnkit plan` and `ldnkit liquid`: human output, the JSON contract, exports and exit 2."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import icalendar
import pytest

from ldnkit.cli import main

STANDARD = ["plan", "--protocol", "standard", "--start", "2026-11-23"]


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_plan_json_is_the_contract(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, *STANDARD, "--json")
    assert code == 0
    steps = json.loads(out)["steps"]
    assert [(s["start"], s["end"], s["dose_mg"], s["time"]) for s in steps] == [
        ("2026-11-23", "2026-12-06", 1.5, "bedtime"),
        ("2026-12-07", "2026-12-20", 3.0, "bedtime"),
        ("2026-12-21", None, 4.5, "bedtime"),
    ]


def test_plan_table_by_default(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, *STANDARD)
    assert code == 0
    assert "2026-12-21" in out
    assert "ongoing" in out
    assert "4.5 mg" in out
    assert "seed-003" in out


def test_gentle_plan_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "plan", "--protocol", "gentle", "--start", "2026-11-23", "--json")
    assert code == 0
    assert [s["dose_mg"] for s in json.loads(out)["steps"]][:3] == [0.5, 1.0, 1.5]


def test_custom_plan_above_five_mg_needs_the_override(capsys: pytest.CaptureFixture[str]) -> None:
    custom = [
        "plan",
        "--protocol",
        "custom",
        "--start",
        "2026-11-23",
        "--start-dose",
        "1.5",
        "--step",
        "1.5",
        "--interval-days",
        "14",
        "--target",
        "6",
    ]
    code, out, err = run(capsys, *custom, "--json")
    assert code == 2
    assert out == ""
    assert err.startswith("error: --target: got 6.0;")
    assert "--allow-above-5mg" in err
    code, out, _ = run(capsys, *custom, "--allow-above-5mg", "--json")
    assert code == 0
    assert json.loads(out)["steps"][-1]["dose_mg"] == 6.0


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (["--target", "50"], "error: --target: got 50.0 (standard-dose naltrexone, not LDN)"),
        (["--target", "-3"], "error: --target: got -3.0; expected a dose above 0 mg"),
        (["--target", "0"], "error: --target: got 0.0; expected a dose above 0 mg"),
        (["--target", "abc"], 'error: --target: got "abc"; expected a number'),
    ],
)
def test_bad_custom_targets_exit_2_with_one_line(
    capsys: pytest.CaptureFixture[str], extra: list[str], expected: str
) -> None:
    argv = ["plan", "--protocol", "custom", "--start", "2026-11-23", "--start-dose", "1"]
    argv += ["--step", "1", "--interval-days", "7", *extra, "--allow-above-5mg"]
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert out == ""
    assert err.splitlines()[0].startswith(expected)


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["plan", "--protocol", "standard", "--start", "2026-13-01"], "error: --start:"),
        (["plan", "--protocol", "fast", "--start", "2026-11-23"], "error: --protocol:"),
        (["plan", "--start", "2026-11-23"], "error: --protocol: got nothing"),
        ([*STANDARD, "--hold-days", "2"], "error: --procedure:"),
        ([*STANDARD, "--procedure", "2026-12-10", "--hold-days", "1"], "error: --hold-days:"),
        ([*STANDARD, "--step-back", "2026-11-24"], "error: --step-back:"),
        ([*STANDARD, "--capsules-days", "0"], "error: --capsules-days:"),
        ([*STANDARD, "--json", "--print"], "error: --print:"),
    ],
)
def test_bad_plan_options_exit_2(
    capsys: pytest.CaptureFixture[str], argv: list[str], expected: str
) -> None:
    code, _, err = run(capsys, *argv)
    assert code == 2
    assert err.startswith(expected)
    assert "Traceback" not in err


def test_adjustments_from_the_command_line(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys,
        *STANDARD,
        "--step-back",
        "2026-12-10",
        "--morning-from",
        "2026-12-15",
        "--procedure",
        "2027-02-01",
        "--opioids-stop",
        "2027-02-03",
        "--json",
    )
    assert code == 0
    data = json.loads(out)
    assert [a["kind"] for a in data["adjustments"]] == [
        "step-back",
        "move-to-morning",
        "procedure-hold",
    ]
    assert data["steps"][2]["dose_mg"] == 1.5  # stepped back
    assert data["steps"][-1]["time"] == "morning"
    assert data["steps"][-1]["end"] is None


def test_capsule_counts_in_both_outputs(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, *STANDARD, "--capsules-days", "30", "--json")
    assert code == 0
    totals = json.loads(out)["capsules"]["totals"]
    assert {t["strength_mg"]: t["count"] for t in totals} == {4.5: 2, 3.0: 14, 1.5: 14}
    code, out, _ = run(capsys, *STANDARD, "--capsules-days", "30")
    assert code == 0
    assert "Total: 2 x 4.5 mg + 14 x 3 mg + 14 x 1.5 mg" in out


def test_ics_file_is_written_and_parses(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    target = tmp_path / "plan.ics"
    code, out, _ = run(capsys, *STANDARD, "--ics", str(target), "--patient-label", "J. Doe")
    assert code == 0
    assert f"Calendar written to {target}" in out
    raw = target.read_bytes()
    assert b"\r\n" in raw
    events = list(icalendar.Calendar.from_ical(raw).walk("VEVENT"))
    assert [e.decoded("DTSTART").date() for e in events] == [
        dt.date(2026, 11, 23),
        dt.date(2026, 12, 7),
        dt.date(2026, 12, 21),
    ]


def test_ics_into_a_missing_folder_exits_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, _, err = run(capsys, *STANDARD, "--ics", str(tmp_path / "no" / "plan.ics"))
    assert code == 2
    assert err.startswith("error: ")


def test_print_gives_the_printable_text(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, *STANDARD, "--print")
    assert code == 0
    assert out.startswith("LDN titration plan (standard protocol)")
    assert "Sources" in out


def test_liquid_json_for_the_contract_example(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys,
        "liquid",
        "--tablet-mg",
        "50",
        "--volume-ml",
        "50",
        "--dose-mg",
        "4.5",
        "--made-on",
        "2026-11-23",
        "--json",
    )
    assert code == 0
    data = json.loads(out)
    assert data["concentration_mg_per_ml"] == 1.0
    assert data["dose_ml"] == 4.5
    assert data["days_per_tablet"] == 11.1
    assert data["recipe"] == "water"
    assert data["beyond_use"][0]["date"] == "2026-11-28"
    assert data["stability_data"] is False


def test_liquid_summary_for_the_fawcett_recipe(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys,
        "liquid",
        "--volume-ml",
        "50",
        "--dose-mg",
        "4.5",
        "--recipe",
        "fawcett",
        "--made-on",
        "2026-11-23",
    )
    assert code == 0
    assert "1 mg/mL" in out
    assert "4.5 mL for 4.5 mg" in out
    assert "2027-01-22" in out  # 60 days refrigerated
    assert "2026-12-23" in out  # 30 days at room temperature
    assert "fawcett-1997" in out


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--volume-ml", "50", "--dose-mg", "50"], "error: --dose-mg: got 50.0 (standard-dose"),
        (["--volume-ml", "50", "--dose-mg", "6"], "error: --dose-mg: got 6.0"),
        (["--volume-ml", "0", "--dose-mg", "4.5"], "error: --volume-ml: got"),
        (["--dose-mg", "4.5"], "error: --volume-ml: got nothing"),
        (["--volume-ml", "50", "--dose-mg", "4.5", "--recipe", "milk"], "error: --recipe:"),
        (["--volume-ml", "50", "--dose-mg", "4.5", "--made-on", "soon"], "error: --made-on:"),
    ],
)
def test_bad_liquid_options_exit_2(
    capsys: pytest.CaptureFixture[str], argv: list[str], expected: str
) -> None:
    code, out, err = run(capsys, "liquid", *argv, "--json")
    assert code == 2
    assert out == ""
    assert err.startswith(expected)


@pytest.mark.parametrize("command", ["plan", "liquid"])
def test_help_text_exists(capsys: pytest.CaptureFixture[str], command: str) -> None:
    code, out, _ = run(capsys, command, "--help")
    assert code == 0
    assert "--json" in out


# `plan --profile`: the start is checked against the patient's safety screen.
TRAMADOL_PROFILE: dict[str, object] = {
    "as_of": "2026-11-23",
    "liver": "normal",
    "kidney": "normal",
    "medications": [{"name": "tramadol 50 mg", "status": "active"}],
}
PERCOCET_PROFILE: dict[str, object] = {
    **TRAMADOL_PROFILE,
    "medications": [{"name": "Percocet 5/325", "status": "stopped", "last_dose": "2026-11-19"}],
}


def _profile_file(tmp_path: Path, profile: dict[str, object]) -> str:
    path = tmp_path / "profile.json"
    path.write_text(json.dumps(profile), encoding="utf-8")
    return str(path)


def test_plan_for_a_tramadol_profile_exits_2_saying_what_the_screen_says(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, out, err = run(capsys, *STANDARD, "--profile", _profile_file(tmp_path, TRAMADOL_PROFILE))
    assert code == 2
    assert out == ""
    assert err == (
        "error: --override-reason: got nothing; expected the reason for starting against the "
        "safety screen, which says contraindicated (tramadol 50 mg) and gives no start date\n"
    )


def test_plan_a_day_before_the_percocet_washout_ends_exits_2_naming_the_earliest_start(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    profile = _profile_file(tmp_path, PERCOCET_PROFILE)
    argv = ["plan", "--protocol", "standard", "--profile", profile, "--json"]
    code, out, err = run(capsys, *argv, "--start", "2026-11-25")
    assert code == 2
    assert out == ""
    assert err == (
        'error: --start: got "2026-11-25"; expected a start on or after 2026-11-26, the earliest '
        "start the safety screen allows (it says wait: Percocet 5/325); or --override-reason with "
        "the reason for starting against the screen\n"
    )
    code, out, _ = run(capsys, *argv, "--start", "2026-11-26")
    assert code == 0
    data = json.loads(out)
    assert data["steps"][0]["start"] == "2026-11-26"
    assert data["screen"]["screened_on"] == "2026-11-26"
    assert data["screen"]["start_allowed"] is True
    assert data["override"] is None


def test_plan_with_an_override_reason_is_given_and_says_so_in_every_output(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    reason = "Tramadol stopped tonight by the pain team; urine screen booked."
    argv = [*STANDARD, "--profile", _profile_file(tmp_path, TRAMADOL_PROFILE)]
    argv += ["--override-reason", reason]
    code, out, _ = run(capsys, *argv, "--json")
    assert code == 0
    data = json.loads(out)
    assert data["screen"]["verdict"] == "contraindicated"
    assert data["screen"]["earliest_start"] is None
    assert data["screen"]["findings"][0]["rule"] == "opioid-active"
    assert data["override"]["reason"] == reason
    assert data["override"]["by"] is None
    assert dt.datetime.fromisoformat(data["override"]["at"]).tzinfo is not None
    code, out, _ = run(capsys, *argv)
    assert code == 0
    assert "Safety screen for 2026-11-23: contraindicated, no start date." in out
    assert "STARTED AGAINST THE SAFETY SCREEN" in out
    assert reason in " ".join(out.split())
    code, out, _ = run(capsys, *argv, "--print")
    assert code == 0
    assert out.index("STARTED AGAINST THE SAFETY SCREEN") < out.index("From")
    assert reason in " ".join(out.split())


def test_plan_without_a_profile_keeps_its_contract(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, *STANDARD, "--json")
    assert code == 0
    assert set(json.loads(out)) == {"protocol", "target_mg", "steps", "adjustments", "sources"}


def test_an_override_reason_without_a_profile_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, *STANDARD, "--override-reason", "because")
    assert (code, out) == (2, "")
    assert err == (
        'error: --override-reason: got "because"; expected a --profile beside it (an override '
        "needs the screen it overrides)\n"
    )


def test_a_blank_override_reason_exits_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    profile = _profile_file(tmp_path, TRAMADOL_PROFILE)
    code, out, err = run(capsys, *STANDARD, "--profile", profile, "--override-reason", " ")
    assert (code, out) == (2, "")
    assert err.startswith('error: --override-reason: got " "; expected the reason for starting')


def test_a_missing_profile_file_exits_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, err = run(capsys, *STANDARD, "--profile", str(tmp_path / "missing.json"))
    assert (code, out) == (2, "")
    assert "error: --profile: got " in err
    assert err.endswith("expected an existing JSON file\n")


def test_a_misspelled_profile_field_exits_2_naming_it(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    profile = _profile_file(tmp_path, {**TRAMADOL_PROFILE, "pregnent": True})
    code, _, err = run(capsys, *STANDARD, "--profile", profile)
    assert code == 2
    assert err.startswith("error: pregnent: got true; expected no such field")
