"""The criteria calculators (ACR 2010/2011/2016, FIQR, IOM 2015), with saving to a patient."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from ldnkit.domain.criteria import FIQR_ITEMS, PAIN_AREAS, evaluate
from ldnkit.store.access import NotFound
from ldnkit.validation import InputError
from ldnkit.web.deps import CheckedForm, ClinicianSession, StoreDep
from ldnkit.web.forms import chosen_patient, criteria_input, taken_on
from ldnkit.web.render import page, problems_by_field

router = APIRouter(prefix="/clinic", include_in_schema=False)

CRITERIA = ("acr2010", "acr2011", "acr2016", "fiqr", "iom2015")


def _criteria_context(name: str, **extra: Any) -> dict[str, Any]:
    if name not in CRITERIA:
        raise NotFound(name)
    return {"name": name, "names": CRITERIA, "areas": PAIN_AREAS, "fiqr_items": FIQR_ITEMS, **extra}


@router.get("/criteria/{name}")
def criteria_page(
    request: Request, store: StoreDep, session: ClinicianSession, name: str
) -> Response:
    patients = store.patients(session.actor)
    return page(request, "criteria.html", _criteria_context(name, result=None, patients=patients))


@router.post("/criteria/{name}")
def criteria_submit(
    request: Request, store: StoreDep, session: ClinicianSession, name: str, form: CheckedForm
) -> Response:
    patients = store.patients(session.actor)
    values = form.values()
    values["pain_areas"] = form.getlist("pain_areas")
    data = criteria_input(name, form)
    try:
        result = evaluate(name, data)
    except InputError as exc:
        context = _criteria_context(
            name,
            result=None,
            patients=patients,
            values=values,
            errors=problems_by_field(exc.problems),
            problems=[str(p) for p in exc.problems],
        )
        return page(request, "criteria.html", context, status_code=422)
    message = None
    if form.optional("patient_id"):
        patient_id = chosen_patient(form.get("patient_id"))
        day = taken_on(form)
        store.add_questionnaire(
            session.actor, patient_id, name, day, data, result.model_dump(mode="json")
        )
        message = f"Saved to the patient's record for {day}."
    context = _criteria_context(
        name,
        result=result.model_dump(mode="json"),
        patients=patients,
        values=values,
        message=message,
    )
    return page(request, "criteria.html", context)
