"""`ldnkit drug` from the command line: readable output, JSON and bad input."""

from __future__ import annotations

import json

import pytest

from ldnkit.cli import main


def test_drug_shows_ingredients_classes_and_why(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["drug", "Percocet 5 mg/325 mg"]) == 0
    out = capsys.readouterr().out
    assert "oxycodone" in out
    assert "acetaminophen" in out
    assert "opioid agonist" in out
    assert "Opioid (not to be combined with LDN): yes" in out
    assert 'brand "Percocet" = oxycodone + acetaminophen' in out
    assert "fda-revia-label" in out


def test_drug_shows_naltrexone_kind_and_strength(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["drug", "naltrexone 4.5 mg capsule"]) == 0
    out = capsys.readouterr().out
    assert "Naltrexone kind: ldn" in out
    assert "Strength: 4.5 mg" in out
    assert "Opioid (not to be combined with LDN): no" in out


def test_drug_shows_a_misspelling_and_its_distance(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["drug", "oxicodone"]) == 0
    out = capsys.readouterr().out
    assert "misspelling (1 edit)" in out
    assert 'misspelling "oxicodone" read as "oxycodone"' in out


def test_unknown_drug_is_not_an_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["drug", "xyzzy"]) == 0
    assert "Not recognised" in capsys.readouterr().out


def test_drug_json_is_the_recognition(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["drug", "oxyCODONE ER 10 mg", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["is_opioid"] is True
    assert data["long_acting"] is True
    assert data["classes"] == ["opioid_agonist"]
    assert data["ingredients"][0]["id"] == "oxycodone"
    assert data["ingredients"][0]["how"] == "tall-man"
    assert data["strength_mg"] == 10
    assert data["naltrexone_kind"] is None
    assert data["explanation"]
    assert "fda-revia-label" in data["sources"]


def test_drug_by_rxnorm_code_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["drug", "--rxnorm", "861467", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [m["id"] for m in data["ingredients"]] == ["meperidine"]
    assert data["ingredients"][0]["how"] == "rxnorm"
    assert data["is_opioid"] is True


@pytest.mark.parametrize(
    ("argv", "field"),
    [(["drug"], "name"), (["drug", "  "], "name"), (["drug", "--rxnorm", "abc"], "rxnorm")],
)
def test_bad_input_exits_2_with_one_line_naming_the_field(
    argv: list[str], field: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert err[0].startswith(f"error: {field}:")


def test_drug_has_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["drug", "--help"]) == 0
    out = capsys.readouterr().out
    assert "RxNorm" in out
    assert "--json" in out


def test_a_drug_that_cannot_be_read_is_unknown_not_no(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["drug", "Qzplex 10 mg"]) == 0
    out = capsys.readouterr().out
    assert "Opioid (not to be combined with LDN): unknown" in out
    assert 'Not read: "Qzplex"' in out


def test_unknown_is_null_in_json_with_the_unread_words(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["drug", "Xyzzy/acetaminophen", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["is_opioid"] is None
    assert data["unread"] == ["Xyzzy"]
    assert [m["id"] for m in data["ingredients"]] == ["acetaminophen"]


@pytest.mark.parametrize("name", ["tianeptine", "Sublocade", "Brixadi", "BUP/NAL 8-2 film"])
def test_opioids_once_called_no_are_opioids(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["drug", name]) == 0
    assert "Opioid (not to be combined with LDN): yes" in capsys.readouterr().out


def test_an_ambiguous_abbreviation_shows_every_reading(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["drug", "BUP/NAL 8-2 film"]) == 0
    assert '"NAL" could mean: naloxone; naltrexone; nalbuphine; nalmefene' in (
        capsys.readouterr().out
    )


def test_an_unknown_code_is_shown(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["drug", "acetaminophen", "--rxnorm", "99999999"]) == 0
    out = capsys.readouterr().out
    assert "RxNorm code 99999999 is not known to the lexicon" in out
    assert "Opioid (not to be combined with LDN): unknown" in out
