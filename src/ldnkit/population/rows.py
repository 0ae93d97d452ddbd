"""One compact per-patient row (from DuckDB or Spark) -> profile -> screen -> one output row.

Both engines only read and group (`ldnkit.population.reduction`); every fact is folded by
`ldnkit.fhir.mapping.fold` and every verdict comes from `ldnkit.domain.screening.screen`, as on
the single-patient path, so there is no second copy of the rules (or of the mapping) to drift.

A row holds the patient's fields, the kinds of its conditions, its orders as (kind, day) pairs
(with one order standing for all the stopped ones no rule reads), and whole fragments of the
rarer types (statements, allergies, pregnancy-status observations, procedures and service
requests that may still be planned).
"""

from __future__ import annotations

import datetime as dt
import gc
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

from ldnkit.domain.drugs import DrugClass, recognise
from ldnkit.domain.profile import CodedCondition, Condition, Medication, PatientProfile, Sex
from ldnkit.domain.screening import Screening, read_when_stopped, screen
from ldnkit.fhir.mapping.clinical import condition_from_fhir
from ldnkit.fhir.mapping.medications import (
    Medications,
    dated_order,
    order_day,
    request_start,
    undated_order,
)
from ldnkit.fhir.mapping.profile import ProfileFacts, demographics, fold
from ldnkit.knowledge import knowledge_base
from ldnkit.population.output import Screened, screened
from ldnkit.population.reduction import FRAGMENT_COLUMNS

Row = Mapping[str, Any]


@lru_cache(maxsize=65536)
def _demographics(
    birth: str | None, deceased: str | None, gender: str | None, as_of: dt.date
) -> tuple[int | None, Sex]:
    # Birth dates repeat across a population: each combination is worked out once.
    return demographics({"birthDate": birth, "deceasedDateTime": deceased, "gender": gender}, as_of)


@lru_cache(maxsize=65536)
def _order_day(day: str | None) -> dt.date | None:
    # Order days repeat across a population (a few thousand days): each is read once.
    return order_day(day)


@lru_cache(maxsize=65536)
def _candidate_name(condition: Condition) -> str | None:
    kb = knowledge_base()
    if isinstance(condition, CodedCondition):
        found = kb.find_condition(condition.code, condition.system)
    else:
        found = kb.find_condition(condition)
    return found.name if found is not None and found.screen_role == "candidate" else None


class RowScreener:
    """Screens engine rows for one `as_of`; reusable across batches (it keeps its caches).

    `condition_kinds` and `order_kinds` are the reduction's kinds: FHIR fragments by number,
    folded once each. A row's order is its kind and its day, dated as the mapping dates it.
    """

    def __init__(
        self,
        as_of: dt.date,
        medications: Medications | None = None,
        condition_kinds: Mapping[int, Mapping[str, Any]] | None = None,
        order_kinds: Mapping[int, Mapping[str, Any]] | None = None,
    ) -> None:
        self.as_of = as_of
        self.medications = dict(medications or {})
        self.condition_fragments = dict(condition_kinds or {})
        # Kinds that fold to equal conditions share one object, so a patient's conditions are
        # told apart by identity (hashing a coded condition costs more than folding it did).
        same: dict[Condition, Condition] = {}
        self.condition_kinds = {
            kind: None if found is None else same.setdefault(found, found)
            for kind, fragment in self.condition_fragments.items()
            for found in [condition_from_fhir(fragment)]
        }
        self._candidates = {id(condition): _candidate_name(condition) for condition in same}
        self.order_kinds = dict(order_kinds or {})
        self._orders: dict[int, tuple[Medication | None, int]] = {}
        self._dated: dict[tuple[int, str | None], Medication | None] = {}
        self._dayless: dict[int, Medication | None] = {}
        # What every profile of this run shares, validated once; each row's profile is a copy
        # with the row's own facts put in (model_copy does not validate again: the facts are
        # already screening models or values the mapping produced, as with model_construct).
        self._template = PatientProfile(as_of=as_of)

    def _order(self, kind: int, day: str | None) -> Medication | None:
        # The medication an order of this kind authored on this day maps to, last dose
        # included. `profile` looks in `_dayless` first (kinds whose medication does not depend
        # on the day); the rest is one dict lookup once the kind and day were seen.
        key = (kind, day)
        try:
            return self._dated[key]
        except KeyError:
            if len(self._dated) > 500_000:
                self._dated.clear()
            undated, days = self._kind(kind)
            if undated is None or undated.status == "active":
                # An active order has no last dose: the same medication whatever its day.
                found = self._dayless[kind] = undated
                return found
            start = _order_day(day) or request_start(self.order_kinds[kind])
            found = self._dated[key] = dated_order(undated, days, start, self.as_of)
            return found

    def idle_kinds(self) -> tuple[list[int], list[int]]:
        """The condition and order kinds that add nothing to any profile (resolved, refuted,
        entered in error, no drug named), which an engine may drop before grouping."""
        conditions = [kind for kind, found in self.condition_kinds.items() if found is None]
        orders = [kind for kind in self.order_kinds if self._kind(kind)[0] is None]
        return conditions, orders

    def quiet_orders(self) -> list[int]:
        """The order kinds of stopped medications no rule reads (`read_when_stopped`).

        Whatever their dates, such orders change no screen result; they only count toward the
        patient's medication list not being empty. An engine keeps one of them per patient
        (`quiet_order`) instead of every one: three orders in four in a typical export.
        """
        quiet = []
        for kind in self.order_kinds:
            medication = self._kind(kind)[0]
            if medication is None or medication.status == "active":
                continue
            if not read_when_stopped(medication):
                quiet.append(kind)
        return quiet

    def check_order_days(self, days: Iterable[str | None]) -> None:
        """Read every order day (and, for orders without one, the quiet kinds' validity start)
        as the mapping reads them: the quiet orders are never dated, but a day that is not a
        calendar date stops the run as it would on any other order (InputError)."""
        for day in days:
            if day is not None:
                _order_day(day)
                continue
            for kind in self.quiet_orders():
                request_start(self.order_kinds[kind])

    def _kind(self, kind: int) -> tuple[Medication | None, int]:
        # Each kind of order (drug, status, supply shape) is mapped once, undated.
        try:
            return self._orders[kind]
        except KeyError:
            found = self._orders[kind] = undated_order(self.order_kinds[kind], self.medications)
            return found

    def profile(self, row: Row) -> PatientProfile:
        """The screening profile of one engine row."""
        age, sex = _demographics(
            row.get("birthDate"), row.get("deceasedDateTime"), row.get("gender"), self.as_of
        )
        facts = ProfileFacts()
        add = facts.add
        kinds = self.condition_kinds
        # Each condition once, in the order first met (the fold's own rule, by identity).
        conditions = {
            id(found): found
            for found in map(kinds.__getitem__, row.get("condition_kinds") or ())
            if found is not None
        }
        # An order maps to a medication or to nothing, so it goes straight onto the list that
        # `facts.add` would put it on (its type dispatch is the cost on this hot path).
        order, dayless, taken = self._order, self._dayless, facts.medications.append
        for kind, day in row.get("orders") or ():
            found = dayless[kind] if kind in dayless else order(kind, day)
            if found is not None:
                taken(found)
        quiet = row.get("quiet_order")
        if quiet is not None:
            # One stopped order standing for all those no rule reads (see quiet_orders).
            add(self._kind(quiet)[0])
        for column in FRAGMENT_COLUMNS:
            # Resource types few patients have, carried whole and folded one by one.
            for fragment in row.get(column) or ():
                add(fold(fragment, self.as_of, self.medications))
        # Engines group in different orders; no output column depends on the order of these
        # lists (rules follow the screen's rule order, names are sorted in _output).
        fields = facts.fields()
        listed = list(conditions.values())
        if fields["conditions"]:
            # No fragment type folds to a condition today; should one, its conditions follow.
            listed = list(dict.fromkeys([*listed, *fields["conditions"]]))
        fields["conditions"] = listed
        fields["age"], fields["sex"] = age, sex
        return self._template.model_copy(update=fields)

    def screen_row(self, row: Row) -> dict[str, Any]:
        """The output row of one patient."""
        profile = self.profile(row)
        return self._output(profile, screen(profile), row["id"])

    def _output(self, profile: PatientProfile, result: Screening, patient: str) -> dict[str, Any]:
        # Most patients have no active medication or no condition: those columns skip the work.
        on_naltrexone, opioids = False, ""
        active = [m for m in profile.medications if m.status == "active"]
        if active:
            recognised = [(m, recognise(m.name, m.rxnorm)) for m in active]
            on_naltrexone = any(DrugClass.NALTREXONE in r.classes for _, r in recognised)
            opioids = "; ".join(sorted({m.label for m, r in recognised if r.is_opioid}))
        candidates = ""
        if profile.conditions:
            named = self._candidates
            found = {
                name
                for c in profile.conditions
                if (name := named[id(c)] if id(c) in named else _candidate_name(c)) is not None
            }
            candidates = "; ".join(sorted(found))
        return {
            "patient_id": patient,
            "verdict": result.verdict,
            "earliest_start": result.earliest_start,
            "rules": ";".join(dict.fromkeys(f.rule for f in result.findings)),
            "on_naltrexone": on_naltrexone,
            "active_opioids": opioids,
            "candidate_conditions": candidates,
            "age": profile.age,
            "sex": profile.sex,
        }

    def screen_rows(self, rows: Iterable[Row]) -> list[dict[str, Any]]:
        """The output rows of a batch of patients."""
        with paused_gc():
            return [self.screen_row(row) for row in rows]

    def screen_batch(self, batch: Any) -> Screened:
        """The output of an Arrow batch of engine rows: a table of output rows, counted."""
        # The whole batch with the cycle collector paused: turning Arrow into rows allocates as
        # much as screening them does (see paused_gc).
        with paused_gc():
            return screened([self.screen_row(row) for row in batch_rows(batch)])


def warm_up(as_of: dt.date) -> None:
    """Load the knowledge base and the drug lexicon now (before worker processes fork).

    Forked workers then share them instead of each reading the knowledge files again.
    """
    screen(PatientProfile(as_of=as_of))
    recognise(name="naltrexone", rxnorm=None)


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
