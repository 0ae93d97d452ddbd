"""Exporting records: a patient's FHIR R4 Bundle (`ldnkit export fhir`), the whole clinic as a
FHIR Bulk Data export (`ldnkit export bulk`), the diary as CSV and the plan as calendar
reminders (the clinician's and the patient's pages).

Each export reads the record as the actor (scoped and audited like any read of it) and raises
NotFound for a record the actor may not see, or a plan that does not exist yet.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

from ldnkit.domain.outcomes.clinic import dose_on
from ldnkit.domain.titration import Plan
from ldnkit.export.calendar import plan_to_ics
from ldnkit.export.diary_csv import diary_csv
from ldnkit.fhir.boundary import validated
from ldnkit.fhir.export import (
    condition_to_resource,
    diary_records_to_observations,
    dispense_to_medication_dispense,
    fiqr_to_questionnaire_response,
    patient_resource,
    plan_to_medication_request,
    stop_to_medication_statement,
)
from ldnkit.services.courses import (
    plan_id,
    plan_statuses,
    profile_conditions,
    rebuilt_plan,
    written_on,
)
from ldnkit.services.progress import plan_of
from ldnkit.store.access import NotFound
from ldnkit.store.courses import STOP_REASONS
from ldnkit.store.records import Actor, CourseRecord, SavedPlan
from ldnkit.store.repository import Store
from ldnkit.validation import InputError


def course_resources(record: CourseRecord) -> list[dict[str, Any]]:
    """A patient's course as FHIR resources: every plan (its status and why), every dispense,
    every stop, the diary, and the profile's conditions.

    Written with the same decisions the database's own outcomes read them with
    (`ldnkit.services.courses`), so outcomes over an export equal outcomes over the database.
    """
    pid = str(record.patient_id)
    statuses = plan_statuses(record)
    plans: dict[int, Plan] = {}
    resources: list[dict[str, Any]] = []
    for saved in record.plans:
        plan = rebuilt_plan(saved)
        if plan is None:
            continue  # counted by the outcomes as a plan this version cannot read
        plans[saved.id] = plan
        status = statuses[saved.id]
        resources.append(
            plan_to_medication_request(
                plan,
                pid,
                authored_on=written_on(saved),
                request_id=plan_id(saved),
                status=status.status,
                status_reason=status.reason,
            )
        )
    first_fill: dict[int, dt.date] = {}
    for dispense in record.dispenses:
        plan = plans.get(dispense.plan_id)
        if plan is None:
            continue
        if dispense.status == "completed":
            first_fill.setdefault(dispense.plan_id, dispense.dispensed_on)
        resources.append(
            dispense_to_medication_dispense(
                plan,
                pid,
                dispense_id=f"dispense-{dispense.id}",
                request_id=f"plan-{dispense.plan_id}",
                handed_over=dispense.dispensed_on,
                days_supply=dispense.days_supply,
                dose_mg=dose_on(_steps(plan), dispense.dispensed_on),
                status=dispense.status,
            )
        )
    for stop in record.stops:
        plan = plans.get(stop.plan_id)
        if plan is None:
            continue
        resources.append(
            stop_to_medication_statement(
                plan,
                pid,
                statement_id=f"stop-{stop.id}",
                request_id=f"plan-{stop.plan_id}",
                started=first_fill.get(stop.plan_id),
                stopped_on=stop.stopped_on,
                reason=stop.reason,
                reason_text=STOP_REASONS[stop.reason],
                note=stop.note,
                asserted_at=stop.recorded_at,
            )
        )
    resources.extend(diary_records_to_observations(record.diary, pid, id_prefix=f"diary-{pid}"))
    for number, condition in enumerate(profile_conditions(record), start=1):
        reading = condition.reading
        resources.append(
            condition_to_resource(
                pid,
                condition_id=f"condition-{pid}-{number}",
                written=reading.label,
                codes=reading.codes,
                display=reading.display,
                recorded=condition.recorded,
            )
        )
    return resources


def _steps(plan: Plan) -> list[tuple[dt.date, dt.date | None, float]]:
    return [(s.start, s.end, s.dose_mg) for s in plan.steps]


def fhir_bundle(store: Store, actor: Actor, patient_id: int) -> dict[str, Any]:
    """The patient's course (plans, dispenses, stops, diary, conditions) and FIQR
    questionnaires as a collection Bundle (the download has an audit line of its own)."""
    record = store.patient_course(actor, patient_id)  # NotFound / Forbidden before anything
    store.record_download(actor, patient_id, "record (FHIR JSON)")
    pid = str(patient_id)
    resources = course_resources(record)
    for questionnaire in store.questionnaires(actor, patient_id, kind="fiqr"):
        response = fiqr_to_questionnaire_response(
            questionnaire.answers, questionnaire.result, pid, questionnaire.taken_on
        )
        response["id"] = f"fiqr-{questionnaire.id}"
        resources.append(response)
    return validated(
        {
            "resourceType": "Bundle",
            "type": "collection",
            "timestamp": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "entry": [
                {"fullUrl": f"urn:ldnkit:{r['resourceType']}/{r.get('id', i)}", "resource": r}
                for i, r in enumerate(resources)
            ],
        }
    )


BULK_TYPES = (
    "Patient",
    "Condition",
    "MedicationRequest",
    "MedicationDispense",
    "MedicationStatement",
    "Observation",
)


def bulk_export(store: Store, folder: Path, actor: Actor | None = None) -> dict[str, int]:
    """The clinic's courses as a FHIR Bulk Data export: one NDJSON file per resource type
    (written even when empty) and a manifest. Returns the resources written, by type.

    `actor` None is the whole clinic (the command line); a clinician exports their own
    patients. `folder` must not exist yet or be empty: an export never mixes with other files.
    It is written beside, then moved into place, so a failed export leaves nothing half-written.
    """
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise InputError.single("DIR", str(folder), "a new or empty folder for the export")
    records = store.course_records(actor, "bulk export")
    by_type: dict[str, list[str]] = {kind: [] for kind in BULK_TYPES}
    for record in records:
        by_type["Patient"].append(_line(patient_resource(str(record.patient_id), record.name)))
        for resource in course_resources(record):
            by_type[resource["resourceType"]].append(_line(resource))
    parent = folder.resolve().parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=parent))
    except OSError as exc:
        raise InputError.single(
            "DIR", str(folder), f"a folder that can be written ({exc.strerror})"
        ) from None
    try:
        for kind, lines in by_type.items():
            (staging / f"{kind}.ndjson").write_text("".join(lines), encoding="utf-8")
        manifest = {
            "transactionTime": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "request": "ldnkit export bulk",
            "requiresAccessToken": False,
            "output": [{"type": kind, "url": f"{kind}.ndjson"} for kind in by_type],
            "error": [],
        }
        (staging / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
        if folder.exists():
            folder.rmdir()  # empty, checked above
        staging.rename(folder)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return {kind: len(lines) for kind, lines in by_type.items()}


def _line(resource: dict[str, Any]) -> str:
    return json.dumps(resource, ensure_ascii=False, separators=(",", ":")) + "\n"


def diary_spreadsheet(store: Store, actor: Actor, patient_id: int) -> str:
    """The whole diary as CSV, with who entered each day (the download is audited)."""
    records = store.diary_records(actor, patient_id)
    store.record_download(actor, patient_id, "diary (CSV)")
    return diary_csv(records)


def plan_calendar(store: Store, actor: Actor, patient_id: int) -> str:
    """The current plan as iCalendar reminders; a clinician's copy names the patient."""
    record = store.patient(actor, patient_id)
    _saved, plan = _current_plan(store, actor, patient_id)
    return plan_to_ics(plan, record.name if actor.role == "clinician" else None)


def _current_plan(store: Store, actor: Actor, patient_id: int) -> tuple[SavedPlan, Plan]:
    saved = store.current_plan(actor, patient_id)
    plan = plan_of(saved)
    if saved is None or plan is None:
        raise NotFound(f"plan of patient {patient_id}")
    return saved, plan
