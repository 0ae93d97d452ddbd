"""Exporting a patient's record: a FHIR R4 Bundle (`ldnkit export fhir`), the diary as CSV, the
plan as calendar reminders (the clinician's and the patient's pages).

Each export reads the record as the actor (scoped and audited like any read of it) and raises
NotFound for a record the actor may not see, or a plan that does not exist yet.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from ldnkit.domain.titration import Plan, Step
from ldnkit.export.calendar import plan_to_ics
from ldnkit.export.diary_csv import diary_csv
from ldnkit.fhir.boundary import validated
from ldnkit.fhir.export import (
    diary_records_to_observations,
    fiqr_to_questionnaire_response,
    plan_to_medication_request,
)
from ldnkit.services.progress import plan_of
from ldnkit.store.access import NotFound
from ldnkit.store.records import Actor, SavedPlan
from ldnkit.store.repository import Store


def fhir_bundle(store: Store, actor: Actor, patient_id: int) -> dict[str, Any]:
    """The patient's current plan, diary and FIQR questionnaires as a collection Bundle."""
    store.patient(actor, patient_id)  # raises NotFound / Forbidden before anything is read
    pid = str(patient_id)
    resources: list[dict[str, Any]] = []
    saved = store.current_plan(actor, patient_id)
    plan = plan_of(saved)
    if saved is not None and plan is not None:
        # The stored steps are the plan as saved (adjustments included), not a recomputation.
        plan = plan.model_copy(update={"steps": tuple(Step.model_validate(s) for s in saved.steps)})
        resources.append(
            plan_to_medication_request(
                plan, pid, authored_on=saved.created_at.date(), request_id=f"plan-{saved.id}"
            )
        )
    resources.extend(diary_records_to_observations(store.diary_records(actor, patient_id), pid))
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


def diary_spreadsheet(store: Store, actor: Actor, patient_id: int) -> str:
    """The whole diary as CSV, with who entered each day."""
    return diary_csv(store.diary_records(actor, patient_id))


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
