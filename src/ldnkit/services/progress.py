"""A patient's course: the current plan, the diary, and the response as of a day.

What the patient page, the caseload list, the patient's progress page and the API's response
route all show; the assessment itself is the domain's (`ldnkit.domain.response.assess`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from pydantic import ValidationError

from ldnkit.domain.diary import DiaryEntry
from ldnkit.domain.response import Intake, ResponseAssessment, assess
from ldnkit.domain.titration import Plan, PlanRequest, build_plan
from ldnkit.store.records import Actor, DiaryRecord, PatientRecord, SavedPlan
from ldnkit.store.repository import Store

StepTuple = tuple[dt.date, dt.date | None, float]


def plan_of(saved: SavedPlan | None) -> Plan | None:
    """The titration plan rebuilt from what was saved (the request is the source of truth)."""
    if saved is None:
        return None
    return build_plan(PlanRequest.model_validate(saved.request))


def step_tuples(saved: SavedPlan | None) -> list[StepTuple]:
    if saved is None:
        return []
    return [
        (
            dt.date.fromisoformat(s["start"]),
            dt.date.fromisoformat(s["end"]) if s.get("end") else None,
            float(s["dose_mg"]),
        )
        for s in saved.steps
    ]


def planned_dose(saved: SavedPlan | None, day: dt.date) -> float | None:
    """The plan's dose for `day`; None before the start or without a plan."""
    for start, end, dose in step_tuples(saved):
        if start <= day and (end is None or day <= end):
            return dose
    return None


def intake_of(record: PatientRecord) -> Intake | None:
    if not record.intake:
        return None
    try:
        intake: Intake = Intake.model_validate(record.intake)
    except ValidationError:
        return None
    return intake


@dataclass(frozen=True)
class PatientView:
    """Everything the patient page, the progress page and the API's response route show."""

    record: PatientRecord
    plan: SavedPlan | None
    entries: list[DiaryEntry]
    assessment: ResponseAssessment | None
    as_of: dt.date
    # The diary with who entered each day (newest last), where the page shows it.
    records: list[DiaryRecord] = field(default_factory=list)

    @property
    def steps(self) -> list[StepTuple]:
        return step_tuples(self.plan)

    @property
    def current_dose(self) -> float | None:
        planned = planned_dose(self.plan, self.as_of)
        if planned is not None:
            return planned
        taken = [e.dose_mg for e in self.entries if e.dose_mg is not None]
        return taken[-1] if taken else None


def view_of(
    record: PatientRecord,
    plan: SavedPlan | None,
    entries: list[DiaryEntry],
    as_of: dt.date,
    records: list[DiaryRecord] | None = None,
) -> PatientView:
    """The view with its response assessment (none before a plan has started).

    With `records` the assessment also counts who entered the days it rests on.
    """
    assessment = None
    if plan is not None and plan.start <= as_of:
        assessment = assess(
            entries,
            plan.start,
            as_of,
            intake=intake_of(record),
            steps=step_tuples(plan),
            entered_by=None if records is None else {r.entry.day: r.author.role for r in records},
        )
    return PatientView(record, plan, entries, assessment, as_of, records or [])


def patient_view(
    store: Store, actor: Actor, patient_id: int, as_of: dt.date | None = None
) -> PatientView:
    """The record, its current plan, its diary and the response assessment as of a day."""
    record = store.patient(actor, patient_id)
    plan = store.current_plan(actor, patient_id)
    records = store.diary_records(actor, patient_id)
    return view_of(record, plan, [r.entry for r in records], as_of or dt.date.today(), records)
