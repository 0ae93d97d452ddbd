"""Measuring the answerer against a set of questions with known answers.

Each question names the parts its answer must contain (a part is satisfied by any one of its
record ids) or the status it must get (`no_answer`, `out_of_scope`). Recall at k is the share
of parts found among the first k statements, averaged over the answerable questions; recall at
1 is the share of answerable questions whose first statement is one of the expected records.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ldnkit.domain.ask.model import Answer


@dataclass(frozen=True)
class Case:
    """One question of the evaluation and what its answer must be."""

    question: str
    parts: tuple[frozenset[str], ...] = ()
    conflict: str | None = None
    status: str = "answered"
    held_out: bool = False

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> Case:
        return cls(
            question=str(raw["q"]),
            parts=tuple(
                frozenset(i.strip() for i in str(part).split("|")) for part in raw.get("expect", ())
            ),
            conflict=raw.get("conflict"),
            status=str(raw.get("status", "answered")),
            held_out=bool(raw.get("held_out", False)),
        )


@dataclass
class Scores:
    """Figures for one set of questions."""

    answerable: int = 0
    recall_at_1: float = 0.0
    recall_at_5: float = 0.0
    false_refusals: int = 0
    conflicts_expected: int = 0
    conflicts_shown: int = 0
    out_of_scope: int = 0
    refused: int = 0
    uncovered: int = 0
    said_no_answer: int = 0
    misses: list[str] = field(default_factory=list)

    @property
    def false_refusal_rate(self) -> float:
        return self.false_refusals / self.answerable if self.answerable else 0.0


def found_parts(case: Case, answer: Answer, k: int) -> int:
    """How many of a case's parts are among the first k statements."""
    ids = {s.id for s in answer.statements[:k]}
    return sum(1 for part in case.parts if part & ids)


def score(cases: Iterable[Case], ask: Callable[[str], Answer]) -> Scores:
    """Ask every question and score the answers."""
    scores = Scores()
    at1 = at5 = 0.0
    for case in cases:
        answer = ask(case.question)
        if case.status == "out_of_scope":
            scores.out_of_scope += 1
            scores.refused += answer.status == "out_of_scope"
            if answer.status != "out_of_scope":
                scores.misses.append(f"not refused: {case.question!r} -> {answer.status}")
            continue
        if case.status == "no_answer":
            scores.uncovered += 1
            scores.said_no_answer += answer.status == "no_answer"
            if answer.status != "no_answer":
                scores.misses.append(f"not no_answer: {case.question!r} -> {answer.status}")
            continue
        scores.answerable += 1
        if answer.status != "answered":
            scores.false_refusals += 1
        first = answer.statements[0].id if answer.statements else None
        at1 += any(first in part for part in case.parts)
        found = found_parts(case, answer, 5)
        at5 += found / len(case.parts)
        if found < len(case.parts):
            top = [s.id for s in answer.statements[:5]]
            scores.misses.append(f"missed: {case.question!r} -> {answer.status} {top}")
        if case.conflict:
            scores.conflicts_expected += 1
            shown = any(c.id == case.conflict for c in answer.conflicts)
            scores.conflicts_shown += shown
            if not shown:
                scores.misses.append(f"conflict {case.conflict} not shown: {case.question!r}")
    if scores.answerable:
        scores.recall_at_1 = at1 / scores.answerable
        scores.recall_at_5 = at5 / scores.answerable
    return scores


def split(cases: Sequence[Case]) -> tuple[list[Case], list[Case]]:
    """(tuning questions, held-out questions)."""
    return [c for c in cases if not c.held_out], [c for c in cases if c.held_out]
