"""Reading a FHIR resource from an EHR for what it holds, when parts of it are not valid FHIR.

A MedicationRequest without `subject`, with a misspelt status or an `authoredOn` of "yesterday"
still says which drug it is, and which drug it is decides whether an opioid meets naltrexone.
Refusing the whole call over such a resource would leave the clinician with no check at all,
so the elements FHIR R4 validation refuses are taken out one by one (the deepest first: a bad
`coding[0].system` costs that system, not the drug's name), each problem goes to the call's
log, and the rest is read. An element FHIR requires that is missing stays missing; the
mapping reads around it.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Sequence
from typing import Any

from ldnkit.cdshooks.tolerance import Tolerated
from ldnkit.fhir.boundary import resource_problems
from ldnkit.validation import Problem

_ROUNDS = 3  # taking out a bad element can show its parent's problem; a few rounds settle it
_HERE = "$"  # the path root the validator is given, so its field paths parse back to elements
_STEP = re.compile(r"\.([^.\[\]]+)|\[(\d+)\]")


def _steps(field: str) -> list[str | int]:
    """`$.coding[0].system` -> ["coding", 0, "system"]."""
    return [name if name else int(index) for name, index in _STEP.findall(field[len(_HERE) :])]


def _take_out(resource: dict[str, Any], fields: Sequence[str]) -> dict[str, Any]:
    """A copy without the element each field path names (or its deepest part that exists)."""
    fixed = copy.deepcopy(resource)
    doomed: dict[int, tuple[Any, set[Any]]] = {}
    for field in fields:
        node: Any = fixed
        parent: Any = None
        key: Any = None
        for step in _steps(field):
            inside = (isinstance(node, dict) and isinstance(step, str) and step in node) or (
                isinstance(node, list) and isinstance(step, int) and step < len(node)
            )
            if not inside:
                break  # e.g. the validator's ".root" of a value that is not an object
            parent, key, node = node, step, node[step]
        if parent is not None and key != "resourceType":
            doomed.setdefault(id(parent), (parent, set()))[1].add(key)
    for parent, keys in doomed.values():
        # List items go last first, so the indexes still point where they did.
        for key in sorted(keys, reverse=True) if isinstance(parent, list) else keys:
            del parent[key]
    return fixed


def _path(where: str, steps: Sequence[str | int]) -> str:
    return where + "".join(f"[{s}]" if isinstance(s, int) else f".{s}" for s in steps)


def _said(where: str, resource: dict[str, Any], problem: Problem) -> tuple[str, bool]:
    """The problem as logged, and whether it names an element that can be taken out."""
    # pydantic names a value inside an element `root`, and the resource as a whole `input`.
    steps = [s for s in _steps(problem.field) if s != "root"]
    if steps in ([], ["input"]):  # about the resource as a whole (one of a choice missing)
        return f"{where}: {problem.expected}", False
    if steps[0] not in resource:  # a required element missing: nothing to take out
        return f"{_path(where, steps)}: got nothing; expected a value (FHIR requires it)", False
    return str(Problem(_path(where, steps), problem.received, problem.expected)), True


def salvage(resource: dict[str, Any], where: str, notes: Tolerated) -> dict[str, Any]:
    """The resource with every element FHIR validation refuses taken out; problems noted.

    The resource type must be one FHIR knows (callers choose the types they read).
    """
    current = resource
    said: dict[str, None] = {}  # each problem once, though it may be seen again next round
    taken: set[str] = set()
    for _ in range(_ROUNDS):
        removable = []
        for problem in resource_problems(current, _HERE):
            text, present = _said(where, current, problem)
            if present:
                removable.append(problem.field)
            elif problem.field in taken:
                continue  # missing because it was taken out: said already
            said[text] = None
        if not removable:
            break
        current = _take_out(current, removable)
        taken.update(removable)
    else:
        # Still refused after a few rounds: keep the top-level elements nothing was said about.
        refused = {str(s[0]) for p in resource_problems(current, _HERE) if (s := _steps(p.field))}
        current = {k: v for k, v in current.items() if k not in refused or k == "resourceType"}
    for text in said:
        notes.problem(text)
    return current
