"""A patient's course of LDN on their page: record a dispense, mark one entered in error, stop
LDN with the day and the reason. Each is audited by the store."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from ldnkit.services import courses
from ldnkit.validation import InputError
from ldnkit.web.deps import CheckedForm, ClinicianSession, StoreDep
from ldnkit.web.forms import Form, today
from ldnkit.web.render import page, problems_by_field
from ldnkit.web.routes.clinic.record import _patient_context

router = APIRouter(prefix="/clinic", include_in_schema=False)

# The fields as the page labels them: an error names what the clinician sees.
LABELS = {
    "dispensed_on": "Dispensed on",
    "days_supply": "Days' supply",
    "stopped_on": "Stopped on",
    "reason": "Reason",
    "note": "Note",
}


def _course_page(
    request: Request,
    store: StoreDep,
    session: ClinicianSession,
    patient_id: int,
    form: Form,
    exc: InputError,
) -> Response:
    errors = problems_by_field(exc.problems)
    context: dict[str, Any] = {
        **_patient_context(store, session.actor, patient_id),
        "course_errors": {
            key: f"{LABELS.get(key, key)}: {text.split(': ', 1)[-1]}"
            for key, text in errors.items()
        },
        "course_values": form.values("csrf_token"),
    }
    return page(request, "patient.html", context, status_code=422)


def _back(patient_id: int) -> Response:
    return RedirectResponse(f"/clinic/patients/{patient_id}#course", status_code=303)


def _recorded(
    request: Request,
    store: StoreDep,
    session: ClinicianSession,
    patient_id: int,
    form: Form,
    record: Callable[[], object],
) -> Response:
    """Back to the patient's course once recorded; the page again, with what to fix, if not."""
    try:
        record()
    except InputError as exc:
        return _course_page(request, store, session, patient_id, form, exc)
    return _back(patient_id)


@router.post("/patients/{patient_id}/dispenses")
def record_dispense(
    request: Request,
    store: StoreDep,
    session: ClinicianSession,
    patient_id: int,
    form: CheckedForm,
) -> Response:
    data = {
        "dispensed_on": form.get("dispensed_on").strip() or None,
        "days_supply": form.get("days_supply").strip() or None,
    }

    def record() -> object:
        return courses.record_dispense(store, session.actor, patient_id, data, today())

    return _recorded(request, store, session, patient_id, form, record)


@router.post("/patients/{patient_id}/dispenses/{dispense_id}/in-error")
def dispense_in_error(
    store: StoreDep,
    session: ClinicianSession,
    patient_id: int,
    dispense_id: int,
    _form: CheckedForm,
) -> Response:
    courses.mark_in_error(store, session.actor, patient_id, dispense_id)
    return _back(patient_id)


@router.post("/patients/{patient_id}/stop")
def stop_ldn(
    request: Request,
    store: StoreDep,
    session: ClinicianSession,
    patient_id: int,
    form: CheckedForm,
) -> Response:
    data = {
        "stopped_on": form.get("stopped_on").strip() or None,
        "reason": form.get("reason") or None,
        "note": form.get("note"),
    }

    def record() -> object:
        return courses.stop_ldn(store, session.actor, patient_id, data, today())

    return _recorded(request, store, session, patient_id, form, record)
