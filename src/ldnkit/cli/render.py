"""Output helpers shared by every command: JSON for machines, Rich tables for people."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import BaseModel, ByteSize, TypeAdapter, ValidationError
from rich.console import Console
from rich.table import Table

from ldnkit.domain.titration import EARLIEST, LATEST
from ldnkit.knowledge.citing import Citations
from ldnkit.validation import InputError, input_error

console = Console(highlight=False, soft_wrap=True)

__all__ = [
    "Citations",
    "console",
    "date_option",
    "emit",
    "emit_json",
    "parse_model",
    "print_counts",
]

M = TypeVar("M", bound=BaseModel)

JSON_OPTION_HELP = "Print machine-readable JSON instead of a table."


def emit_json(data: Any) -> None:
    """Print data as indented JSON (pydantic models and dates included)."""
    # pydantic models, and result dataclasses that offer the same method.
    dump = getattr(data, "model_dump", None)
    if callable(dump):
        data = dump(mode="json")
    print(json.dumps(data, indent=2, ensure_ascii=False, default=str))


def emit(data: Any, as_json: bool, human: Callable[[], None]) -> None:
    """JSON when asked for, else the command's human rendering."""
    if as_json:
        emit_json(data)
    else:
        human()


def print_counts(title: str, counts: dict[str, int]) -> None:
    """A table of how many resources of each type were written."""
    table = Table(title=title)
    table.add_column("Resource type")
    table.add_column("Resources", justify="right")
    for kind, count in counts.items():
        table.add_row(kind, f"{count:,}")
    console.print(table)


def date_option(option: str, value: str | None) -> dt.date | None:
    """A date typed on the command line (None when not given).

    Parsed here rather than by the option's type, so a bad date is the same one-line input
    error as every other problem, and bounded so that date arithmetic never overflows.
    """
    if value is None:
        return None
    try:
        day = dt.date.fromisoformat(value.strip())
    except ValueError:
        raise InputError.single(option, value, "a date YYYY-MM-DD") from None
    if not EARLIEST <= day <= LATEST:
        raise InputError.single(option, value, f"a date from {EARLIEST} to {LATEST}")
    return day


def size_option(option: str, value: str) -> int:
    """A size in bytes typed on the command line: 512MiB, 4GiB, 2GB (pydantic's ByteSize)."""
    try:
        return int(_SIZE.validate_python(value.strip()))
    except ValidationError:
        raise InputError.single(option, value, "a size such as 512MiB or 4GiB") from None


_SIZE: TypeAdapter[ByteSize] = TypeAdapter(ByteSize)


def parse_model(model: type[M], data: Any) -> M:
    """Validate data against a model, raising InputError with every problem found."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise input_error(exc) from None
