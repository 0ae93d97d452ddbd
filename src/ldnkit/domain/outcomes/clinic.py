"""How ldnkit's own records read as a course of therapy: the database side of clinic outcomes.

The clinic database and its FHIR export are both read through these decisions, so a clinic's
figures are the same from either:

- a saved titration plan is an order for compounded low-dose naltrexone whose dose is the
  plan's first step (the dose the patient starts on), written on the day it was saved;
- a dispense fills the plan it was recorded for; its dose is the plan's dose on that day;
- a condition in the patient's profile counts from the first day a saved profile listed it.
  A code is used as written; a condition written as a name is coded with the knowledge base's
  ICD-10-CM code for it when the knowledge base gives exactly one (fibromyalgia: M79.7).
  A name with several codes (CRPS: G90.5, G56.4, G57.7), or one the knowledge base does not
  know, cannot be placed in a diagnosis group and is reported as such, never guessed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from ldnkit.domain.outcomes.course import CodeSystem, Medication
from ldnkit.domain.profile import CodedCondition
from ldnkit.domain.rules.facts import code_system_of
from ldnkit.knowledge import Condition, knowledge_base
from ldnkit.knowledge.base import normalise_icd

# Naltrexone, the ingredient (RxNorm); compounded LDN has no clinical-drug code of its own.
NALTREXONE_RXNORM = "7243"


def plan_medication_text(protocol: str, target_mg: float) -> str:
    """What a plan orders, in words (the order's medication text)."""
    return f"Low-dose naltrexone (compounded), {protocol} titration to {target_mg:g} mg"


def plan_medication(protocol: str, target_mg: float, dose_mg: float) -> Medication:
    """A plan's medication at one dose: what outcomes read from its order or one of its fills."""
    return Medication(plan_medication_text(protocol, target_mg), NALTREXONE_RXNORM, dose_mg)


Step = tuple[dt.date, dt.date | None, float]


def dose_on(steps: Sequence[Step], day: dt.date) -> float:
    """The plan's dose on `day`: its first dose before the plan starts, its last after it ends.

    A fill handed over before the first step is for the first dose; a plan's last step runs on.
    """
    ordered = sorted(steps, key=lambda s: s[0])
    dose = ordered[0][2]
    for start, _end, step_dose in ordered:
        if start <= day:
            dose = step_dose
    return dose


@dataclass(frozen=True)
class ConditionReading:
    """A profile's condition as outcomes read it: its codes, or why it has none."""

    label: str  # as written (a name, or system and code)
    codes: tuple[tuple[CodeSystem, str], ...]
    problem: str | None = None  # why it cannot be placed in a diagnosis group
    display: str | None = None  # the knowledge base's name for it, when it knows it


def read_condition(entry: Any) -> ConditionReading:
    """The codes of one condition as a profile stores it: text, or `{system, code}`."""
    kb = knowledge_base()
    if isinstance(entry, Mapping):
        try:
            coded = CodedCondition.model_validate(entry)
        except ValidationError:
            return ConditionReading(str(dict(entry)), (), "a code ldnkit cannot read")
        system: CodeSystem = "icd10cm" if coded.system == "icd10cm" else "snomed"
        code = icd10cm_code(coded.code) if system == "icd10cm" else coded.code
        return ConditionReading(f"{system} {coded.code}", ((system, code),), None,
                                _name(kb.find_condition(coded.code, system)))  # fmt: skip
    text = str(entry).strip()
    written_as = code_system_of(text)
    if written_as is not None:
        code = icd10cm_code(text) if written_as == "icd10cm" else text
        return ConditionReading(text, ((written_as, code),), None,
                                _name(kb.find_condition(code, written_as)))  # fmt: skip
    condition = kb.find_condition(text)
    if condition is None:
        return ConditionReading(text, (), "a name the knowledge base does not know")
    if len(condition.icd10cm) != 1:
        return ConditionReading(
            text,
            (),
            f"a name with {len(condition.icd10cm) or 'no'} ICD-10-CM codes",
            condition.name,
        )
    return ConditionReading(text, (("icd10cm", condition.icd10cm[0]),), None, condition.name)


def _name(condition: Condition | None) -> str | None:
    return condition.name if condition is not None else None


def icd10cm_code(text: str) -> str:
    """An ICD-10-CM code as the classification writes it: "m797" -> "M79.7"."""
    compact = normalise_icd(text)
    return compact if len(compact) <= 3 else f"{compact[:3]}.{compact[3:]}"


def condition_key(entry: Any) -> str:
    """One condition's identity across saved profiles (the same text or the same code)."""
    if isinstance(entry, Mapping):
        return f"{str(entry.get('system', '')).strip().lower()}|{entry.get('code', '')}".strip()
    return " ".join(str(entry).lower().split())


def first_listed(profiles: Iterable[tuple[dt.date, Sequence[Any]]]) -> dict[str, dt.date]:
    """For each condition, the earliest day a saved profile (its day, its conditions) listed it."""
    first: dict[str, dt.date] = {}
    for day, conditions in profiles:
        for entry in conditions:
            key = condition_key(entry)
            if key not in first or day < first[key]:
                first[key] = day
    return first
