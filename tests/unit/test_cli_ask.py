"""`ldnkit ask`: numbered citations for people, the contract's JSON for machines, exit codes."""

from __future__ import annotations

import json
import re

import pytest

from ldnkit.cli import main
from ldnkit.knowledge import knowledge_base


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_an_answer_reads_as_numbered_statements_with_references(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = run(capsys, "ask", "Can I take LDN with levothyroxine?")
    assert code == 0
    assert f"Answered from ldnkit's knowledge base (version {knowledge_base().version})" in out
    assert re.search(r"^1\. levothyroxine: monitor thyroid function .* \[1\]\[2\]$", out, re.M)
    assert "Sources disagree" in out
    assert "Thyroid medication when LDN starts" in out
    raknes = knowledge_base().source("raknes-2020")
    assert f"[2] {raknes.citation} https://doi.org/{raknes.doi}" in out


def test_json_follows_the_contract(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "ask", "Is LDN safe in pregnancy?", "--json")
    assert code == 0
    data = json.loads(out)
    assert set(data) == {
        "question",
        "status",
        "message",
        "statements",
        "conflicts",
        "sources",
        "knowledge_base",
    }
    assert data["status"] == "answered"
    assert data["knowledge_base"] == knowledge_base().version
    assert set(data["statements"][0]) == {"id", "title", "text", "sources"}
    assert set(data["conflicts"][0]) == {"id", "title", "positions", "note"}
    assert set(data["conflicts"][0]["positions"][0]) == {"text", "sources"}
    assert set(data["sources"][0]) == {"id", "citation", "kind", "year", "doi", "pmid", "url"}
    cited = {s for st in data["statements"] for s in st["sources"]}
    assert cited <= {s["id"] for s in data["sources"]}


@pytest.mark.parametrize(
    ("question", "status"),
    [
        ("What is the capital of France?", "out_of_scope"),
        ("Does LDN cause hair loss?", "no_answer"),
    ],
)
def test_a_refusal_or_an_uncovered_question_exits_0_and_says_why(
    capsys: pytest.CaptureFixture[str], question: str, status: str
) -> None:
    code, out, _ = run(capsys, "ask", question, "--json")
    assert code == 0
    data = json.loads(out)
    assert data["status"] == status
    assert data["message"]
    code, out, _ = run(capsys, "ask", question)
    assert code == 0
    assert data["message"] in out


@pytest.mark.parametrize("question", ["", "   ", "\t\n"])
def test_an_empty_question_exits_2_with_one_line(
    capsys: pytest.CaptureFixture[str], question: str
) -> None:
    code, out, err = run(capsys, "ask", question)
    assert code == 2
    assert out == ""
    assert err.startswith("error: question: got ")
    assert err.strip().endswith("expected a question about LDN, in words")
    assert len(err.strip().splitlines()) == 1


def test_a_missing_question_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "ask")
    assert code == 2
    assert "QUESTION" in err


def test_a_100_kb_question_is_refused_with_exit_0(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "ask", "LDN " * 25_600, "--json")
    assert code == 0
    data = json.loads(out)
    assert data["status"] == "out_of_scope"
    assert "1,000" in data["message"]


def test_help_describes_the_command(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "ask", "--help")
    assert code == 0
    assert "QUESTION" in out
    assert "--json" in out
