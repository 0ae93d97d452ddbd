"""`ldnkit evidence` and `ldnkit sources`: text for people, JSON for machines, exit 2 if bad."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from ldnkit.cli import main
from ldnkit.knowledge import knowledge_base
from ldnkit.knowledge.models import SOURCE_KINDS


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> Any:
    code, out, err = run(capsys, *argv, "--json")
    assert code == 0, err
    return json.loads(out)


def test_evidence_without_a_condition_lists_every_condition(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = run(capsys, "evidence")
    assert code == 0
    for condition in knowledge_base().conditions:
        assert condition.id in out
    assert "not_recommended" in out
    assert "Crohn's disease" in out


def test_evidence_list_as_json_carries_level_role_and_codes(
    capsys: pytest.CaptureFixture[str],
) -> None:
    data = run_json(capsys, "evidence")
    kb = knowledge_base()
    assert data["version"] == kb.version
    rows = {row["id"]: row for row in data["conditions"]}
    assert len(rows) == len(kb.conditions)
    assert rows["fibromyalgia"]["evidence_level"] == "mixed"
    assert rows["fibromyalgia"]["icd10cm"] == ["M79.7"]
    assert rows["crohns-disease"]["screen_role"] == "not_recommended"


def test_disagreements_about_no_single_condition_are_listed_with_the_overview(
    capsys: pytest.CaptureFixture[str],
) -> None:
    data = run_json(capsys, "evidence")
    topics = {c["id"]: c for c in data["general_conflicts"]}
    assert "cyp450-interaction" in topics
    by_number = {ref["n"]: ref["id"] for ref in data["references"]}
    cited = {
        by_number[n]
        for side in topics["cyp450-interaction"]["positions"]
        for n in side["citations"]
    }
    assert {"seed-000", "alrabiah-2018"} <= cited

    code, out, _ = run(capsys, "evidence")
    assert code == 0
    assert "Sources disagree" in out
    assert "CYP450 interactions" in out


def test_fibromyalgia_page_numbers_every_citation_and_lists_the_references(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = run(capsys, "evidence", "fibromyalgia")
    assert code == 0
    assert out.startswith("Fibromyalgia")
    assert "Younger et al. 2013" in out
    assert "SNOMED CT 95417003, 203082005 (unverified)" in out
    body, references = out.split("\nReferences\n")
    cited = {int(n) for n in re.findall(r"\[(\d+)\]", body)}
    listed = [int(n) for n in re.findall(r"^\s+\[(\d+)\] ", references, flags=re.MULTILINE)]
    assert listed == list(range(1, len(listed) + 1))
    assert cited == set(listed)
    assert "https://doi.org/10.1002/art.37734" in references


def test_the_page_json_numbers_match_its_reference_list(
    capsys: pytest.CaptureFixture[str],
) -> None:
    page = run_json(capsys, "evidence", "fibromyalgia")
    by_number = {ref["n"]: ref["id"] for ref in page["references"]}
    younger = next(s for s in page["studies"] if s["label"] == "Younger et al. 2013")
    assert [by_number[n] for n in younger["citations"]] == ["younger-2013"]
    for statement in page["statements"]:
        assert [by_number[n] for n in statement["citations"]] == statement["sources"]


def test_fibromyalgia_page_shows_the_largest_trial_and_where_the_trials_disagree(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = run(capsys, "evidence", "fibromyalgia")
    assert code == 0
    assert out.splitlines()[1].startswith("Evidence: mixed")
    studies = out.split("\nStudies\n")[1].split("\nPositions\n")[0]
    bruun = next(line for line in studies.splitlines() if "Bruun et al. 2024" in line)
    assert "n=99" in bruun
    assert "6 mg daily for 12 weeks" in bruun
    assert "not significant" in bruun
    disagreement = out.split("\nSources disagree\n")[1].split("\nReferences\n")[0]
    topic = disagreement.split("Whether LDN relieves fibromyalgia pain\n")[1].split("Note:")[0]
    assert "28.8% versus 18.0%" in topic
    assert "no significant difference in pain" in topic
    references = out.split("\nReferences\n")[1]
    assert "Lancet Rheumatol. 2024;6(1):e31-e39" in references
    assert "https://doi.org/10.1016/S2665-9913(23)00278-3" in references


def test_fibromyalgia_json_cites_bruun_2024_as_a_study_and_as_a_side_of_the_conflict(
    capsys: pytest.CaptureFixture[str],
) -> None:
    page = run_json(capsys, "evidence", "fibromyalgia")
    assert page["condition"]["evidence_level"] == "mixed"
    by_number = {ref["n"]: ref["id"] for ref in page["references"]}
    bruun = next(s for s in page["studies"] if s["label"] == "Bruun et al. 2024")
    assert (bruun["n"], bruun["dose"]) == (99, "6 mg daily for 12 weeks")
    assert [by_number[n] for n in bruun["citations"]] == ["bruun-2024"]
    conflict = next(c for c in page["conflicts"] if c["id"] == "fibromyalgia-trial-results")
    sides = [{by_number[n] for n in side["citations"]} for side in conflict["positions"]]
    assert {"younger-mackey-2009", "younger-2013"} in sides
    assert {"bruun-2024"} in sides
    bruun_ref = next(r for r in page["references"] if r["id"] == "bruun-2024")
    assert (bruun_ref["kind"], bruun_ref["year"], bruun_ref["pmid"]) == ("rct", 2024, "38258677")


def test_positions_read_as_words_not_stance_values(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "evidence", "fibromyalgia")
    assert code == 0
    positions = out.split("\nPositions\n")[1].split("\nStatements\n")[0]
    assert "Ologunowa et al. 2025 (meta-analysis), against LDN:" in positions
    assert "Vatvani et al. 2024 (meta-analysis), for LDN:" in positions
    assert "(for)" not in positions
    assert "(uncertain)" not in positions


@pytest.mark.parametrize(
    ("typed", "condition_id"),
    [
        ("M79.7", "fibromyalgia"),
        ("chronic fatigue syndrome", "me-cfs"),
        ("K50.90", "crohns-disease"),
        ("278860009", "chronic-low-back-pain"),
    ],
)
def test_evidence_accepts_synonyms_and_codes(
    capsys: pytest.CaptureFixture[str], typed: str, condition_id: str
) -> None:
    assert run_json(capsys, "evidence", typed)["condition"]["id"] == condition_id


def test_crohns_page_shows_where_sources_disagree_with_both_sides_cited(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = run(capsys, "evidence", "crohns")
    assert code == 0
    disagreement = out.split("Sources disagree")[1].split("\nReferences\n")[0]
    assert "recommends against" in disagreement
    assert "fantastic results" in disagreement

    page = run_json(capsys, "evidence", "crohns")
    by_number = {ref["n"]: ref["id"] for ref in page["references"]}
    sides = page["conflicts"][0]["positions"]
    cited = {by_number[n] for side in sides for n in side["citations"]}
    assert {"seed-003", "seed-004", "cochrane-parker-2018"} <= cited


def test_an_unknown_condition_exits_2_with_one_line_and_a_suggestion(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = run(capsys, "evidence", "fibromyalga")
    assert code == 2
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(
        'error: condition: got "fibromyalga"; expected a known condition (see ldnkit evidence)'
    )
    assert '"Fibromyalgia"' in lines[0]


def test_the_beginning_of_a_name_gets_a_suggestion(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "evidence", "fibro")
    assert code == 2
    assert err.strip().endswith('did you mean "Fibromyalgia"?')


def test_nonsense_gets_no_suggestion_but_the_same_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, _, err = run(capsys, "evidence", "xyz")
    assert code == 2
    assert err.strip() == (
        'error: condition: got "xyz"; expected a known condition (see ldnkit evidence)'
    )


def test_an_empty_condition_is_bad_input(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "evidence", "  ")
    assert code == 2
    assert err.startswith("error: condition:")


def test_sources_lists_every_source_with_its_link(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "sources")
    assert code == 0
    kb = knowledge_base()
    for source in kb.sources.values():
        assert source.id in out
    assert "https://doi.org/10.1002/art.37734" in out


def test_sources_filtered_by_kind_as_json(capsys: pytest.CaptureFixture[str]) -> None:
    data = run_json(capsys, "sources", "--kind", "rct")
    ids = {s["id"] for s in data["sources"]}
    assert "bruun-2024" in ids
    assert "younger-2013" not in ids  # a crossover trial, listed as one
    assert all(s["kind"] == "rct" for s in data["sources"])
    expected = {s.id for s in knowledge_base().sources.values() if s.kind == "rct"}
    assert ids == expected
    assert all(set(s) >= {"id", "citation", "kind", "year", "link"} for s in data["sources"])


def test_an_unknown_source_kind_exits_2_naming_the_choices(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = run(capsys, "sources", "--kind", "rtc")
    assert code == 2
    assert out == ""
    assert err.strip() == 'error: kind: got "rtc"; expected one of ' + ", ".join(SOURCE_KINDS)


@pytest.mark.parametrize("command", ["evidence", "sources"])
def test_commands_have_help(capsys: pytest.CaptureFixture[str], command: str) -> None:
    code, out, _ = run(capsys, command, "--help")
    assert code == 0
    assert "--json" in out
