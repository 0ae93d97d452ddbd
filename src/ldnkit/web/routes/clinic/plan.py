"""The plan builder (with today's safety screen beside it), the printable plan and its calendar."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from ldnkit.domain.formulation import capsules, liquid
from ldnkit.domain.plan_gate import StartCheck
from ldnkit.domain.titration import Plan, build_plan
from ldnkit.services import plans
from ldnkit.services.export import plan_calendar, plan_printout
from ldnkit.services.plans import PlanRefused
from ldnkit.services.progress import plan_of
from ldnkit.store.records import Actor, PatientRecord
from ldnkit.store.repository import Store
from ldnkit.validation import InputError
from ldnkit.web.deps import CheckedForm, ClinicianSession, StoreDep
from ldnkit.web.forms import (
    Form,
    liquid_recipe,
    override_reason,
    plan_request_from_form,
    supply_days,
    today,
)
from ldnkit.web.render import calendar_file, page, problems_by_field

router = APIRouter(prefix="/clinic", include_in_schema=False)


def _supply(plan: Plan, form: Form) -> dict[str, Any]:
    """Capsule counts for the supply period, or a liquid's measure for the target dose."""
    out: dict[str, Any] = {}
    try:
        out["capsules"] = capsules(plan, supply_days(form))
    except InputError as exc:
        out["supply_error"] = str(exc)
    try:
        out["liquid"] = liquid(*liquid_recipe(form), plan.target_mg)
    except (InputError, ValueError) as exc:
        out["supply_error"] = str(exc)
    return out


# The override as the plan page names it; the refusal messages point to it in these words.
OVERRIDE_LABEL = "Start against the safety screen"


def _start_advice(check: StartCheck) -> str:
    """Why the screen does not allow this start, and what to do next, in the plan page's words."""
    tick = f"tick \u201c{OVERRIDE_LABEL}\u201d and write why"
    if check.refusal == "before-earliest-start":
        then = f"Choose a start date on or after {check.screening.earliest_start}, or {tick}."
    elif check.refusal == "before-screening":
        then = f"Choose a start date from {check.screened_on} on, or {tick}."
    elif check.refusal == "no-earliest-start":
        then = (
            f"Record what the screen asks for in the patient's profile and screen again, or {tick}."
        )
    else:
        then = f"To save a plan anyway, {tick}."
    return f"{check.explanation()} {then}"


def _plan_page(
    request: Request,
    store: Store,
    actor: Actor,
    record: PatientRecord,
    context: dict[str, Any],
    *,
    partial: bool = False,
    status_code: int = 200,
) -> Response:
    """The plan builder, with today's safety screen of the patient beside the form."""
    full = {"record": record, "saved": None, "plan": None, **context}
    if not partial:
        full["screen"] = plans.screen_today(store, actor, record.id, today())
        full["screened_on"] = today()
        full["override_label"] = OVERRIDE_LABEL
    return page(
        request, "plan_preview.html" if partial else "plan.html", full, status_code=status_code
    )


@router.get("/patients/{patient_id}/plan")
def plan_builder(
    request: Request, store: StoreDep, session: ClinicianSession, patient_id: int
) -> Response:
    record = store.patient(session.actor, patient_id)
    saved = store.current_plan(session.actor, patient_id)
    if saved:
        values = dict(saved.request)
    else:
        # A new plan starts on the screen's earliest start; none when the screen gives none.
        earliest = plans.screen_today(store, session.actor, patient_id, today()).earliest_start
        values = {"protocol": "standard", "start": earliest.isoformat() if earliest else ""}
    values.update({"supply_days": "60", "tablet_mg": "50", "volume_ml": "50"})
    plan = plan_of(saved)
    context = {
        "values": {k: "" if v is None else str(v) for k, v in values.items()},
        "plan": plan,
        "saved": saved,
        **(_supply(plan, Form()) if plan else {}),
    }
    return _plan_page(request, store, session.actor, record, context)


@router.post("/patients/{patient_id}/plan")
def plan_submit(
    request: Request, store: StoreDep, session: ClinicianSession, patient_id: int, form: CheckedForm
) -> Response:
    record = store.patient(session.actor, patient_id)
    values = form.values()
    partial = request.headers.get("hx-request") == "true"
    context: dict[str, Any] = {"values": values}
    try:
        plan_request = plan_request_from_form(form)
        plan = build_plan(plan_request)
        if form.get("action") == "save":
            plans.save_plan(
                store, session.actor, patient_id, plan_request, override_reason(form),
                today=today(),
            )  # fmt: skip
            return RedirectResponse(f"/clinic/patients/{patient_id}/plan?saved=1", status_code=303)
    except InputError as exc:
        context.update(
            errors=problems_by_field(exc.problems), problems=[str(p) for p in exc.problems]
        )
        return _plan_page(
            request, store, session.actor, record, context, partial=partial, status_code=422
        )
    except PlanRefused as exc:
        refusal = "Not saved. " + _start_advice(exc.check)
        context.update(plan=plan, refusal=refusal, **_supply(plan, form))
        return _plan_page(
            request, store, session.actor, record, context, partial=partial, status_code=422
        )
    check = plans.start_check(store, session.actor, patient_id, plan_request.start, today())
    warning = None if check.allowed else _start_advice(check)
    context.update(plan=plan, start_warning=warning, **_supply(plan, form))
    return _plan_page(request, store, session.actor, record, context, partial=partial)


@router.get("/patients/{patient_id}/plan.ics")
def plan_ics(store: StoreDep, session: ClinicianSession, patient_id: int) -> Response:
    return calendar_file(plan_calendar(store, session.actor, patient_id))


@router.get("/patients/{patient_id}/plan/print")
def plan_print(
    request: Request, store: StoreDep, session: ClinicianSession, patient_id: int
) -> Response:
    printout = plan_printout(store, session.actor, patient_id)
    context = {"record": printout.record, "plan": printout.plan, "text": printout.text}
    return page(request, "plan_print.html", context)
