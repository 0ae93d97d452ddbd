"""Problems with a form in the words of its page: the field's label, what is wrong, what to do.

The domain and the JSON API name fields by their paths (`medications[0].last_dose`) and say
what came and what was expected; a page names the field as its label reads and tells the
person what to enter instead. Each page gives a `Locate` that turns a field path into the
form input it belongs to (for the message beside it) and its label.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from ldnkit.validation import _EXPECTED as EXPECTED_WORDS
from ldnkit.validation import Problem

REQUIRED = EXPECTED_WORDS["missing"]

# (form input name, label) of a field path; None when the page has no such field.
Locate = Callable[[str], tuple[str, str] | None]


@dataclass(frozen=True)
class FieldMessage:
    """One problem as a page shows it: beside the input `name`, and in the list at the top."""

    name: str
    label: str
    text: str

    def __str__(self) -> str:
        return f"{self.label}: {self.text}"


def quoted(received: str) -> str:
    """A received value as people read it: “11”, not the JSON "11"."""
    if len(received) >= 2 and received[0] == received[-1] == '"':
        return f"\u201c{received[1:-1]}\u201d"
    return received


def advice(problem: Problem) -> str:
    """What is wrong with the value and what to do, without the field's name."""
    blank = problem.received.startswith('"') and not problem.received.strip('" ')
    if problem.received == "nothing" or blank:
        if problem.expected == REQUIRED:
            return "please fill this in."
        return f"please enter {problem.expected}."
    return f"{quoted(problem.received)} cannot be used here; please enter {problem.expected}."


def worded(problems: Iterable[Problem], locate: Locate) -> list[FieldMessage]:
    """Each problem in the page's words; a field the page does not know keeps its path."""
    out = []
    for problem in problems:
        found = locate(problem.field)
        name, label = found if found else (problem.field, problem.field)
        out.append(FieldMessage(name, label, advice(problem)))
    return out


def by_input(messages: Iterable[FieldMessage]) -> dict[str, str]:
    """The first message for each form input, to show beside it."""
    out: dict[str, str] = {}
    for message in messages:
        out.setdefault(message.name, str(message))
    return out
