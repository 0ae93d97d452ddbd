"""Load, validate and index the knowledge base.

The YAML is checked once per process: typed models (unknown keys are errors), unique ids,
every source id resolving in `sources.yaml`, every cross-reference resolving, and no two
conditions claiming the same name, synonym or code. A broken file stops the load with every
problem listed, so a bad edit is caught by the first test run rather than by a patient.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import cache
from types import MappingProxyType
from typing import Any, TypeVar

from pydantic import BaseModel, TypeAdapter, ValidationError

from ldnkit.knowledge.files import data_version, read_data
from ldnkit.knowledge.models import (
    Alternative,
    Condition,
    Conflict,
    Mechanism,
    SideEffect,
    Source,
    Statement,
)

M = TypeVar("M", bound=BaseModel)

# The files this loader owns, besides sources.yaml. Other files in data/ (drugs, protocols,
# products, rules) are loaded by their own modules; the integrity tests walk all of them.
CONDITIONS_FILE = "conditions.yaml"
FILES: dict[str, type[BaseModel]] = {
    "sources.yaml": Source,
    CONDITIONS_FILE: Condition,
    "conflicts.yaml": Conflict,
    "side_effects.yaml": SideEffect,
    "mechanisms.yaml": Mechanism,
    "alternatives.yaml": Alternative,
    "statements.yaml": Statement,
}

# Code systems as callers name them; FHIR system URIs are accepted so that adapters can pass a
# Coding's system unchanged.
SYSTEMS: Mapping[str, str] = MappingProxyType(
    {
        "icd10cm": "icd10cm",
        "http://hl7.org/fhir/sid/icd-10-cm": "icd10cm",
        "snomed": "snomed",
        "http://snomed.info/sct": "snomed",
    }
)

_ICD_CODE = re.compile(r"^[A-Z][0-9][0-9A-Z](\.[0-9A-Z]{1,4})?$")
_ICD_LIKE = re.compile(r"^[A-Z][0-9][0-9A-Z]{1,5}$")  # after dots and spaces are removed
_NOT_ALNUM = re.compile(r"[\W_]+")
_MEMO_LIMIT = 200_000


class KnowledgeError(Exception):
    """The knowledge data is invalid; carries every problem found."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__("invalid knowledge data:\n  " + "\n  ".join(self.problems))


def normalise_name(text: str) -> str:
    """Case, space and punctuation-insensitive key: "ME/CFS" and "me cfs" are the same."""
    return _NOT_ALNUM.sub("", text.casefold())


def normalise_icd(code: str) -> str:
    """ICD-10-CM key without dots or spaces, upper case: "m79.7" -> "M797"."""
    return code.replace(".", "").replace(" ", "").strip().upper()


class KnowledgeBase:
    """The validated knowledge base with the indexes that make look-ups dictionary-fast."""

    def __init__(
        self,
        *,
        version: str,
        sources: Iterable[Source],
        conditions: Iterable[Condition],
        conflicts: Iterable[Conflict],
        side_effects: Iterable[SideEffect],
        mechanisms: Iterable[Mechanism],
        alternatives: Iterable[Alternative],
        statements: Iterable[Statement],
    ) -> None:
        self.version = version
        # A plain dict (typed read-only) so the knowledge base pickles for Spark workers.
        self.sources: Mapping[str, Source] = {s.id: s for s in sources}
        self.conflicts = tuple(conflicts)
        self.conditions = tuple(
            c.model_copy(
                update={"conflicts": tuple(x for x in self.conflicts if c.id in x.conditions)}
            )
            for c in conditions
        )
        self.side_effects = tuple(side_effects)
        self.mechanisms = tuple(mechanisms)
        self.alternatives = tuple(alternatives)
        self.statements = tuple(statements)
        self._conditions_by_id = {c.id: c for c in self.conditions}
        self._side_effects_by_id = {s.id: s for s in self.side_effects}
        by_condition: dict[str | None, list[Statement]] = {}
        for statement in self.statements:
            by_condition.setdefault(statement.condition, []).append(statement)
        self._statements_by_condition = {k: tuple(v) for k, v in by_condition.items()}
        self._by_name: dict[str, Condition] = {}
        self._by_icd: dict[str, Condition] = {}
        self._by_snomed: dict[str, Condition] = {}
        for condition in self.conditions:
            for name in (condition.id, condition.name, *condition.synonyms):
                self._by_name[normalise_name(name)] = condition
            for code in condition.icd10cm:
                self._by_icd[normalise_icd(code)] = condition
            for snomed in condition.snomed:
                self._by_snomed[snomed] = condition
        self._memo: dict[tuple[str, str | None], Condition | None] = {}

    # -- look-ups -----------------------------------------------------------------------------

    def source(self, source_id: str) -> Source:
        """The source with this id; KeyError if there is none."""
        return self.sources[source_id]

    def condition(self, condition_id: str) -> Condition:
        """The condition with this id; KeyError if there is none."""
        return self._conditions_by_id[condition_id]

    def side_effect(self, side_effect_id: str) -> SideEffect:
        """The side effect with this id; KeyError if there is none."""
        return self._side_effects_by_id[side_effect_id]

    def statements_about(self, condition_id: str | None) -> tuple[Statement, ...]:
        """Statements about one condition (None: the general statements)."""
        return self._statements_by_condition.get(condition_id, ())

    def find_condition(self, text: str, system: str | None = None) -> Condition | None:
        """The condition named or coded by `text`, or None.

        Without `system`, `text` may be an id, name or synonym (ignoring case, spaces and
        punctuation), an ICD-10-CM code (M79.7, m797; K50.90 matches the K50 category) or a
        SNOMED CT code (digits). With `system` "icd10cm" or "snomed" (or their FHIR system
        URIs) only that code system is searched. ValueError for any other system.
        """
        key = (text, system)
        try:
            return self._memo[key]
        except KeyError:
            pass
        found = self._find(text, system)
        if len(self._memo) >= _MEMO_LIMIT:
            self._memo.clear()
        self._memo[key] = found
        return found

    def _find(self, text: str, system: str | None) -> Condition | None:
        if system is None:
            by_name = self._by_name.get(normalise_name(text))
            if by_name is not None:
                return by_name
            code = normalise_icd(text)
            if _ICD_LIKE.match(code):
                return self._find_icd(code)
            return self._by_snomed.get(code) if code.isdigit() else None
        kind = SYSTEMS.get(system.strip().lower())
        if kind == "icd10cm":
            return self._find_icd(normalise_icd(text))
        if kind == "snomed":
            return self._by_snomed.get(text.strip())
        raise ValueError(f"unknown code system {system!r}; expected one of {', '.join(SYSTEMS)}")

    def _find_icd(self, code: str) -> Condition | None:
        # The longest listed prefix wins, so L40.50 (psoriatic arthritis) can be told apart
        # from the L40 psoriasis category.
        for end in range(len(code), 0, -1):
            found = self._by_icd.get(code[:end])
            if found is not None:
                return found
        return None

    def suggest_conditions(self, text: str, limit: int = 3) -> list[str]:
        """Names close to a string that matched nothing, for "did you mean" hints."""
        names = {normalise_name(n): c.name for c in self.conditions for n in (c.name, *c.synonyms)}
        typed = normalise_name(text)
        # A beginning ("fibro") is as telling as a near spelling ("fibromyalga").
        starts = [k for k in names if len(typed) >= 3 and k.startswith(typed)]
        close = difflib.get_close_matches(typed, list(names), n=limit * 3, cutoff=0.6)
        return list(dict.fromkeys(names[k] for k in (*starts, *close)))[:limit]


# -- loading ----------------------------------------------------------------------------------


def _parse(raw: Any, name: str, model: type[M], problems: list[str]) -> tuple[M, ...]:
    try:
        return TypeAdapter(tuple[model, ...]).validate_python(raw)  # type: ignore[valid-type]
    except ValidationError as exc:
        for err in exc.errors():
            where = ".".join(str(part) for part in err["loc"])
            problems.append(f"{name}: {where}: {err['msg']}")
        return ()


def _ids_unique(name: str, records: Sequence[Any], problems: list[str]) -> None:
    seen: set[str] = set()
    for record in records:
        if record.id in seen:
            problems.append(f"{name}: id {record.id!r} is used twice")
        seen.add(record.id)


def _check_conditions(conditions: Sequence[Condition], raw: Any, problems: list[str]) -> None:
    if isinstance(raw, list) and any(isinstance(r, dict) and "conflicts" in r for r in raw):
        problems.append(f"{CONDITIONS_FILE}: conflicts are written in conflicts.yaml")
    names: dict[str, str] = {}
    codes: dict[str, str] = {}
    for condition in conditions:
        all_names = (condition.id, condition.name, *condition.synonyms)
        for name in {normalise_name(n) for n in all_names}:
            if names.setdefault(name, condition.id) != condition.id:
                problems.append(
                    f"{CONDITIONS_FILE}: {condition.id}: name {name!r} also names {names[name]}"
                )
        problems += [
            f"{CONDITIONS_FILE}: {condition.id}: bad ICD-10-CM code {code!r}"
            for code in condition.icd10cm
            if not _ICD_CODE.match(code)
        ]
        keys = [normalise_icd(c) for c in condition.icd10cm] + [
            f"sct:{c}" for c in condition.snomed
        ]
        for key in keys:
            if codes.setdefault(key, condition.id) != condition.id:
                problems.append(
                    f"{CONDITIONS_FILE}: {condition.id}: code {key} also codes {codes[key]}"
                )


def _cited(record: BaseModel) -> Iterable[str]:
    """Every source id anywhere inside a record."""
    for field, value in record:
        if field == "sources" and isinstance(value, tuple):
            yield from value
        elif isinstance(value, BaseModel):
            yield from _cited(value)
        elif isinstance(value, tuple):
            for item in value:
                if isinstance(item, BaseModel):
                    yield from _cited(item)


def load(read: Callable[[str], Any] = read_data) -> KnowledgeBase:
    """Read and validate every knowledge file; KnowledgeError lists all problems found.

    `read` parses one data file by name; tests pass edited copies of the real data through it.
    """
    problems: list[str] = []
    raw = {name: read(name) for name in FILES}
    parsed: dict[str, tuple[Any, ...]] = {
        name: _parse(raw[name], name, model, problems) for name, model in FILES.items()
    }
    for name, records in parsed.items():
        _ids_unique(name, records, problems)
    conditions = parsed[CONDITIONS_FILE]
    _check_conditions(conditions, raw[CONDITIONS_FILE], problems)
    source_ids = {s.id for s in parsed["sources.yaml"]}
    condition_ids = {c.id for c in conditions}
    for name, records in parsed.items():
        for record in records:
            for missing in sorted(set(_cited(record)) - source_ids):
                problems.append(f"{name}: {record.id}: unknown source {missing!r}")
    for conflict in parsed["conflicts.yaml"]:
        for missing in sorted(set(conflict.conditions) - condition_ids):
            problems.append(f"conflicts.yaml: {conflict.id}: unknown condition {missing!r}")
    for statement in parsed["statements.yaml"]:
        if statement.condition is not None and statement.condition not in condition_ids:
            problems.append(
                f"statements.yaml: {statement.id}: unknown condition {statement.condition!r}"
            )
    if problems:
        raise KnowledgeError(problems)
    return KnowledgeBase(
        version=data_version(),
        sources=parsed["sources.yaml"],
        conditions=conditions,
        conflicts=parsed["conflicts.yaml"],
        side_effects=parsed["side_effects.yaml"],
        mechanisms=parsed["mechanisms.yaml"],
        alternatives=parsed["alternatives.yaml"],
        statements=parsed["statements.yaml"],
    )


@cache
def knowledge_base() -> KnowledgeBase:
    """The knowledge base, loaded and validated once per process."""
    return load()
