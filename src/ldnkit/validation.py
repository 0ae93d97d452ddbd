"""Bad input becomes one clear problem per field: where, what came, what was expected.

Every entry point (CLI, web forms, JSON API, FHIR import) reports problems through this module,
so a user sees the same words for the same mistake wherever they make it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError


def printable(text: str) -> str:
    """Text that can be written as UTF-8: lone surrogates ("\\ud800" in JSON) escaped."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the input."""

    field: str
    received: str
    expected: str

    def __post_init__(self) -> None:
        # A field path built from the input's own keys or ids may hold lone surrogates; the
        # answer that names it must still encode (or the refusal itself would fail).
        for name in ("field", "received", "expected"):
            object.__setattr__(self, name, printable(getattr(self, name)))

    def __str__(self) -> str:
        return f"{self.field}: got {self.received}; expected {self.expected}"


class InputError(Exception):
    """Input that cannot be used; carries every problem found, not just the first."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(str(p) for p in self.problems))

    def __reduce__(self) -> tuple[type[InputError], tuple[list[Problem]]]:
        # Rebuilt from its problems, so it survives the trip back from a worker process.
        return (type(self), (self.problems,))

    @classmethod
    def single(cls, field: str, received: object, expected: str) -> InputError:
        return cls([Problem(field, show(received), expected)])


def show(value: object, limit: int = 60) -> str:
    """A short, unambiguous rendering of a received value for an error message."""
    if value is _MISSING:
        return "nothing"
    try:
        text = json.dumps(value, default=str, ensure_ascii=False)
    except (TypeError, ValueError):
        text = repr(value)
    # A lone surrogate ("\ud800" in JSON) cannot be encoded as UTF-8: the error answer would fail.
    text = printable(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


_MISSING = object()

# pydantic's messages, rephrased as what the user should send instead.
_EXPECTED = {
    "missing": "a value (this field is required)",
    "extra_forbidden": "no such field (check the spelling)",
    "date_from_datetime_parsing": "a date YYYY-MM-DD",
    "date_from_datetime_inexact": "a date YYYY-MM-DD",
    "date_parsing": "a date YYYY-MM-DD",
    "date_type": "a date YYYY-MM-DD",
    "int_parsing": "a whole number",
    "int_type": "a whole number",
    "float_parsing": "a number",
    "float_type": "a number",
    "bool_parsing": "true or false",
    "bool_type": "true or false",
    "string_type": "text",
    "list_type": "a list",
    "model_type": "an object",
    "dict_type": "an object",
}


_UNION_BRANCHES = {"str", "int", "float", "bool", "CodedCondition", "Substance"}


def _location(loc: tuple[int | str, ...]) -> str:
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int):
            parts.append(f"[{item}]")
        elif item in _UNION_BRANCHES or item.startswith(("function-", "constrained-")):
            # pydantic names the union branch it tried; the user only needs the field.
            continue
        else:
            parts.append(("." if parts else "") + item)
    return "".join(parts) or "input"


def _expected(err: Any) -> str:
    kind = err["type"]
    ctx = err.get("ctx") or {}
    if kind == "literal_error":
        return "one of " + str(ctx.get("expected", "")).replace("'", "")
    if kind in {"greater_than_equal", "less_than_equal", "greater_than", "less_than"}:
        bounds = {
            "greater_than_equal": "at least",
            "less_than_equal": "at most",
            "greater_than": "more than",
            "less_than": "less than",
        }
        limit = next(iter(ctx.values()), "")
        return f"a number {bounds[kind]} {limit}"
    if kind == "string_pattern_mismatch":
        return f"text matching {ctx.get('pattern', '')}"
    if kind == "string_too_short":
        return "non-empty text"
    if kind == "string_too_long":
        return f"text of at most {ctx.get('max_length')} characters"
    if kind == "too_long":
        return f"at most {ctx.get('max_length')} items"
    if kind == "value_error":
        return str(ctx.get("error", err["msg"]))
    message = str(err["msg"])
    return _EXPECTED.get(kind, message[:1].lower() + message[1:])


def problems_from(exc: ValidationError) -> list[Problem]:
    """Turn pydantic's errors into problems, one per field, in input order."""
    seen: dict[str, Problem] = {}
    for err in exc.errors():
        field = _location(tuple(err["loc"]))
        received = show(err.get("input", _MISSING)) if err["type"] != "missing" else "nothing"
        problem = Problem(field, received, _expected(err))
        # A union reports each branch that failed; one line per field is what users read.
        seen.setdefault(field, problem)
    # Where a union branch failed deeper inside (conditions[0].system), that deeper problem is
    # the one that helps; the shallow "expected text" from the other branch only confuses.
    fields = list(seen)
    return [
        seen[f]
        for f in fields
        if not any(other != f and other.startswith((f + ".", f + "[")) for other in fields)
    ]


NUL_EXPECTED = "text without NUL (0x00) characters"


def nul_problems(value: object, field: str = "input") -> list[Problem]:
    """One problem per text holding a NUL character, anywhere in parsed JSON or form values.

    PostgreSQL text cannot hold NUL; found at the door, it is bad input rather than a failed
    write (and SQLite, which would store it, behaves the same way).
    """
    if isinstance(value, str):
        return [Problem(field, show(value), NUL_EXPECTED)] if "\x00" in value else []
    if isinstance(value, dict):
        found = []
        for key, item in value.items():
            found += nul_problems(key, field) + nul_problems(item, _joined(field, str(key)))
        return found
    if isinstance(value, list):
        return [p for i, item in enumerate(value) for p in nul_problems(item, f"{field}[{i}]")]
    return []


def _joined(field: str, key: str) -> str:
    return key if field == "input" else f"{field}.{key}"


def input_error(exc: ValidationError) -> InputError:
    return InputError(problems_from(exc))
