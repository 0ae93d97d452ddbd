"""The criteria calculators (ACR 2010/2011/2016, FIQR, IOM 2015), with saving to a patient.

Like a bedside calculator: the result sits above the form and is worked out again each time
an answer changes (HTMX posts the form; only the result comes back, nothing is saved). Saving
to a patient's record is a separate, deliberate button.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from ldnkit.domain.criteria import FIQR_ITEMS, PAIN_AREAS, evaluate
from ldnkit.domain.criteria.texts import criteria_data
from ldnkit.export.criteria_note import CriteriaSummary, fiqr_item, label, summarise
from ldnkit.store.access import NotFound
from ldnkit.validation import InputError, Problem
from ldnkit.web.deps import CheckedForm, ClinicianSession, StoreDep
from ldnkit.web.forms import Form, chosen_patient, criteria_input, taken_on, today
from ldnkit.web.messages import FieldMessage, by_input, worded
from ldnkit.web.render import page

router = APIRouter(prefix="/clinic", include_in_schema=False)

# The calculators, as the tabs name them.
CRITERIA = {
    "acr2010": "ACR 2010",
    "acr2011": "ACR 2011",
    "acr2016": "ACR 2016",
    "fiqr": "FIQR",
    "iom2015": "IOM 2015 (ME/CFS)",
}


def _locate(path: str) -> tuple[str, str] | None:
    """The form input and label of a calculator's field path."""
    found = re.match(r"^(\w+)\[(\d+)\]$", path)
    if found and found.group(1) in FIQR_ITEMS:
        return f"{found.group(1)}_{found.group(2)}", fiqr_item(path)
    if found and found.group(1) == "pain_areas":
        return "pain_areas", label("pain_areas")
    if path in ("patient_id", "taken_on"):
        return path, {"patient_id": "Patient", "taken_on": "Taken on"}[path]
    return path, label(path)


def _please_answer(problems: list[Problem]) -> tuple[list[str], list[FieldMessage]]:
    """Unanswered questions by their labels, and the other problems in the page's words."""
    # A question left empty comes as nothing, or as null from an empty form field.
    missing = [p for p in problems if p.received in ("nothing", "null")]
    others = [p for p in problems if p.received not in ("nothing", "null")]
    labels = [(_locate(p.field) or (p.field, p.field))[1] for p in missing]
    return labels, worded(others, _locate)


def _result(name: str, form: Form) -> dict[str, Any]:
    """The calculator's answer to the form: its summary, or what is still to answer or fix."""
    answers = criteria_input(name, form)
    try:
        result = evaluate(name, answers)
    except InputError as exc:
        unanswered, messages = _please_answer(exc.problems)
        return {"summary": None, "unanswered": unanswered, "messages": messages, "answers": answers}
    summary: CriteriaSummary = summarise(name, result, answers, today())
    return {
        "summary": summary,
        "result": result,
        "unanswered": [],
        "messages": [],
        "answers": answers,
    }


def _context(name: str, form: Form, **extra: Any) -> dict[str, Any]:
    if name not in CRITERIA:
        raise NotFound(name)
    values: dict[str, Any] = form.values()
    values["pain_areas"] = form.getlist("pain_areas")
    found = _result(name, form)
    data = criteria_data()
    return {
        "name": name,
        "names": CRITERIA,
        "areas": PAIN_AREAS,
        "fiqr": data.fiqr,
        "questions": data.questions,
        "values": values,
        "errors": by_input(found["messages"]),
        **found,
        **extra,
    }


@router.get("/criteria/{name}")
def criteria_page(
    request: Request, store: StoreDep, session: ClinicianSession, name: str
) -> Response:
    context = _context(name, Form(), patients=store.patients(session.actor))
    return page(request, "criteria.html", context)


@router.post("/criteria/{name}")
def criteria_submit(
    request: Request, store: StoreDep, session: ClinicianSession, name: str, form: CheckedForm
) -> Response:
    """Work the result out again; with the save button, also keep it in a patient's record."""
    if request.headers.get("hx-request") == "true":
        # A live update as an answer changes: only the result, and nothing is saved.
        return page(request, "_criteria_result.html", _context(name, form))
    context = _context(name, form, patients=store.patients(session.actor))
    if form.get("action") != "save":
        return page(request, "criteria.html", context)
    if not form.optional("patient_id"):
        refusal = FieldMessage("patient_id", "Patient", "choose the patient to save this to.")
        context.update(save_problem=refusal, errors={"patient_id": str(refusal)})
        return page(request, "criteria.html", context, status_code=422)
    if context["summary"] is None:
        context["save_problem"] = FieldMessage(
            "result", "Not saved", "answer every question first (see the list above)."
        )
        return page(request, "criteria.html", context, status_code=422)
    try:
        patient_id = chosen_patient(form.get("patient_id"))
        day = taken_on(form)
    except InputError as exc:
        messages = worded(exc.problems, _locate)
        context.update(save_problem=messages[0], errors=by_input(messages))
        return page(request, "criteria.html", context, status_code=422)
    store.add_questionnaire(
        session.actor,
        patient_id,
        name,
        day,
        context["answers"],
        context["result"].model_dump(mode="json"),
    )
    context["message"] = f"Saved to the patient's record for {day}."
    return page(request, "criteria.html", context)
