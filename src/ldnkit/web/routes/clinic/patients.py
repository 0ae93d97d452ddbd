"""The clinician's patient list, the intake form that adds and screens a patient, and its edit."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from ldnkit.services import screening
from ldnkit.services.progress import view_of
from ldnkit.store.records import PatientRecord
from ldnkit.validation import InputError, Problem
from ldnkit.web.deps import CheckedForm, ClinicianSession, StoreDep
from ldnkit.web.forms import (
    checked_intake,
    checked_login,
    form_values,
    intake_scores,
    med_rows,
    today,
)
from ldnkit.web.render import page, problems_by_field

router = APIRouter(prefix="/clinic", include_in_schema=False)


def _to_screening(patient_id: int) -> Response:
    return RedirectResponse(f"/clinic/patients/{patient_id}#screening", status_code=303)


@router.get("")
def patient_list(request: Request, store: StoreDep, session: ClinicianSession) -> Response:
    rows = []
    as_of = today()
    for item in store.caseload(session.actor):
        view = view_of(item.record, item.plan, item.entries, as_of)
        rows.append(
            {
                "record": item.record,
                "verdict": item.verdict,
                "dose": view.current_dose,
                "status": view.assessment.status if view.assessment else None,
                "entries": len(view.entries),
            }
        )
    return page(request, "clinic_list.html", {"rows": rows})


def _intake_page(
    request: Request,
    values: dict[str, Any],
    record: PatientRecord | None = None,
    problems: list[Problem] | None = None,
) -> Response:
    context = {
        "values": values,
        "rows": range(med_rows(values.get("med_rows"))),
        "record": record,
        "action": f"/clinic/patients/{record.id}/edit" if record else "/clinic/patients/new",
        "errors": problems_by_field(problems or []),
        "problems": [str(p) for p in problems or []],
    }
    return page(request, "intake.html", context, status_code=422 if problems else 200)


@router.get("/patients/new")
def intake_form(request: Request, session: ClinicianSession) -> Response:
    return _intake_page(request, {"as_of": today().isoformat()})


@router.post("/patients/new")
def intake(
    request: Request, store: StoreDep, session: ClinicianSession, form: CheckedForm
) -> Response:
    # The password is never sent back into the page, not even to re-fill the form.
    values = form.values("password")
    name, profile, problems = checked_intake(form)
    login = checked_login(form, problems)
    if problems:
        return _intake_page(request, values, problems=problems)
    try:
        record, _screened = screening.admit(
            store, session.actor, name, profile, intake=intake_scores(form), login=login
        )
    except InputError as exc:
        return _intake_page(request, values, problems=exc.problems)
    return _to_screening(record.id)


@router.get("/patients/{patient_id}/edit")
def edit_form(
    request: Request, store: StoreDep, session: ClinicianSession, patient_id: int
) -> Response:
    record = store.patient(session.actor, patient_id)
    return _intake_page(request, form_values(record), record)


@router.post("/patients/{patient_id}/edit")
def edit(
    request: Request,
    store: StoreDep,
    session: ClinicianSession,
    patient_id: int,
    form: CheckedForm,
) -> Response:
    """Save the corrected profile and screen again with it."""
    record = store.patient(session.actor, patient_id)
    name, profile, problems = checked_intake(form)
    if problems:
        return _intake_page(request, form.values(), record, problems)
    screening.correct(store, session.actor, patient_id, name, profile, intake=intake_scores(form))
    return _to_screening(patient_id)


@router.post("/patients/{patient_id}/screen")
def rescreen(
    store: StoreDep, session: ClinicianSession, patient_id: int, _form: CheckedForm
) -> Response:
    """Screen again today with the saved profile (the knowledge base may have changed)."""
    screening.rescreen(store, session.actor, patient_id, today())
    return _to_screening(patient_id)
