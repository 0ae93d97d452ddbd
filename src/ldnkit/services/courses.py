"""A patient's course as the clinic recorded it -> the domain's TherapyCourse (and what could not
be used, counted), following `ldnkit.domain.outcomes.clinic`.

The FHIR export writes the same records with the same decisions (`ldnkit.fhir.export`), so the
figures from the database and from its own export are the same.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Annotated, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator

from ldnkit.domain.outcomes import (
    Diagnosis,
    Dispense,
    PainScore,
    Prescription,
    Skipped,
    TherapyCourse,
)
from ldnkit.domain.outcomes.clinic import (
    ConditionReading,
    condition_key,
    dose_on,
    first_listed,
    plan_medication,
    read_condition,
)
from ldnkit.domain.outcomes.course import RequestStatus
from ldnkit.domain.titration import Plan, Step
from ldnkit.knowledge.outcomes import outcome_book
from ldnkit.services.progress import plan_of, step_tuples
from ldnkit.store.courses import STOP_REASONS
from ldnkit.store.records import (
    Actor,
    CourseRecord,
    DispenseRecord,
    ProfileSnapshot,
    SavedPlan,
    StopReason,
    StopRecord,
)
from ldnkit.store.repository import Store
from ldnkit.validation import InputError, input_error

# Diagnoses and orders from ldnkit's own records: current and confirmed as the clinician wrote
# them (a condition removed from the profile is no longer listed at all).
CLINICAL_STATUS = "active"
VERIFICATION_STATUS = "confirmed"


def plan_id(plan: SavedPlan) -> str:
    return f"plan-{plan.id}"


def written_on(plan: SavedPlan) -> dt.date:
    """The day a plan was written, in UTC as the store and every export date it."""
    return plan.created_at.astimezone(dt.UTC).date()


def rebuilt_plan(saved: SavedPlan) -> Plan | None:
    """The plan as saved (its stored steps, adjustments included); None when this version of
    ldnkit cannot rebuild it from its request."""
    try:
        plan = plan_of(saved)
        steps = tuple(Step.model_validate(s) for s in saved.steps)
    except (ValidationError, InputError, ValueError):
        return None
    if plan is None or not steps:
        return None
    return plan.model_copy(update={"steps": steps})


@dataclass(frozen=True)
class PlanStatus:
    """An order's status, and why when it is not active."""

    status: RequestStatus
    reason: str | None


def plan_statuses(record: CourseRecord) -> dict[int, PlanStatus]:
    """Each plan's order status: stopped by the clinician (with the reason), replaced by a later
    plan, or active (the newest)."""
    stops = {stop.plan_id: stop for stop in record.stops}
    statuses: dict[int, PlanStatus] = {}
    for number, plan in enumerate(record.plans):
        stop = stops.get(plan.id)
        if stop is not None:
            statuses[plan.id] = PlanStatus("stopped", stop_reason_text(stop))
        elif number < len(record.plans) - 1:
            later = record.plans[number + 1]
            statuses[plan.id] = PlanStatus(
                "stopped", f"Replaced by the plan of {written_on(later)}"
            )
        else:
            statuses[plan.id] = PlanStatus("active", None)
    return statuses


def stop_reason_text(stop: StopRecord) -> str:
    """Why LDN was stopped, in words (with the clinician's note)."""
    return f"Stopped: {STOP_REASONS[stop.reason]}" + (f" ({stop.note})" if stop.note else "")


def profile_day(snapshot: ProfileSnapshot) -> dt.date:
    """The day a saved profile describes (its `as_of`), else the day it was saved."""
    as_of = snapshot.profile.get("as_of")
    if isinstance(as_of, str):
        try:
            return dt.date.fromisoformat(as_of)
        except ValueError:
            pass
    return snapshot.saved_at.astimezone(dt.UTC).date()


def _conditions(snapshot: ProfileSnapshot) -> list[object]:
    listed = snapshot.profile.get("conditions")
    return list(listed) if isinstance(listed, list) else []


@dataclass
class CourseNotes:
    """What the mapping could not use, counted by kind and reason, with an example."""

    counts: Counter[tuple[str, str]]
    examples: dict[tuple[str, str], str]

    @classmethod
    def empty(cls) -> CourseNotes:
        return cls(Counter(), {})

    def note(self, kind: str, reason: str, example: str) -> None:
        self.counts[(kind, reason)] += 1
        self.examples.setdefault((kind, reason), example)

    def skipped(self) -> list[Skipped]:
        return [
            Skipped(kind, reason, count, self.examples[(kind, reason)])
            for (kind, reason), count in sorted(
                self.counts.items(), key=lambda item: (item[0][0], -item[1], item[0][1])
            )
        ]


@dataclass(frozen=True)
class ProfileCondition:
    """A condition of the current profile as read, and the first day a profile listed it."""

    reading: ConditionReading
    recorded: dt.date | None


def profile_conditions(record: CourseRecord) -> list[ProfileCondition]:
    """The current profile's conditions, each dated by the first profile that listed it."""
    if not record.profiles:
        return []
    first = first_listed((profile_day(p), _conditions(p)) for p in record.profiles)
    return [
        ProfileCondition(read_condition(entry), first.get(condition_key(entry)))
        for entry in _conditions(record.profiles[-1])
    ]


def diagnoses(record: CourseRecord, notes: CourseNotes) -> tuple[Diagnosis, ...]:
    """The conditions that can be placed in diagnosis groups (the others noted, with why)."""
    found: list[Diagnosis] = []
    for condition in profile_conditions(record):
        reading = condition.reading
        if reading.problem is not None:
            notes.note(
                "condition",
                f"{reading.problem}: not placed in a diagnosis group",
                f"patient {record.patient_id}: {reading.label}",
            )
            continue
        found.append(
            Diagnosis(reading.codes, CLINICAL_STATUS, VERIFICATION_STATUS, condition.recorded)
        )
    return tuple(found)


def pain_scores(record: CourseRecord) -> tuple[PainScore, ...]:
    """Each diary day's pain (amended when the day was changed after it was first entered)."""
    return tuple(
        PainScore(
            r.entry.day,
            float(r.entry.pain),
            "amended" if r.earlier_versions else "final",
            r.entry.day.isoformat(),
        )
        for r in record.diary
    )


def course_of(record: CourseRecord, notes: CourseNotes) -> TherapyCourse:
    """The patient's course as the outcome definitions read it."""
    statuses = plan_statuses(record)
    plans: dict[int, tuple[Plan, SavedPlan]] = {}
    prescriptions = []
    for saved in record.plans:
        plan = rebuilt_plan(saved)
        if plan is None:
            notes.note(
                "plan",
                "a plan this version of ldnkit cannot read: not counted",
                f"patient {record.patient_id}: {plan_id(saved)}",
            )
            continue
        plans[saved.id] = (plan, saved)
        medication = plan_medication(plan.protocol, plan.target_mg, plan.steps[0].dose_mg)
        prescriptions.append(
            Prescription(plan_id(saved), written_on(saved), statuses[saved.id].status, medication)
        )
    fills = []
    for dispense in record.dispenses:
        if dispense.plan_id not in plans:
            notes.note(
                "dispense",
                "fills a plan this version of ldnkit cannot read: not counted",
                f"patient {record.patient_id}: dispense {dispense.id}",
            )
            continue
        plan, saved = plans[dispense.plan_id]
        dose = dose_on(step_tuples(saved), dispense.dispensed_on)
        fills.append(
            Dispense(
                f"dispense-{dispense.id}",
                plan_id(saved),
                dispense.dispensed_on,
                dispense.status,
                dispense.days_supply,
                plan_medication(plan.protocol, plan.target_mg, dose),
            )
        )
    return TherapyCourse(
        str(record.patient_id),
        tuple(prescriptions),
        tuple(fills),
        pain_scores(record),
        diagnoses(record, notes),
    )


def courses_of(records: Iterable[CourseRecord]) -> tuple[list[TherapyCourse], list[Skipped]]:
    """Every record's course, and what could not be used (counted)."""
    notes = CourseNotes.empty()
    courses = [course_of(record, notes) for record in records]
    return courses, notes.skipped()


# -- recording a course: dispenses and the clinician's stop ------------------------------------


M = TypeVar("M", bound=BaseModel)


class DispenseIn(BaseModel):
    """A dispense as the clinician records it: the day, and the days it is meant to last."""

    model_config = ConfigDict(extra="forbid")

    dispensed_on: dt.date
    # An input bound: a year's supply at most.
    days_supply: Annotated[int, Field(ge=1, le=365)]


NOTE_MAX = 500


class StopIn(BaseModel):
    """A clinician's stop of LDN: the day, why, and a note (needed when the reason is other)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    stopped_on: dt.date
    reason: StopReason
    note: Annotated[str, Field(max_length=NOTE_MAX, validate_default=True)] = ""

    @field_validator("note")
    @classmethod
    def _other_says_why(cls, value: str, info: ValidationInfo) -> str:
        if info.data.get("reason") == "other" and not value:
            raise ValueError("a note saying why, when the reason is other")
        return value


def _parsed(model: type[M], data: Mapping[str, object]) -> M:
    try:
        return model.model_validate(dict(data))
    except ValidationError as exc:
        raise input_error(exc) from None


def default_days_supply() -> int:
    """The supply a dispense covers when nobody says (knowledge/data/outcomes.yaml)."""
    return outcome_book().persistence.default_days_supply


def record_dispense(
    store: Store, actor: Actor, patient_id: int, data: Mapping[str, object], today: dt.date
) -> DispenseRecord:
    """Record LDN handed to the patient (the plan current on that day is the one it fills)."""
    dispense = _parsed(DispenseIn, data)
    return store.record_dispense(
        actor, patient_id, dispense.dispensed_on, dispense.days_supply, today=today
    )


def stop_ldn(
    store: Store, actor: Actor, patient_id: int, data: Mapping[str, object], today: dt.date
) -> StopRecord:
    """Stop LDN for the patient's current plan, with the day and the reason (audited)."""
    stop = _parsed(StopIn, data)
    return store.stop_ldn(actor, patient_id, stop.stopped_on, stop.reason, stop.note, today=today)


def mark_in_error(store: Store, actor: Actor, patient_id: int, dispense_id: int) -> DispenseRecord:
    """Mark a dispense recorded by mistake as entered in error: kept and shown, not counted."""
    return store.mark_dispense_in_error(actor, patient_id, dispense_id)


@dataclass(frozen=True)
class CourseView:
    """What the patient page shows of the course: dispenses, stops, and what can be done."""

    dispenses: list[DispenseRecord]
    stops: list[StopRecord]
    has_plan: bool
    current_plan_stopped: StopRecord | None
    default_days_supply: int


def course_view(store: Store, actor: Actor, patient_id: int) -> CourseView:
    """The patient's dispenses and stops, read as the actor (scoped and audited)."""
    plan = store.current_plan(actor, patient_id)
    stops = store.stops(actor, patient_id)
    current_stop = next((s for s in stops if plan is not None and s.plan_id == plan.id), None)
    return CourseView(
        store.dispenses(actor, patient_id),
        stops,
        plan is not None,
        current_stop,
        default_days_supply(),
    )
