"""CLI command: `ldnkit drug NAME` (what a medication name or code is recognised as, and why)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from ldnkit.cli.app import app
from ldnkit.cli.render import JSON_OPTION_HELP, console, emit
from ldnkit.domain.drugs import DrugClass, Recognition, recognise

_CLASS_LABELS = {
    DrugClass.OPIOID_AGONIST: "opioid agonist",
    DrugClass.OPIOID_PARTIAL_AGONIST: "opioid partial agonist",
    DrugClass.PERIPHERAL_OPIOID_AGONIST: "gut-acting opioid agonist",
    DrugClass.OPIOID_ANTAGONIST: "opioid antagonist",
    DrugClass.NALTREXONE: "naltrexone",
    DrugClass.THYROID_HORMONE: "thyroid hormone",
    DrugClass.ANTITHYROID: "antithyroid",
}


@app.command("drug")
def drug(
    name: Annotated[
        str | None,
        typer.Argument(
            metavar="NAME",
            help='Medication as written, e.g. "Percocet 5/325", "oxyCODONE ER 10 mg", "LDN".',
        ),
    ] = None,
    rxnorm: Annotated[
        str | None,
        typer.Option("--rxnorm", metavar="CODE", help="RxNorm ingredient or clinical-drug code."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help=JSON_OPTION_HELP)] = False,
) -> None:
    """Show what a medication name or RxNorm code is recognised as, and why.

    Lists the ingredients found (and how: generic, brand, tall-man, abbreviation, shortened
    name, misspelling, RxNorm or ATC code), their classes, whether it counts as an opioid for
    the LDN safety screen (yes, no, or unknown when a word or code cannot be read), the words
    not read, abbreviations with several meanings, whether it is long-acting, the naltrexone
    product kind and strength, and the sources.
    """
    result = recognise(name, rxnorm)
    emit(result, as_json, lambda: _show(result))


def _yes_no(value: bool) -> str:
    return "yes" if value else "no"


def _opioid(r: Recognition) -> Text:
    if r.is_opioid is None:
        return Text("unknown (not everything could be read)", style="yellow bold")
    return Text(_yes_no(r.is_opioid), style="red bold" if r.is_opioid else "green")


def _show(r: Recognition) -> None:
    console.print(Text(r.query, style="bold"))
    if r.ingredients:
        table = Table(show_header=True, header_style="bold")
        for column in ("Ingredient", "Classes", "Matched", "How", "Strength"):
            table.add_column(column)
        for m in r.ingredients:
            how = (
                f"{m.how} ({m.distance} edit{'s' if m.distance > 1 else ''})"
                if m.distance
                else m.how
            )
            strength = f"{m.strength_mg:g} {m.strength_unit}" if m.strength_mg is not None else ""
            classes = ", ".join(_CLASS_LABELS[c] for c in DrugClass if c in m.classes) or "-"
            table.add_row(m.name, classes, m.matched, how, strength)
        console.print(table)
    elif not r.ambiguous:
        console.print(
            Text("Not recognised: the safety screen treats it as unknown.", style="yellow")
        )
    if r.unread:
        words = ", ".join(f'"{w}"' for w in r.unread)
        console.print(Text(f"Not read: {words}", style="yellow"))
    for a in r.ambiguous:
        console.print(Text(f'"{a.written}" could mean: ' + "; ".join(a.readings), style="yellow"))
    if r.unresolved_code:
        console.print(
            Text(f"RxNorm code {r.unresolved_code} is not known to the lexicon", style="yellow")
        )
    if r.code_conflict is not None:
        c = r.code_conflict
        console.print(
            Text(
                f"RxNorm {c.code} means {c.code_reading}; the name reads as {c.name_reading}",
                style="yellow",
            )
        )
    console.print(Text("Opioid (not to be combined with LDN): ").append(_opioid(r)))
    if r.is_opioid:
        console.print(Text(f"Long-acting: {_yes_no(r.long_acting)}"))
    if DrugClass.NALTREXONE in r.classes:
        console.print(Text(f"Naltrexone kind: {r.naltrexone_kind or 'unknown'}"))
    if r.strength_mg is not None:
        console.print(Text(f"Strength: {r.strength_mg:g} {r.strength_unit}"))
    console.print(Text("Why:", style="bold"))
    for line in r.explanation:
        console.print(Text(f"  - {line}"))
    if r.sources:
        console.print(Text("Sources: " + ", ".join(r.sources)))
