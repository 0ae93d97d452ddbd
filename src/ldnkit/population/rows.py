"""One compact per-patient row (from DuckDB or Spark) -> profile -> screen -> one output row.

Both engines only read, filter and group; every verdict comes from
`ldnkit.domain.screening.screen`, through the same FHIR mapping functions the single-patient
path uses, so there is no second copy of the rules (or of the mapping) to drift.

A row holds the patient's fields and lists of FHIR fragments already reduced by the engine:
active conditions (code only), medication orders/statements grouped per drug, status and supply
shape (latest date kept), active allergies, pregnancy-status observations, and procedures or
service requests that may still be planned.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any

from ldnkit.domain.drugs import DrugClass, recognise
from ldnkit.domain.profile import (
    Allergy,
    CodedCondition,
    Condition,
    Medication,
    PatientProfile,
)
from ldnkit.domain.screening import screen
from ldnkit.fhir.mapping import (
    allergy_from_fhir,
    condition_from_fhir,
    demographics,
    distinct_medications,
    medication_from_fragment,
    planned_procedure_from_fhir,
    pregnancy_from_fhir,
)
from ldnkit.knowledge import knowledge_base

OUTPUT_COLUMNS = (
    "patient_id",
    "verdict",
    "earliest_start",
    "rules",
    "on_naltrexone",
    "active_opioids",
    "candidate_conditions",
    "age",
    "sex",
)

Row = Mapping[str, Any]


def _code_key(code: Any) -> tuple[tuple[tuple[Any, Any], ...], Any]:
    codings = tuple((c.get("system"), c.get("code")) for c in (code or {}).get("coding") or ())
    return codings, (code or {}).get("text")


@lru_cache(maxsize=65536)
def _condition(key: tuple[tuple[tuple[Any, Any], ...], Any]) -> Condition | None:
    codings, text = key
    code = {"coding": [{"system": s, "code": c} for s, c in codings], "text": text}
    return condition_from_fhir({"code": code})


@lru_cache(maxsize=65536)
def _candidate_name(condition: Condition) -> str | None:
    kb = knowledge_base()
    if isinstance(condition, CodedCondition):
        found = kb.find_condition(condition.code, condition.system)
    else:
        found = kb.find_condition(condition)
    return found.name if found is not None and found.screen_role == "candidate" else None


def _condition_sort_key(condition: Condition) -> tuple[str, str]:
    if isinstance(condition, CodedCondition):
        return condition.system, condition.code
    return "text", condition


def _medication_sort_key(med: Medication) -> tuple[str, str, str, str]:
    return med.name or "", med.rxnorm or "", med.status, str(med.last_dose or "")


class RowScreener:
    """Screens engine rows for one `as_of`; reusable across batches (it keeps its caches)."""

    def __init__(self, as_of: dt.date, medications: Mapping[str, dict[str, Any]] | None = None):
        self.as_of = as_of
        self.medications = dict(medications or {})

    def profile(self, row: Row) -> PatientProfile:
        """The screening profile of one engine row."""
        as_of = self.as_of
        age, sex = demographics(row, as_of)
        conditions: list[Condition] = []
        for code in row.get("conditions") or ():
            found = _condition(_code_key(code))
            if found is not None and found not in conditions:
                conditions.append(found)
        meds: list[Medication] = []
        for fragment in row.get("medications") or ():
            med = medication_from_fragment(fragment, self.medications)
            if med is not None:
                if med.last_dose is not None and med.last_dose > as_of:
                    med = med.model_copy(update={"last_dose": as_of})
                meds.append(med)
        allergies: list[Allergy] = []
        for fragment in row.get("allergies") or ():
            allergy = allergy_from_fhir(fragment)
            if allergy is not None and allergy not in allergies:
                allergies.append(allergy)
        pregnancy = None
        for fragment in row.get("observations") or ():
            found_pregnancy = pregnancy_from_fhir(fragment)
            if found_pregnancy is not None and (
                pregnancy is None or found_pregnancy[0] >= pregnancy[0]
            ):
                pregnancy = found_pregnancy
        procedures = []
        for fragment in row.get("procedures") or ():
            procedure = planned_procedure_from_fhir(fragment, as_of)
            if procedure is not None:
                procedures.append(procedure)
        return PatientProfile.model_construct(
            as_of=as_of,
            age=age,
            sex=sex,
            # Sorted: engines group in different orders, the output must not depend on it.
            conditions=sorted(conditions, key=_condition_sort_key),
            medications=sorted(distinct_medications(meds), key=_medication_sort_key),
            allergies=allergies,
            pregnant=pregnancy[1] if pregnancy else None,
            breastfeeding=None,
            liver="unknown",
            kidney="unknown",
            alcohol="unknown",
            planned_procedures=sorted(procedures, key=lambda p: p.date),
        )

    def screen_row(self, row: Row) -> dict[str, Any]:
        """The output row of one patient."""
        profile = self.profile(row)
        result = screen(profile)
        active = [m for m in profile.medications if m.status == "active"]
        recognised = [(m, recognise(m.name, m.rxnorm)) for m in active]
        candidates = dict.fromkeys(
            name for c in profile.conditions if (name := _candidate_name(c)) is not None
        )
        return {
            "patient_id": row["id"],
            "verdict": result.verdict,
            "earliest_start": result.earliest_start,
            "rules": ";".join(dict.fromkeys(f.rule for f in result.findings)),
            "on_naltrexone": any(DrugClass.NALTREXONE in r.classes for _, r in recognised),
            "active_opioids": "; ".join(sorted({m.label for m, r in recognised if r.is_opioid})),
            "candidate_conditions": "; ".join(sorted(candidates)),
            "age": profile.age,
            "sex": profile.sex,
        }

    def screen_rows(self, rows: Iterable[Row]) -> list[dict[str, Any]]:
        return [self.screen_row(row) for row in rows]
