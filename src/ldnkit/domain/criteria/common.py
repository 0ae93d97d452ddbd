"""Shared building blocks of the calculators: input types, result models, formatting."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from ldnkit.domain.criteria.texts import NoteText, note


class StrictInput(BaseModel):
    """Calculator inputs: unknown fields are errors (a misspelled item must not score 0)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Output(BaseModel):
    model_config = ConfigDict(frozen=True)


def _plain_number(expected: str, whole: bool = False) -> BeforeValidator:
    # pydantic would read true as 1 and 2.5 as a rounding error; both are mistakes the user
    # should hear about in the words of the field, not be scored on.
    def check(value: object) -> object:
        if isinstance(value, bool) or (
            whole and isinstance(value, float) and not value.is_integer()
        ):
            raise ValueError(expected)
        return value

    return BeforeValidator(check)


Score03 = Annotated[int, _plain_number("a whole number from 0 to 3", whole=True), Field(ge=0, le=3)]
Months = Annotated[
    float, _plain_number("a number of months (0 or more)"), Field(ge=0, allow_inf_nan=False)
]
Item010 = Annotated[
    float, _plain_number("a number from 0 to 10, or null"), Field(ge=0, le=10, allow_inf_nan=False)
]


class CriterionResult(Output):
    """One criterion of a set: what it requires, whether it passed, and why."""

    id: str
    text: str
    passed: bool
    detail: str


class Note(Output):
    """Something the user should know beside the verdict, with its sources."""

    id: str
    text: str
    sources: tuple[str, ...]


def notes(ids: Iterable[str]) -> tuple[Note, ...]:
    """The notes with these ids, in order."""
    found: list[tuple[str, NoteText]] = [(i, note(i)) for i in ids]
    return tuple(Note(id=i, text=n.text, sources=n.sources) for i, n in found)


def sources_of(*groups: Iterable[str], extra: Iterable[Note] = ()) -> tuple[str, ...]:
    """Every source id cited, once each, in first-cited order."""
    seen: dict[str, None] = {}
    for group in groups:
        seen.update(dict.fromkeys(group))
    for n in extra:
        seen.update(dict.fromkeys(n.sources))
    return tuple(seen)


def number(value: float) -> str:
    """A number as people write it: 3, not 3.0; 2.5 stays 2.5."""
    return str(int(value)) if float(value).is_integer() else f"{value:g}"
