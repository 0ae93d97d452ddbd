"""JSON from outside, read within bounds: its size, its nesting and the length of its numbers.

Python's json module recurses once per level of nesting and converts numbers of any length, so
one hostile document can exhaust the stack (a RecursionError, JSON nested 100,000 deep), trip
the interpreter's 4,300-digit integer limit (a ValueError) or, read from `/dev/zero`, take all
the memory there is. Every entry point that reads JSON someone else wrote (command-line files,
FHIR files, the JSON API, CDS Hooks) reads it here, so each bound holds everywhere and a refusal
reads the same wherever it happens: one problem naming the input, what came, what is expected.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import IO, Any

from ldnkit.validation import InputError, Problem

# FHIR resources inside a CDS Hooks request nest about 12 deep and a diary entry 3 deep; 64
# leaves room for any real document and stays far below the interpreter's recursion limit.
MAX_DEPTH = 64
# Python refuses to convert longer integers (sys.get_int_max_str_digits); said in our words.
MAX_INT_DIGITS = sys.get_int_max_str_digits() or 4300
MIB = 1024 * 1024
# A screening profile, criteria answers or a diary of several years: well under a megabyte.
MAX_JSON_FILE_BYTES = 16 * MIB
# A FHIR Bundle or resource file (one patient's record from an EHR export).
MAX_FHIR_FILE_BYTES = 128 * MIB
# One resource per line in NDJSON; DuckDB's own default for one JSON object is 16 MB too.
MAX_NDJSON_LINE_BYTES = 16 * MIB


def _refuse_constant(name: str) -> Any:
    # Python's json accepts NaN and Infinity; JSON (RFC 8259) does not.
    raise _NotJsonConstant(name)


class _NotJsonConstant(ValueError):
    pass


def parse_json(
    data: bytes | str,
    what: str = "body",
    *,
    expected: str = "a JSON document",
    allow_constants: bool = True,
    one_line: bool = False,
) -> Any:
    """The JSON document in `data`, or an InputError naming `what` and what was wrong.

    Refused: text that is not UTF-8 (a BOM and UTF-16 are read, as json does), invalid JSON
    (`expected` says what should have come; `one_line` leaves the line out of the position,
    for one line of NDJSON), nesting deeper than MAX_DEPTH, integers longer than
    MAX_INT_DIGITS, and NaN/Infinity when `allow_constants` is false.
    """
    hooks: dict[str, Any] = {} if allow_constants else {"parse_constant": _refuse_constant}
    try:
        value = json.loads(data, **hooks)
    except UnicodeDecodeError:
        raise InputError.single(
            what, "bytes that are not UTF-8 text", "JSON in UTF-8 text"
        ) from None
    except json.JSONDecodeError as exc:
        where = f"column {exc.colno}" if one_line else f"line {exc.lineno} column {exc.colno}"
        raise InputError.single(what, f"invalid JSON at {where}", expected) from None
    except _NotJsonConstant as exc:
        raise InputError.single(
            what, str(exc), "JSON values only (NaN and Infinity are not JSON)"
        ) from None
    except RecursionError:
        raise _too_deep(what) from None
    except ValueError as exc:
        # The only other ValueError json raises: an integer too long to convert.
        raise InputError.single(
            what,
            f"a number longer than {MAX_INT_DIGITS} digits",
            f"numbers of at most {MAX_INT_DIGITS} digits",
        ) from exc
    if depth(value) > MAX_DEPTH:
        raise _too_deep(what)
    return value


def _too_deep(what: str) -> InputError:
    return InputError.single(
        what,
        f"JSON nested more than {MAX_DEPTH} levels deep",
        f"JSON nested at most {MAX_DEPTH} levels deep",
    )


def depth(value: Any) -> int:
    """How deeply lists and objects nest in parsed JSON (a scalar is 0), without recursing."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        node, level = stack.pop()
        if isinstance(node, dict):
            children: Any = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        level += 1
        if level > deepest:
            deepest = level
            if deepest > MAX_DEPTH:
                return deepest  # deep enough to refuse; no need to walk the rest
        stack.extend((child, level) for child in children)
    return deepest


def read_limited(path: Path, limit: int, what: str, kind: str = "file") -> bytes:
    """A file's bytes, refused once it passes `limit` (so /dev/zero is refused, not read)."""
    try:
        with path.open("rb") as handle:
            data = handle.read(limit + 1)
    except FileNotFoundError:
        raise InputError.single(what, str(path), f"an existing {kind}") from None
    except IsADirectoryError:
        raise InputError.single(what, str(path), f"a {kind}, not a folder") from None
    if len(data) > limit:
        raise too_large(what, limit)
    return data


def too_large(what: str, limit: int, noun: str = "a file") -> InputError:
    return InputError(
        [Problem(what, f"{noun} of more than {size(limit)}", f"{noun} of at most {size(limit)}")]
    )


def size(limit: int) -> str:
    """A byte count as people write it (16 MB, 64 kB)."""
    if limit % MIB == 0:
        return f"{limit // MIB} MB"
    if limit % 1024 == 0:
        return f"{limit // 1024} kB"
    return f"{limit} bytes"


def read_json_file(
    path: Path,
    what: str,
    limit: int = MAX_JSON_FILE_BYTES,
    *,
    expected: str = "a JSON document",
) -> Any:
    """A JSON input file, bounded in size; a missing, huge or malformed file is an InputError.

    `expected` says what the file should hold, in the refusal of a file that does not.
    """
    data = read_limited(path, limit, what, "JSON file")
    try:
        return parse_json(data, what, expected=expected)
    except InputError as exc:
        if exc.problems[0].expected == "JSON in UTF-8 text":
            # Said of the file, where the user can fix it (save it as UTF-8).
            noun = "a JSON file" if expected == "a JSON document" else expected
            raise InputError.single(what, str(path), f"{noun} in UTF-8 text") from None
        raise


def read_line(handle: IO[str], limit: int, what: str) -> str:
    """The next line of a text file, refused when longer than `limit` characters."""
    line = handle.readline(limit + 1)
    if len(line) > limit and not line.endswith("\n"):
        raise too_large(what, limit, "a line")
    return line
