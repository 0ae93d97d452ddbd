"""Answer the evaluation questions; compare with one FTS5 query per question (the floor).

Prints answers per second and p50/p95 latency of `ldnkit.services.ask.ask` in process, with a
warm index, beside the cost of one BM25 query on the same index, and the ratio. Two passes:
"fresh", where the drug recogniser's cache is emptied before each question (every question is
read as if never seen), and "repeat", where it is not. Then the evaluation figures (recall,
refusals) on the tuning questions and on the held-out ones. Target: p95 under 20 ms fresh.
Run: .venv/bin/python bench/ask.py [--rounds N]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import yaml

from ldnkit.ask.evaluation import Case, Scores, score, split
from ldnkit.domain.ask.corpus import Term
from ldnkit.domain.ask.words import STOPWORDS, words
from ldnkit.domain.drugs import recognise
from ldnkit.services.ask import ask, engine

QUESTIONS = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "ask" / "questions.yaml"


def timings(
    questions: list[str], rounds: int, run: Callable[[str], object], fresh: bool
) -> list[float]:
    spent: list[float] = []
    for _ in range(rounds):
        for question in questions:
            if fresh:
                recognise.cache_clear()
            start = time.perf_counter()
            run(question)
            spent.append(time.perf_counter() - start)
    return spent


def report(label: str, spent: list[float]) -> float:
    spent = sorted(spent)
    p50 = statistics.median(spent) * 1000
    p95 = spent[int(len(spent) * 0.95) - 1] * 1000
    rate = len(spent) / sum(spent)
    print(f"{label:<34} {rate:>9,.0f} /s   p50 {p50:6.2f} ms   p95 {p95:6.2f} ms")
    return p95


def scores_line(label: str, s: Scores) -> None:
    print(
        f"{label:<22} answerable {s.answerable:>3}  recall@1 {s.recall_at_1:6.1%}  "
        f"recall@5 {s.recall_at_5:6.1%}  refused answerable {s.false_refusals} "
        f"({s.false_refusal_rate:.1%})  out-of-scope refused {s.refused}/{s.out_of_scope}  "
        f"uncovered said so {s.said_no_answer}/{s.uncovered}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    cases = [Case.parse(raw) for raw in yaml.safe_load(QUESTIONS.read_text(encoding="utf-8"))]
    questions = [c.question for c in cases]
    current = engine()  # build the index before timing anything

    def floor(question: str) -> object:
        # One BM25 query of the question's own words: what any FTS5 answer costs at least.
        terms = [[Term((w,))] for w in words(question) if w not in STOPWORDS] or [[Term(("ldn",))]]
        return current.index(terms, 40)

    for question in questions:  # warm every cache the answerer keeps
        ask(question)
        floor(question)
    print(f"{len(questions)} questions x {args.rounds} rounds, in process, warm index")
    base = report("one FTS5 query (floor)", timings(questions, args.rounds, floor, fresh=False))
    fresh = report("ask, fresh question", timings(questions, args.rounds, ask, fresh=True))
    repeat = report("ask, repeated question", timings(questions, args.rounds, ask, fresh=False))
    print(f"ask p95 / FTS5 p95: fresh {fresh / base:.1f}x, repeated {repeat / base:.1f}x")
    print(f"target: ask p95 < 20 ms (fresh: {'met' if fresh < 20 else 'NOT met'})")
    tuning, held_out = split(cases)
    scores_line("tuning questions", score(tuning, ask))
    scores_line("held-out questions", score(held_out, ask))
    scores_line("all questions", score(cases, ask))


if __name__ == "__main__":
    main()
