"""Clinical numbers live in knowledge/data/limits.yaml, not in code.

Every string literal (docstrings and comments aside: they explain, they do not decide or tell a
user anything) and every numeric constant named like a clinical quantity in the .py files
outside `ldnkit/knowledge/` is checked against the patterns of the numbers that matter: washout
and hold days, the LDN band and the standard dose, the response windows and thresholds. The few
that must stay are listed below, each with its reason.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import ldnkit

SRC = Path(ldnkit.__file__).parent
KNOWLEDGE = SRC / "knowledge"

PATTERNS = (
    re.compile(r"\b(2|3|7|10|14|28|90) ?(-?days?|-day)\b"),
    re.compile(r"\b(two|2) weeks?\b"),
    re.compile(r"\b(4\.5|5|12|25|50|380) ?mg\b"),
    re.compile(r"\b(10|30|50) ?%"),
)
QUANTITY_NAME = re.compile(
    r"^_?[A-Z0-9_]*(_MG|_DAYS?|_WEEKS?|_HOURS|_PCT|_PERCENT|_ENTRIES|WASHOUT|HOLD)[A-Z0-9_]*$"
)

# (file relative to src/ldnkit, the text found, why it stays). Keep this list short and true.
EXCEPTIONS: dict[tuple[str, str], str] = {
    (
        "domain/titration.py",
        "allow_above_5mg (--allow-above-5mg)",
    ): (
        "the name of the override, a field of the plan request and a CLI flag of the public "
        "contract: it names the override, it does not decide with 5 mg"
    ),
    ("cli/plan.py", "--allow-above-5mg"): "the same override's flag (DESIGN.md, ldnkit plan)",
    ("analytics/outcomes_report.py", "Still on LDN at 90 days"): (
        "the label of the outcomes contract's at_90_days figure, S(90) by the contract's "
        "definition: a figure the contract names, not a window ldnkit chooses"
    ),
    ("cli/outcomes.py", "MAX_GRACE_DAYS = 365"): "an input bound of --grace-days, not clinical",
    ("domain/dispensing.py", "MAX_SUPPLY_DAYS = 366"): "an input bound of a supply period",
    ("web/forms.py", "DEFAULT_SUPPLY_DAYS = 60"): (
        "the plan builder's first guess at a dispensing period, which the prescriber changes"
    ),
    ("analytics/charts.py", "MAX_BRIDGED_GAP_DAYS = 2"): (
        "drawing: a chart line bridges up to 2 days without diary entries"
    ),
    ("demo/diaries.py", "BASELINE_DAYS = 14"): "the length of made-up demo diaries before LDN",
    ("services/demo.py", "TREATMENT_DAYS = 90"): "the length of made-up demo diaries on LDN",
    ("fhir/mapping/medications.py", "DEFAULT_SUPPLY_DAYS = 30"): (
        "the outcomes contract's days supply of a fill that states none (DESIGN.md, ldnkit "
        "outcomes: 30 when absent)"
    ),
}


def _docstrings(tree: ast.AST) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                found.add(id(body[0].value))
    return found


def _strings(tree: ast.AST) -> Iterator[str]:
    skip = _docstrings(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip:
            yield node.value


def _quantity_constants(tree: ast.AST) -> Iterator[str]:
    for node in ast.walk(tree):
        if not isinstance(node, ast.Assign | ast.AnnAssign):
            continue
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        value = node.value
        if not (isinstance(value, ast.Constant) and isinstance(value.value, int | float)):
            continue
        if isinstance(value.value, bool):
            continue
        for target in targets:
            if isinstance(target, ast.Name) and QUANTITY_NAME.match(target.id):
                yield f"{target.id} = {value.value!r}"


def _code_files() -> list[Path]:
    return sorted(p for p in SRC.rglob("*.py") if KNOWLEDGE not in p.parents)


def _found() -> dict[tuple[str, str], str]:
    found: dict[tuple[str, str], str] = {}
    for path in _code_files():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        where = path.relative_to(SRC).as_posix()
        for text in _strings(tree):
            if any(p.search(text) for p in PATTERNS):
                found[(where, text)] = "string"
        for constant in _quantity_constants(tree):
            found[(where, constant)] = "constant"
    return found


def test_no_clinical_number_is_written_in_code_outside_knowledge() -> None:
    unexpected = sorted(key for key in _found() if key not in EXCEPTIONS)
    assert unexpected == [], "clinical numbers belong in knowledge/data/limits.yaml"


def test_every_listed_exception_is_still_there() -> None:
    # An exception that no longer matches must leave the list, so the list stays true.
    assert set(EXCEPTIONS) <= set(_found())


def test_the_check_finds_a_number_written_in_code() -> None:
    tree = ast.parse('"""Doc: 7 days."""\nWASHOUT_DAYS = 7\nMESSAGE = "wait 7 days after"\n')
    assert [t for t in _strings(tree) if any(p.search(t) for p in PATTERNS)] == [
        "wait 7 days after"
    ]
    assert list(_quantity_constants(tree)) == ["WASHOUT_DAYS = 7"]
