"""CLI commands over the knowledge base: `evidence` and `sources`."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated, Any

import typer
from rich import box
from rich.table import Table
from rich.text import Text

from ldnkit.cli.app import app
from ldnkit.cli.render import JSON_OPTION_HELP, Citations, console, emit
from ldnkit.knowledge import Condition, Conflict, KnowledgeBase, knowledge_base
from ldnkit.knowledge.models import SOURCE_KINDS
from ldnkit.validation import InputError, Problem, show

# How a position's stance reads on the page; the JSON keeps the stable values.
STANCE_WORDS = {"for": "for LDN", "against": "against LDN", "uncertain": "undecided"}


def _unknown_condition(kb: KnowledgeBase, text: str) -> InputError:
    expected = "a known condition (see ldnkit evidence)"
    suggestions = kb.suggest_conditions(text)
    if suggestions:
        expected += "; did you mean " + " or ".join(f'"{s}"' for s in suggestions) + "?"
    return InputError([Problem("condition", show(text), expected)])


def _codes(condition: Condition) -> str:
    parts = []
    if condition.icd10cm:
        shown = (
            condition.icd10cm
            if len(condition.icd10cm) <= 6
            else (*condition.icd10cm[:2], "…", condition.icd10cm[-1])
        )
        parts.append("ICD-10-CM " + ", ".join(shown))
    if condition.snomed:
        parts.append(
            "SNOMED CT "
            + ", ".join(
                c.code + ("" if c.verified else " (unverified)") for c in condition.snomed_codes
            )
        )
    return "; ".join(parts) or "no codes"


def _evidence_page(kb: KnowledgeBase, condition: Condition) -> dict[str, Any]:
    """Everything the evidence page shows, with citation numbers assigned in reading order."""
    cite = Citations(kb)
    summary_refs = cite.numbers(condition.sources)
    studies = [
        {**s.model_dump(mode="json"), "citations": cite.numbers(s.sources)}
        for s in condition.studies
    ]
    positions = [
        {**p.model_dump(mode="json"), "citations": cite.numbers(p.sources)}
        for p in condition.positions
    ]
    statements = [
        {**s.model_dump(mode="json"), "citations": cite.numbers(s.sources)}
        for s in kb.statements_about(condition.id)
    ]
    conflicts = _conflicts(condition.conflicts, cite)
    return {
        "version": kb.version,
        "condition": condition.model_dump(
            mode="json", exclude={"studies", "positions", "conflicts"}
        ),
        "summary_citations": summary_refs,
        "studies": studies,
        "positions": positions,
        "statements": statements,
        "conflicts": conflicts,
        "references": _references(cite),
    }


def _conflicts(conflicts: Iterable[Conflict], cite: Citations) -> list[dict[str, Any]]:
    return [
        {
            "id": c.id,
            "topic": c.topic,
            "note": c.note,
            "positions": [
                {**side.model_dump(mode="json"), "citations": cite.numbers(side.sources)}
                for side in c.positions
            ],
        }
        for c in conflicts
    ]


def _references(cite: Citations) -> list[dict[str, Any]]:
    return [{"n": n, **source.model_dump(mode="json")} for n, source in cite.references()]


def _marks(numbers: list[int]) -> str:
    return "".join(f"[{n}]" for n in numbers)


def _print_page(page: dict[str, Any], condition: Condition) -> None:
    c = page["condition"]
    console.print(Text(c["name"], style="bold"))
    console.print(
        f"Evidence: {c['evidence_level']}   Screen role: {c['screen_role']}", markup=False
    )
    console.print(_codes(condition), markup=False)
    console.print()
    console.print(f"{c['summary']} {_marks(page['summary_citations'])}", markup=False)
    sections: list[tuple[str, list[str]]] = [
        (
            "Studies",
            [
                f"{s['label']}: {s['design']}"
                + (f", n={s['n']}" if s["n"] else "")
                + (f", {s['dose']}" if s["dose"] else "")
                + f". {s['effect']} {_marks(s['citations'])}"
                for s in page["studies"]
            ],
        ),
        (
            "Positions",
            [
                f"{p['by']}, {STANCE_WORDS[p['stance']]}: {p['text']} {_marks(p['citations'])}"
                for p in page["positions"]
            ],
        ),
        ("Statements", [f"{s['text']} {_marks(s['citations'])}" for s in page["statements"]]),
    ]
    for title, lines in sections:
        if lines:
            console.print()
            console.print(Text(title, style="bold"))
            for line in lines:
                console.print(f"  - {line}", markup=False)
    _print_conflicts("Sources disagree", page["conflicts"])
    _print_references(page["references"])


def _print_conflicts(title: str, conflicts: list[dict[str, Any]]) -> None:
    if not conflicts:
        return
    console.print()
    console.print(Text(title, style="bold"))
    for conflict in conflicts:
        console.print(f"  {conflict['topic']}", markup=False)
        for side in conflict["positions"]:
            console.print(f"    * {side['claim']} {_marks(side['citations'])}", markup=False)
        console.print(f"    Note: {conflict['note']}", markup=False)


def _print_references(references: list[dict[str, Any]]) -> None:
    console.print()
    console.print(Text("References", style="bold"))
    for ref in references:
        link = f" {ref['link']}" if ref["link"] else ""
        console.print(f"  [{ref['n']}] {ref['citation']}{link}", markup=False)


def _overview(kb: KnowledgeBase) -> dict[str, Any]:
    """Every condition, and the disagreements that concern no single condition."""
    cite = Citations(kb)
    return {
        "version": kb.version,
        "conditions": [
            {
                "id": c.id,
                "name": c.name,
                "evidence_level": c.evidence_level,
                "screen_role": c.screen_role,
                "summary": c.summary,
                "icd10cm": list(c.icd10cm),
                "snomed": list(c.snomed),
            }
            for c in kb.conditions
        ],
        "general_conflicts": _conflicts((c for c in kb.conflicts if not c.conditions), cite),
        "references": _references(cite),
    }


def _print_conditions(kb: KnowledgeBase, overview: dict[str, Any]) -> None:
    table = Table(
        title=f"LDN evidence by condition (knowledge base version {kb.version})", box=box.SIMPLE
    )
    table.add_column("Condition (id)", min_width=24)
    table.add_column("Evidence", no_wrap=True)
    table.add_column("Screen role", no_wrap=True)
    for c in kb.conditions:
        name = Text(c.name)
        name.append(f"\n{c.id}", style="dim")
        table.add_row(name, c.evidence_level, c.screen_role)
    console.print(table)
    console.print("Details and citations: ldnkit evidence CONDITION (a name, synonym or code).")
    _print_conflicts("Sources disagree (not about one condition)", overview["general_conflicts"])
    _print_references(overview["references"])


@app.command()
def evidence(
    condition: Annotated[
        str | None,
        typer.Argument(
            help="A condition name, synonym, ICD-10-CM or SNOMED CT code; omit for the list."
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help=JSON_OPTION_HELP)] = False,
) -> None:
    """Show the evidence for LDN: every condition, or one with numbered citations.

    One condition's page lists its summary, studies, guideline positions and statements, each
    with numbered citations, then where sources disagree, then the references.
    """
    kb = knowledge_base()
    if condition is None:
        data = _overview(kb)
        emit(data, as_json, lambda: _print_conditions(kb, data))
        return
    found = kb.find_condition(condition) if condition.strip() else None
    if found is None:
        raise _unknown_condition(kb, condition)
    page = _evidence_page(kb, found)
    emit(page, as_json, lambda: _print_page(page, found))


@app.command()
def sources(
    kind: Annotated[
        str | None,
        typer.Option("--kind", help="Only sources of this kind: " + ", ".join(SOURCE_KINDS) + "."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help=JSON_OPTION_HELP)] = False,
) -> None:
    """List the sources every claim cites: id, kind, year, citation and link."""
    kb = knowledge_base()
    if kind is not None and kind not in SOURCE_KINDS:
        raise InputError.single("kind", kind, "one of " + ", ".join(SOURCE_KINDS))
    chosen = [s for s in kb.sources.values() if kind is None or s.kind == kind]

    def human() -> None:
        console.print(Text(f"Sources ({len(chosen)})", style="bold"))
        for s in chosen:
            console.print()
            console.print(Text(f"{s.id}  ({s.kind}, {s.year})", style="bold"))
            console.print(f"  {s.citation}", markup=False)
            if s.link:
                console.print(f"  {s.link}", markup=False, soft_wrap=True)

    emit(
        {"version": kb.version, "sources": [s.model_dump(mode="json") for s in chosen]},
        as_json,
        human,
    )
