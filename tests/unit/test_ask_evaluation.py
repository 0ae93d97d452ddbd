"""The answerer against its evaluation questions (tests/fixtures/ask/questions.yaml).

The thresholds are the issue's: top-5 recall of at least 95%, every out-of-scope question
refused, at most 5% of answerable questions refused, every statement cited and resolvable, the
same answer on repeat. Recall is checked on all answerable questions together and reported for
the questions the answerer was tuned on and for those held out.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest
import yaml

from ldnkit.ask.evaluation import Case, Scores, score, split
from ldnkit.domain.ask.records import build_records
from ldnkit.knowledge import knowledge_base
from ldnkit.services.ask import ask

QUESTIONS = Path(__file__).resolve().parents[1] / "fixtures" / "ask" / "questions.yaml"
# Rules rendered for the drug a question names: ids of answers, not stored records.
RENDERED = {"rule:opioid-active", "rule:opioid-peripheral"}


@cache
def cases() -> tuple[Case, ...]:
    return tuple(Case.parse(raw) for raw in yaml.safe_load(QUESTIONS.read_text(encoding="utf-8")))


@cache
def scores() -> Scores:
    return score(cases(), ask)


def test_the_evaluation_has_the_questions_the_issue_asks_for() -> None:
    tuned, held_out = split(cases())
    answerable = [c for c in cases() if c.status == "answered"]
    assert len(answerable) >= 150
    assert len([c for c in cases() if c.status == "out_of_scope"]) >= 30
    assert len([c for c in held_out if c.status == "answered"]) >= 40
    assert len(tuned) > len(held_out)


def test_every_expected_record_exists() -> None:
    known = {r.id for r in build_records(knowledge_base())} | RENDERED
    missing = [(c.question, i) for c in cases() for part in c.parts for i in part if i not in known]
    assert missing == []


def test_top_5_recall_is_at_least_95_percent() -> None:
    s = scores()
    assert s.recall_at_5 >= 0.95, "\n".join(s.misses)


def test_every_out_of_scope_question_is_refused() -> None:
    s = scores()
    assert s.refused == s.out_of_scope, "\n".join(m for m in s.misses if "refused" in m)


def test_at_most_5_percent_of_answerable_questions_are_refused() -> None:
    assert scores().false_refusal_rate <= 0.05


def test_nearly_every_uncovered_ldn_question_says_so() -> None:
    s = scores()
    assert s.said_no_answer >= 0.9 * s.uncovered, "\n".join(m for m in s.misses if "no_ans" in m)


def test_the_expected_disagreements_are_shown() -> None:
    s = scores()
    assert s.conflicts_shown >= s.conflicts_expected - 1, "\n".join(
        m for m in s.misses if "conflict" in m
    )


@pytest.mark.parametrize("case", cases()[::7], ids=lambda c: c.question[:40])
def test_answers_are_cited_resolvable_and_the_same_on_repeat(case: Case) -> None:
    kb = knowledge_base()
    answer = ask(case.question)
    listed = {s.id for s in answer.sources}
    for statement in answer.statements:
        assert statement.sources
        assert set(statement.sources) <= listed
    for source_id in listed:
        kb.source(source_id)
    assert ask(case.question) == answer
