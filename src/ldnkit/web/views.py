"""What pages and the API both need: forms to domain models, plans, assessments, CSV."""

from __future__ import annotations

import csv
import datetime as dt
import io
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from ldnkit.domain.diary import DiaryEntry
from ldnkit.domain.response import Intake, ResponseAssessment, assess
from ldnkit.domain.titration import Plan, PlanRequest, build_plan
from ldnkit.store.records import Actor, DiaryRecord, PatientRecord, SavedPlan
from ldnkit.store.repository import Store
from ldnkit.validation import InputError, input_error
from ldnkit.web.deps import Form

StepTuple = tuple[dt.date, dt.date | None, float]


def today() -> dt.date:
    return dt.date.today()


def parse(model: type[Any], data: dict[str, Any]) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise input_error(exc) from None


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
    return view_of(record, plan, [r.entry for r in records], as_of or today(), records)


def entry_from_form(form: Form, planned: float | None = None) -> DiaryEntry:
    """A diary entry from the patient's form; each bad field becomes its own problem."""
    data: dict[str, Any] = {"day": form.get("day").strip() or today().isoformat()}
    for name in ("pain", "fatigue", "sleep_quality", "mood"):
        value = form.get(name).strip()
        if value:
            data[name] = value
    if form.get("taken") == "yes":
        data["dose_mg"] = form.get("dose_mg").strip() or planned
        data["dose_time"] = form.optional("dose_time")
    effects = []
    for effect_id in form.getlist("side_effects"):
        severity = form.get(f"severity_{effect_id}") or "mild"
        effects.append({"id": effect_id, "severity": severity})
    data["side_effects"] = effects
    data["note"] = form.get("note")
    entry: DiaryEntry = parse(DiaryEntry, data)
    return entry


def merge_choice(form: Form) -> Any:
    how = form.get("how")
    if how in ("", "none"):
        return None
    if how not in ("keep", "replace", "combine"):
        raise InputError.single("how", how, "one of keep, replace, combine")
    return how


CSV_COLUMNS = (
    "day",
    "dose_mg",
    "dose_time",
    "pain",
    "fatigue",
    "sleep_quality",
    "mood",
    "side_effects",
    "note",
    "entered_by",  # patient | clinician | empty when not recorded (days from before)
    "entered_by_email",
    "earlier_versions",  # versions of the day that later changes replaced (all kept)
)


# What spreadsheets skip before looking for a formula: whitespace of every kind, the byte-order
# mark and the zero-width characters; and what starts one, full-width and small forms included
# (NFKC folds the full-width U+FF1D, U+FF0B, U+FF0D, U+FF20 and small U+FE66 to =+-@).
_INVISIBLE = "\ufeff\u200b\u200c\u200d\u2060"
_FORMULA_START = frozenset("=+-@")


def spreadsheet_text(value: str) -> str:
    """A CSV cell a spreadsheet shows as text: prefixed with ' when it could start a formula."""
    if value[:1] in ("\t", "\r", "\n"):
        return "'" + value
    shown = value.lstrip()
    while shown[:1] in set(_INVISIBLE) or shown[:1].isspace():
        shown = shown[1:].lstrip()
    first = unicodedata.normalize("NFKC", shown[:1])[:1]
    return "'" + value if first in _FORMULA_START else value


def diary_csv(records: list[DiaryRecord]) -> str:
    """The diary as CSV; a note that looks like a formula is prefixed so spreadsheets show text."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for r in records:
        e = r.entry
        note = spreadsheet_text(e.note)
        writer.writerow(
            [
                e.day.isoformat(),
                "" if e.dose_mg is None else f"{e.dose_mg:g}",
                "" if e.dose_time is None else e.dose_time.isoformat(timespec="minutes"),
                e.pain,
                e.fatigue,
                e.sleep_quality,
                "" if e.mood is None else e.mood,
                ";".join(f"{s.id}:{s.severity}" for s in e.side_effects),
                note,
                r.author.role or "",
                spreadsheet_text(r.author.email or ""),
                r.earlier_versions,
            ]
        )
    return out.getvalue()
