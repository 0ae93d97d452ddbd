"""One compact per-patient row (from DuckDB or Spark) -> profile -> screen -> one output row.

Both engines only read, filter and group; every verdict comes from
`ldnkit.domain.screening.screen`, through the same FHIR mapping functions the single-patient
path uses, so there is no second copy of the rules (or of the mapping) to drift.

A row holds the patient's fields and lists of FHIR fragments already reduced by the engine:
active conditions (kind numbers), medication orders as (kind number, latest authoredOn) pairs,
medication statements, active allergies, pregnancy-status observations, and procedures or
service requests that may still be planned.
"""

from __future__ import annotations

import datetime as dt
import gc
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from functools import lru_cache
from typing import Any, NamedTuple

from ldnkit.domain.drugs import DrugClass, recognise
from ldnkit.domain.profile import (
    Allergy,
    CodedCondition,
    Condition,
    Medication,
    PatientProfile,
    PlannedProcedure,
    Sex,
)
from ldnkit.domain.screening import Screening, screen
from ldnkit.fhir.mapping import (
    allergy_from_fhir,
    condition_from_fhir,
    demographics,
    distinct_medications,
    fhir_date,
    medication_from_fragment,
    planned_procedure_from_fhir,
    pregnancy_from_fhir,
    request_dose_days,
    request_start,
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
def _demographics(
    birth: str | None, deceased: str | None, gender: str | None, as_of: dt.date
) -> tuple[int | None, Sex]:
    # Birth dates repeat across a population: each combination is worked out once.
    return demographics({"birthDate": birth, "deceasedDateTime": deceased, "gender": gender}, as_of)


@lru_cache(maxsize=65536)
def _day(value: str | None) -> dt.date | None:
    return fhir_date(value, latest=True, field="MedicationRequest.authoredOn")


@lru_cache(maxsize=65536)
def _candidate_name(condition: Condition) -> str | None:
    kb = knowledge_base()
    if isinstance(condition, CodedCondition):
        found = kb.find_condition(condition.code, condition.system)
    else:
        found = kb.find_condition(condition)
    return found.name if found is not None and found.screen_role == "candidate" else None


def _capped(medication: Medication, as_of: dt.date) -> Medication:
    # A stopped medication cannot have been taken after the day the screen looks from.
    if medication.last_dose is not None and medication.last_dose > as_of:
        return medication.model_copy(update={"last_dose": as_of})
    return medication


class _RareFacts(NamedTuple):
    """What the resource types few patients have add to a profile."""

    conditions: list[Condition | None]
    medications: list[Medication]
    allergies: list[Allergy]
    pregnant: bool | None
    procedures: list[PlannedProcedure]


_NO_RARE_FACTS = _RareFacts([], [], [], None, [])
_RARE_COLUMNS = ("conditions", "medications", "allergies", "observations", "procedures")


def _has_rare_facts(row: Row) -> bool:
    return any(row.get(column) for column in _RARE_COLUMNS)


class RowScreener:
    """Screens engine rows for one `as_of`; reusable across batches (it keeps its caches)."""

    def __init__(
        self,
        as_of: dt.date,
        medications: Mapping[str, dict[str, Any]] | None = None,
        condition_kinds: Mapping[int, Mapping[str, Any]] | None = None,
        order_kinds: Mapping[int, dict[str, Any]] | None = None,
    ) -> None:
        self.as_of = as_of
        self.medications = dict(medications or {})
        # Each distinct condition code is mapped once, not once per patient.
        self.condition_kinds = {
            kind: _condition(_code_key(code)) for kind, code in (condition_kinds or {}).items()
        }
        self.order_kinds = dict(order_kinds or {})
        self._orders: dict[int, tuple[Medication | None, int | None]] = {}
        self._dated: dict[tuple[int, str | None], Medication | None] = {}
        # What every profile of this run shares, validated once; each row's profile is a copy
        # with the row's own facts put in (model_copy does not validate again: the facts are
        # already screening models or values the mapping produced, as with model_construct).
        self._template = PatientProfile(as_of=as_of)

    def _order(self, kind: int, authored: str | None) -> Medication | None:
        # One dict lookup per order: the medication an order of this kind authored on this
        # calendar day maps to (fhir_date reads no further than the day), last dose included.
        key = (kind, authored[:10] if authored else None)
        try:
            return self._dated[key]
        except KeyError:
            if len(self._dated) > 500_000:
                self._dated.clear()
            found = self._dated[key] = self._dated_order(kind, key[1])
            return found

    def _kind(self, kind: int) -> tuple[Medication | None, int | None]:
        # Each kind of order (drug, status, supply shape) is mapped once, undated.
        try:
            return self._orders[kind]
        except KeyError:
            fragment = {**self.order_kinds[kind], "authoredOn": None}
            template = medication_from_fragment(fragment, self.medications)
            days = request_dose_days(fragment) if template is not None else None
            found = self._orders[kind] = template, days
            return found

    def warm_up(self) -> None:
        """Map every kind and screen them all once, so lazy loads and caches are filled.

        Worker processes forked afterwards start with them, instead of each reading the
        knowledge files and recognising the same drugs again.
        """
        meds = [m for kind in self.order_kinds if (m := self._kind(kind)[0]) is not None]
        conditions = [c for c in self.condition_kinds.values() if c is not None]
        profile = self._template.model_copy(
            update={"conditions": list(dict.fromkeys(conditions)), "medications": meds}
        )
        self._output(profile, screen(profile), "")

    def _dated_order(self, kind: int, day: str | None) -> Medication | None:
        # A patient's own order date gives the last dose the same way the mapping does
        # (start + days).
        template, days = self._kind(kind)
        if template is None or template.status == "active":
            return template
        start = _day(day) or request_start(self.order_kinds[kind])
        if start is None or days is None:
            return _capped(template, self.as_of)
        # Capped at as_of here rather than later, so the dated copy can be shared.
        last = min(start + dt.timedelta(days=days), self.as_of)
        return template.model_copy(update={"last_dose": last})

    def profile(self, row: Row) -> PatientProfile:
        """The screening profile of one engine row."""
        age, sex = _demographics(
            row.get("birthDate"), row.get("deceasedDateTime"), row.get("gender"), self.as_of
        )
        kinds = self.condition_kinds
        conditions = [kinds[k] for k in row.get("condition_kinds") or ()]
        order = self._order
        meds = [order(kind, authored) for kind, authored in row.get("orders") or ()]
        rare = self._rare_facts(row) if _has_rare_facts(row) else _NO_RARE_FACTS
        conditions += rare.conditions
        meds += rare.medications
        # Engines group in different orders; no output column depends on the order of these
        # lists (rules follow the screen's rule order, names are sorted in screen_row).
        return self._template.model_copy(
            update={
                "age": age,
                "sex": sex,
                # Conditions are frozen models or text: hashable, so a dict keeps distinct ones.
                "conditions": list(dict.fromkeys(c for c in conditions if c is not None)),
                "medications": distinct_medications(m for m in meds if m is not None),
                "allergies": rare.allergies,
                "pregnant": rare.pregnant,
                "planned_procedures": rare.procedures,
            }
        )

    def _rare_facts(self, row: Row) -> _RareFacts:
        # Resource types few patients have, carried whole and mapped one by one.
        as_of = self.as_of
        conditions = [_condition(_code_key(c)) for c in row.get("conditions") or ()]
        medications = [
            _capped(m, as_of)
            for f in row.get("medications") or ()
            if (m := medication_from_fragment(f, self.medications)) is not None
        ]
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
        return _RareFacts(
            conditions,
            medications,
            allergies,
            pregnancy[1] if pregnancy else None,
            procedures,
        )

    def screen_row(self, row: Row) -> dict[str, Any]:
        """The output row of one patient."""
        profile = self.profile(row)
        return self._output(profile, screen(profile), row["id"])

    def _output(self, profile: PatientProfile, result: Screening, patient: str) -> dict[str, Any]:
        active = [m for m in profile.medications if m.status == "active"]
        recognised = [(m, recognise(m.name, m.rxnorm)) for m in active]
        candidates = dict.fromkeys(
            name for c in profile.conditions if (name := _candidate_name(c)) is not None
        )
        return {
            "patient_id": patient,
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
        """The output rows of a batch of patients."""
        with paused_gc():
            return [self.screen_row(row) for row in rows]


def batch_rows(batch: Any) -> list[dict[str, Any]]:
    """The rows of an Arrow batch of engine rows, as `RowScreener` reads them.

    Built column by column: Arrow turns flat columns into Python lists much faster than it
    builds one dict per row and per order (a third of the screening time before).
    """
    names = batch.schema.names
    columns = [
        _order_pairs(batch.column(i)) if name == "orders" else batch.column(i).to_pylist()
        for i, name in enumerate(names)
    ]
    return [dict(zip(names, values, strict=True)) for values in zip(*columns, strict=True)]


def _order_pairs(orders: Any) -> list[list[tuple[int, str | None]] | None]:
    # A list<struct<kind, authoredOn>> column -> per row, its (kind, authoredOn) pairs.
    # `values` and `offsets` both ignore any slice of the column, so they index each other.
    values = orders.values
    kinds, authored = values.field("kind").to_pylist(), values.field("authoredOn").to_pylist()
    pairs = list(zip(kinds, authored, strict=True))
    offsets = orders.offsets.to_pylist()
    valid = orders.is_valid().to_pylist()
    return [pairs[offsets[i] : offsets[i + 1]] if valid[i] else None for i in range(len(orders))]


@contextmanager
def paused_gc() -> Iterator[None]:
    """Pause the cycle collector while a batch is built.

    A batch allocates many small objects and no reference cycles: without the pause the
    collector scans them over and over (10-25% of the screening time here).
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
