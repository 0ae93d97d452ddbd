"""Hostile input on the command line: each cause is one `error:` line and exit status 2.

Found by fuzzing every command's arguments: integers past Python's 4,300-digit limit, JSON nested
100,000 deep, /dev/zero as an input file, counts and doses no one means, dates that push dated
arithmetic off the calendar, database URLs that cannot be used.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ldnkit.cli import main
from ldnkit.fhir import reading

HUGE_INTEGER = "9" * 5000  # past sys.get_int_max_str_digits() (4300)
DEEP_JSON = "[" * 100_000 + "]" * 100_000


def _write(folder: Path, name: str, text: str) -> str:
    path = folder / name
    path.write_text(text)
    return str(path)


def _inputs(folder: Path, document: str) -> list[list[str]]:
    """Every command that reads a JSON file, given `document` as that file."""
    json_file = _write(folder, "input.json", document)
    bulk = folder / "export"
    bulk.mkdir()
    ndjson = _write(bulk, "Patient.ndjson", document.replace("\n", " ") + "\n")
    return [
        ["screen", json_file],
        ["criteria", "fiqr", json_file],
        ["response", json_file, "--start", "2026-01-05"],
        ["screen", "--fhir", json_file],
        ["fhir", "profile", ndjson],
        ["screen", "--fhir", str(bulk)],
    ]


def _one_error(capsys: pytest.CaptureFixture[str], *needles: str) -> str:
    err = capsys.readouterr().err
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ")
    for needle in needles:
        assert needle in lines[0]
    return lines[0]


@pytest.mark.parametrize("command", range(6))
def test_a_5000_digit_integer_in_any_json_input_is_one_error_line(
    command: int, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    document = '{"resourceType": "Patient", "id": "p", "age": ' + HUGE_INTEGER + "}"
    argv = _inputs(tmp_path, document)[command]
    assert main(argv) == 2
    _one_error(capsys, "a number longer than 4300 digits", "expected numbers of at most 4300")


@pytest.mark.parametrize("command", range(6))
def test_json_nested_100000_deep_is_one_error_line(
    command: int, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = _inputs(tmp_path, DEEP_JSON)[command]
    assert main(argv) == 2
    _one_error(capsys, "nested more than 64 levels deep")


def test_json_nested_within_the_bound_is_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # 60 levels is more than any real profile needs, and still only the field is refused.
    profile = {"as_of": "2026-11-23", "sex": "female", "extra": json.loads("[" * 60 + "]" * 60)}
    assert main(["screen", _write(tmp_path, "p.json", json.dumps(profile))]) == 2
    _one_error(capsys, "extra: got")


needs_dev_zero = pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero")


@needs_dev_zero
@pytest.mark.parametrize(
    ("argv", "limit"),
    [
        (["screen", "/dev/zero"], "16 MB"),
        (["criteria", "fiqr", "/dev/zero"], "16 MB"),
        (["response", "/dev/zero", "--start", "2026-01-05"], "16 MB"),
        (["screen", "--fhir", "/dev/zero"], "128 MB"),
        (["fhir", "profile", "/dev/zero"], "128 MB"),
    ],
)
def test_dev_zero_is_refused_after_the_size_limit_not_read_to_the_end(
    argv: list[str], limit: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    _one_error(capsys, f"got a file of more than {limit}; expected a file of at most {limit}")


def test_an_ndjson_line_longer_than_the_limit_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # The real bound is 16 MB; lowered here so the test writes kilobytes, not megabytes.
    monkeypatch.setattr(reading, "MAX_NDJSON_LINE_BYTES", 1000)
    line = json.dumps({"resourceType": "Patient", "id": "p", "text": "x" * 2000})
    path = _write(tmp_path, "Patient.ndjson", '{"resourceType": "Patient", "id": "q"}\n' + line)
    assert main(["fhir", "profile", path]) == 2
    _one_error(capsys, "Patient.ndjson line 2: got a line of more than 1000 bytes")


def test_synthesising_more_patients_than_the_bound_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "export"
    argv = ["population", "synth", "--out", str(out), "--patients", "99999999999999999999"]
    assert main(argv) == 2
    _one_error(capsys, "--patients")
    assert not out.exists()


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (
            ["liquid", "--dose-mg", "1e-300", "--volume-ml", "50"],
            "--dose-mg: got 1e-300; expected a dose in whole micrograms",
        ),
        (
            ["liquid", "--dose-mg", "4.5", "--volume-ml", "1e-300"],
            '--volume-ml: got "1e-300"; expected a number at least 1',
        ),
        (
            ["liquid", "--dose-mg", "4.5", "--volume-ml", "50", "--made-on", "9999-12-31"],
            '--made-on: got "9999-12-31"; expected a date from 1900-01-01 to 2199-12-31',
        ),
        (
            ["liquid", "--dose-mg", "4.5", "--volume-ml", "50", "--recipe", "fawcett",
             "--made-on", "9999-12-31"],
            "--made-on: got",
        ),
        (
            ["plan", "--protocol", "standard", "--start", "2026-01-05", "--procedure",
             "2026-03-01", "--hold-days", "99999999999999999999"],
            "--hold-days: got 99999999999999999999; expected 2 to",
        ),
        (
            ["plan", "--protocol", "custom", "--start", "2026-01-05", "--start-dose", "0.5",
             "--step", "1e308", "--interval-days", "7", "--target", "4.5"],
            "--step: got 1e+308; expected a multiple of 0.5 mg",
        ),
    ],
)  # fmt: skip
def test_doses_days_and_dates_no_one_means_are_one_error_line(
    argv: list[str], expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    _one_error(capsys, expected)


def test_a_database_url_for_a_driver_not_installed_is_one_error_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LDNKIT_DATABASE_URL", "mysql://clinic@db.example.org/ldnkit")
    assert main(["db", "status"]) == 2
    _one_error(capsys, "LDNKIT_DATABASE_URL: got", "the driver MySQLdb is not installed")


def test_a_file_that_is_not_a_database_is_one_error_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    notes = tmp_path / "notes.db"
    notes.write_text("shopping list: milk, eggs\n" * 100)
    monkeypatch.setenv("LDNKIT_DATABASE_URL", f"sqlite:///{notes}")
    for argv in (["db", "status"], ["db", "upgrade"], ["demo"]):
        assert main(argv) == 2
        _one_error(capsys, "LDNKIT_DATABASE_URL", "file is not a database")
    assert notes.read_text().startswith("shopping list")
