"""The clinician's patient list, the intake form that adds and screens a patient, and its edit."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from ldnkit.services import screening
from ldnkit.services.progress import view_of
from ldnkit.store.records import Actor, PatientRecord
from ldnkit.store.repository import Store
from ldnkit.validation import InputError
from ldnkit.web.deps import CheckedForm, ClinicianSession, StoreDep
from ldnkit.web.forms import today
from ldnkit.web.intake_form import (
    MEDICATION_ROWS,
    PROCEDURE_ROWS,
    form_values,
    new_token,
    read_intake,
    rows,
)
from ldnkit.web.messages import FieldMessage, by_input, worded
from ldnkit.web.render import page

router = APIRouter(prefix="/clinic", include_in_schema=False)


def _to_screening(patient_id: int) -> Response:
    return RedirectResponse(f"/clinic/patients/{patient_id}#screening", status_code=303)


@router.get("")
def patient_list(
    request: Request, store: StoreDep, session: ClinicianSession, archived: bool = False
) -> Response:
    """The patients in care (or, with ?archived=true, the archived ones)."""
    rows_shown = []
    as_of = today()
    for item in store.caseload(session.actor, archived=archived):
        view = view_of(item.record, item.plan, item.entries, as_of)
        rows_shown.append(
            {
                "record": item.record,
                "verdict": item.verdict,
                "dose": view.current_dose,
                "status": view.assessment.status if view.assessment else None,
                "entries": len(view.entries),
            }
        )
    context = {
        "rows": rows_shown,
        "archived": archived,
        "archived_count": 0 if archived else store.archived_count(session.actor),
    }
    return page(request, "clinic_list.html", context)


def _intake_page(
    request: Request,
    values: dict[str, Any],
    record: PatientRecord | None = None,
    messages: list[FieldMessage] | None = None,
) -> Response:
    context = {
        "values": values,
        "rows": range(rows(values.get("med_rows"), MEDICATION_ROWS)),
        "proc_rows": range(rows(values.get("proc_rows"), PROCEDURE_ROWS)),
        "record": record,
        "action": f"/clinic/patients/{record.id}/edit" if record else "/clinic/patients/new",
        "errors": by_input(messages or []),
        "messages": messages or [],
    }
    return page(request, "intake.html", context, status_code=422 if messages else 200)


@router.get("/patients/new")
def intake_form(request: Request, session: ClinicianSession) -> Response:
    return _intake_page(request, {"as_of": today().isoformat(), "intake_token": new_token()})


@router.post("/patients/new")
def intake(
    request: Request, store: StoreDep, session: ClinicianSession, form: CheckedForm
) -> Response:
    # The password is never sent back into the page, not even to re-fill the form.
    values = form.values("password")
    read = read_intake(form, with_login=True)
    if read.messages:
        return _intake_page(request, values, messages=read.messages)
    try:
        record, _screened = screening.admit(
            store,
            session.actor,
            read.name,
            read.profile,
            intake=read.scores,
            login=read.login,
            intake_token=read.token,
        )
    except InputError as exc:  # the login's email already has an account
        return _intake_page(request, values, messages=worded(exc.problems, _login_field))
    return _to_screening(record.id)


def _login_field(path: str) -> tuple[str, str] | None:
    labels = {"email": "Patient login, email", "password": "Patient login, password"}
    return (path, labels[path]) if path in labels else None


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
    read = read_intake(form, with_login=False)
    if read.messages:
        return _intake_page(request, form.values(), record, read.messages)
    screening.correct(store, session.actor, patient_id, read.name, read.profile, intake=read.scores)
    return _to_screening(patient_id)


def _set_archived(store: Store, actor: Actor, patient_id: int, archived: bool) -> Response:
    """Archive or restore, then the record's page saying which was done."""
    store.set_archived(actor, patient_id, archived)
    done = "archived" if archived else "restored"
    return RedirectResponse(f"/clinic/patients/{patient_id}?{done}=1", status_code=303)


@router.post("/patients/{patient_id}/archive")
def archive(
    store: StoreDep, session: ClinicianSession, patient_id: int, _form: CheckedForm
) -> Response:
    """Hide the patient from the list; the record is kept whole and can be restored."""
    return _set_archived(store, session.actor, patient_id, True)


@router.post("/patients/{patient_id}/restore")
def restore(
    store: StoreDep, session: ClinicianSession, patient_id: int, _form: CheckedForm
) -> Response:
    return _set_archived(store, session.actor, patient_id, False)


@router.post("/patients/{patient_id}/screen")
def rescreen(
    store: StoreDep, session: ClinicianSession, patient_id: int, _form: CheckedForm
) -> Response:
    """Screen again today with the saved profile (the knowledge base may have changed)."""
    screening.rescreen(store, session.actor, patient_id, today())
    return _to_screening(patient_id)
