"""The CDC opioid value sets, imported into the drug lexicon with their provenance.

The CDC Opioid Prescribing Guideline implementation guide publishes FHIR ValueSet expansions
(public domain, CC0): RxNorm clinical and branded drugs that are opioids, extended-release
opioids, buprenorphine, methadone and naloxone products, and the ICD-10-CM and SNOMED CT codes
of opioid misuse disorders. `cdc_opioid_valuesets.json` in the knowledge data is generated from
them, and only from them, by this module:

    python -m ldnkit.knowledge.valuesets tests/fixtures/cdc-opioid-valuesets

For each RxNorm code it keeps the display name, the value sets that list it, the brand named in
square brackets and the ingredient names written before each strength, read from the display's
RxNorm grammar alone (no lexicon is consulted, so the file depends only on the value sets). The
lexicon resolves those names when it loads, and fails loudly if one is unknown.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from functools import cache, cached_property
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ldnkit.knowledge.files import read_text

SOURCE_ID = "cdc-opioid-valuesets"
FILE_NAME = "cdc_opioid_valuesets.json"
COMMAND = "python -m ldnkit.knowledge.valuesets tests/fixtures/cdc-opioid-valuesets"

RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
_CONDITION_SYSTEMS = {
    "http://hl7.org/fhir/sid/icd-10-cm": "icd10cm",
    "http://snomed.info/sct": "snomed",
}

# What each medication value set says about the products it lists.
NALOXONE_SET = "naloxone-medications"
EXTENDED_RELEASE_SET = "extended-release-opioid-with-ambulatory-misuse-potential"
MAINTENANCE_SETS = frozenset(
    {"buprenorphine-and-methadone-medications", "buprenorphine-medications",
     "methadone-medications"}
)  # fmt: skip


class ValueSetInfo(BaseModel):
    """One imported value set: where it comes from and how many codes it lists."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    title: str
    url: str
    expansion: str
    codes: int


class ValueSetMedication(BaseModel):
    """One RxNorm drug code of the value sets, as its display name describes it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rxnorm: str
    display: str
    value_sets: tuple[str, ...] = Field(min_length=1)
    brand: str | None = None
    ingredients: tuple[str, ...] = Field(min_length=1)

    @property
    def is_opioid(self) -> bool:
        """Every medication value set but the naloxone one lists opioid products."""
        return any(s != NALOXONE_SET for s in self.value_sets)

    @property
    def extended_release(self) -> bool:
        return EXTENDED_RELEASE_SET in self.value_sets

    @property
    def maintenance(self) -> bool:
        """Buprenorphine or methadone: the longest opioid-free interval before naltrexone."""
        return bool(MAINTENANCE_SETS & set(self.value_sets))


class ValueSetCondition(BaseModel):
    """One condition code of the opioid misuse disorders value set."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    system: Literal["icd10cm", "snomed"]
    code: str
    display: str
    value_sets: tuple[str, ...] = Field(min_length=1)


class ValueSets(BaseModel):
    """The generated file: the value sets, their medications and their condition codes."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    generated_by: str
    sources: tuple[str, ...] = Field(min_length=1)
    value_sets: tuple[ValueSetInfo, ...]
    medications: tuple[ValueSetMedication, ...]
    conditions: tuple[ValueSetCondition, ...]

    def medication(self, rxnorm: str) -> ValueSetMedication | None:
        """The value-set medication with this RxNorm code, if any."""
        return self._medications.get(rxnorm)

    def condition(self, system: str, code: str) -> ValueSetCondition | None:
        """The opioid misuse disorder with this code, if any."""
        return self._conditions.get((system, code))

    @cached_property
    def _medications(self) -> dict[str, ValueSetMedication]:
        return {m.rxnorm: m for m in self.medications}

    @cached_property
    def _conditions(self) -> dict[tuple[str, str], ValueSetCondition]:
        return {(c.system, c.code): c for c in self.conditions}


@cache
def value_sets() -> ValueSets:
    """The imported value sets, loaded once per process."""
    text = read_text(FILE_NAME)
    return ValueSets.model_validate(json.loads(text))


# ---------------------------------------------------------------------------------------------
# Reading RxNorm display names (generation only)

_DISPLAY_TOKEN = re.compile(r"\[[^\]]*\]|\d+(?:\.\d+)?|[A-Za-z][A-Za-z'-]*|[{}()/%]")
# Units written after a number in RxNorm names: "5 MG", "0.025 MG/HR", "1 ML", "24 HR".
_UNITS = frozenset({"mg", "mcg", "ml", "hr", "actuat", "unt", "meq", "day", "%"})
# What RxNorm appends to a brand in brackets: a pack's strength ("Subsys 1200 MCG") or a
# reformulation date ("Endodan Reformulated May 2009").
_BRAND_SUFFIX = re.compile(
    r"\s+(?:\d+(?:\.\d+)?\s*(?:MG|MCG|ML)(?:/\w+)?|Reformulated\s+[A-Za-z]+\s+\d{4})\s*$",
    re.IGNORECASE,
)


def ingredient_names(display: str) -> tuple[str, ...]:
    """The ingredient names an RxNorm display writes before each strength, in order.

    "24 HR tramadol hydrochloride 100 MG Extended Release Oral Capsule" -> ("tramadol
    hydrochloride",). Brands in square brackets and pack structure are skipped.
    """
    names: list[str] = []
    words: list[str] = []
    tokens = _DISPLAY_TOKEN.findall(display)
    i = 0
    while i < len(tokens):
        part = tokens[i]
        i += 1
        if part.startswith("[") or part in "{}()/":
            words = [] if part != "/" else words
            continue
        if part[0].isdigit():
            unit = tokens[i].lower() if i < len(tokens) else ""
            if words and unit in _UNITS and unit not in {"hr", "day"}:
                names.append(" ".join(words).lower())
            words = []
            # The unit and any "/ML"-style denominator belong to the number.
            while i < len(tokens) and (tokens[i].lower() in _UNITS or tokens[i] == "/"):
                i += 1
            continue
        words.append(part)
    return tuple(dict.fromkeys(names))


def brand_name(display: str) -> str | None:
    """The brand in the display's last square brackets, without a strength ("Subsys")."""
    found = re.findall(r"\[([^\]]+)\]", display)
    if not found:
        return None
    return _BRAND_SUFFIX.sub("", found[-1]).strip() or None


# ---------------------------------------------------------------------------------------------
# Generation


def _read(folder: Path) -> list[dict[str, Any]]:
    sets = []
    for path in sorted(folder.glob("*.json")):
        data = json.loads(path.read_text("utf-8"))
        if data.get("resourceType") == "ValueSet":
            sets.append(data)
    if not sets:
        raise SystemExit(f"no FHIR ValueSet files in {folder}")
    return sets


def build(folder: Path) -> dict[str, Any]:
    """The generated file's content from a folder of ValueSet JSON files."""
    infos: list[dict[str, Any]] = []
    medications: dict[str, dict[str, Any]] = {}
    conditions: dict[tuple[str, str], dict[str, Any]] = {}
    for data in _read(folder):
        contains: Sequence[Mapping[str, Any]] = data["expansion"]["contains"]
        infos.append(
            {
                "id": data["id"],
                "title": data.get("title") or data["name"],
                "url": data["url"],
                "expansion": data["expansion"].get("timestamp", ""),
                "codes": len(contains),
            }
        )
        for entry in contains:
            system, code, display = entry["system"], entry["code"], entry["display"]
            if system == RXNORM:
                record = medications.setdefault(
                    code,
                    {
                        "rxnorm": code,
                        "display": display,
                        "value_sets": [],
                        "brand": brand_name(display),
                        "ingredients": list(ingredient_names(display)),
                    },
                )
            elif system in _CONDITION_SYSTEMS:
                key = (_CONDITION_SYSTEMS[system], code)
                record = conditions.setdefault(
                    key, {"system": key[0], "code": code, "display": display, "value_sets": []}
                )
            else:
                raise SystemExit(f"{data['id']}: unexpected code system {system}")
            record["value_sets"].append(data["id"])
    return {
        "generated_by": COMMAND,
        "sources": [SOURCE_ID],
        "value_sets": infos,
        "medications": [medications[c] for c in sorted(medications, key=int)],
        "conditions": [conditions[k] for k in sorted(conditions)],
    }


def render(content: Mapping[str, Any]) -> str:
    """The file's text: one record per line, so a change to the value sets diffs well."""
    lines = ["{"]
    items = list(content.items())
    for n, (key, value) in enumerate(items):
        comma = "," if n < len(items) - 1 else ""
        if isinstance(value, list) and value and isinstance(value[0], dict):
            rows = [json.dumps(v, ensure_ascii=False) for v in value]
            body = ",\n  ".join(rows)
            lines.append(f' "{key}": [\n  {body}\n ]{comma}')
        else:
            lines.append(f" {json.dumps(key)}: {json.dumps(value, ensure_ascii=False)}{comma}")
    lines.append("}")
    return "\n".join(lines) + "\n"


def main(argv: Iterable[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) not in (1, 2):
        raise SystemExit(f"usage: {COMMAND} [OUTPUT.json]")
    folder = Path(args[0])
    out = Path(args[1]) if len(args) == 2 else Path(__file__).parent / "data" / FILE_NAME
    out.write_text(render(build(folder)), encoding="utf-8")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
