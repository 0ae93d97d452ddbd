"""CLI command: `ldnkit ask QUESTION` (a cited answer made only of knowledge-base records)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.text import Text

from ldnkit.cli.app import app
from ldnkit.cli.render import JSON_OPTION_HELP, console, emit
from ldnkit.domain.ask.model import MAX_QUESTION_CHARS, Answer, AnswerSource
from ldnkit.services.ask import ask as answer_question

_STATUS_WORDS = {
    "answered": "Answered from ldnkit's knowledge base",
    "no_answer": "Not covered by ldnkit's knowledge base",
    "out_of_scope": "Not a question ldnkit answers",
}


def _link(source: AnswerSource) -> str | None:
    if source.doi:
        return f"https://doi.org/{source.doi}"
    if source.pmid:
        return f"https://pubmed.ncbi.nlm.nih.gov/{source.pmid}/"
    return source.url


def _print(answer: Answer) -> None:
    # The answer lists its sources in the order they are first cited: that is the numbering.
    numbers = {s.id: n for n, s in enumerate(answer.sources, 1)}

    def mark(ids: list[str]) -> str:
        return "".join(f"[{numbers[i]}]" for i in ids)

    console.print(Text(answer.question, style="bold"))
    console.print(f"{_STATUS_WORDS[answer.status]} (version {answer.knowledge_base})", markup=False)
    if answer.message:
        console.print()
        console.print(answer.message, markup=False)
    if answer.statements:
        console.print()
        for n, statement in enumerate(answer.statements, 1):
            title = f"{statement.title}: " if statement.title else ""
            marks = mark(statement.sources)
            console.print(f"{n}. {title}{statement.text} {marks}", markup=False)
    if answer.conflicts:
        console.print()
        console.print(Text("Sources disagree", style="bold"))
        for conflict in answer.conflicts:
            console.print(f"  {conflict.title}", markup=False)
            for side in conflict.positions:
                console.print(f"    * {side.text} {mark(side.sources)}", markup=False)
            console.print(f"    Note: {conflict.note}", markup=False)
    if answer.sources:
        console.print()
        console.print(Text("References", style="bold"))
        for n, source in enumerate(answer.sources, 1):
            link = _link(source)
            console.print(f"  [{n}] {source.citation}{f' {link}' if link else ''}", markup=False)


@app.command("ask")
def ask(
    question: Annotated[
        str,
        typer.Argument(
            metavar="QUESTION",
            help=f"A question about LDN, in quotes, up to {MAX_QUESTION_CHARS:,} characters: "
            '"Can I take LDN with levothyroxine?"',
        ),
    ],
    as_json: Annotated[bool, typer.Option("--json", help=JSON_OPTION_HELP)] = False,
) -> None:
    """Answer a question about LDN with the knowledge base's own cited statements.

    Every sentence shown is a knowledge-base record with its sources; where sources disagree,
    every side is shown. A question about something other than LDN is refused, and an LDN
    question the knowledge base does not cover says so. Exit status 0 for every answer, 2 for
    an empty question.
    """
    answer = answer_question(question)
    emit(answer, as_json, lambda: _print(answer))
