"""The plan builder (with today's safety screen beside it), the prescription and its calendar.

The builder does what `ldnkit plan` and `ldnkit liquid` do: a protocol, capsules or a liquid
(mL per dose, days per tablet, the recipe's beyond-use dates and caveats), custom doses that
only a liquid can measure, and the adjustments (step back, morning dose, procedure hold) with
their sources. It names everything as the page does: never a field key or a CLI flag.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from ldnkit.domain.plan_gate import StartCheck
from ldnkit.domain.titration import ABOVE_USUAL_OVERRIDE
from ldnkit.knowledge.limits import limits
from ldnkit.knowledge.protocols import product_book, protocol_book
from ldnkit.services import plans
from ldnkit.services.export import plan_calendar
from ldnkit.services.plans import PlanRefused
from ldnkit.services.prescription import plan_prescription
from ldnkit.store.records import Actor, PatientRecord
from ldnkit.store.repository import Store
from ldnkit.validation import InputError, Problem
from ldnkit.web.deps import CheckedForm, ClinicianSession, StoreDep
from ldnkit.web.forms import DEFAULT_SUPPLY_DAYS, Form, override_reason, plan_request, today
from ldnkit.web.messages import FieldMessage, by_input, worded
from ldnkit.web.render import calendar_file, page

router = APIRouter(prefix="/clinic", include_in_schema=False)

# The overrides as the plan page names them; refusals point to them in these words.
OVERRIDE_LABEL = "Start against the safety screen"


def above_usual_label() -> str:
    band = limits().ldn_dose
    return f"Allow a dose above {band.usual_max.mg:g} mg (up to {band.hard_max.mg:g} mg)"


# Each field of a plan request: the form input it comes from, and its label on the page.
_FIELDS = {
    "protocol": ("protocol", "Protocol"),
    "start": ("start", "Start date"),
    "time": ("time", "Time of the dose"),
    "start_dose_mg": ("start_dose_mg", "Start dose (mg)"),
    "step_mg": ("step_mg", "Increase per step (mg)"),
    "interval_days": ("interval_days", "Days per step"),
    "target_mg": ("target_mg", "Target dose (mg)"),
    "dose_mg": ("target_mg", "Dose to measure"),
    "dispensing": ("dose_form", "Capsules or liquid"),
    "dispensing.form": ("dose_form", "Capsules or liquid"),
    "dispensing.days": ("supply_days", "Supply for (days)"),
    "days": ("supply_days", "Supply for (days)"),
    "dispensing.tablet_mg": ("tablet_mg", "Tablet strength (mg)"),
    "tablet_mg": ("tablet_mg", "Tablet strength (mg)"),
    "dispensing.volume_ml": ("volume_ml", "Dissolved in (mL)"),
    "volume_ml": ("volume_ml", "Dissolved in (mL)"),
    "dispensing.recipe": ("recipe", "Recipe"),
    "changes.step_back_on": ("step_back_on", "Not tolerated from"),
    "changes.morning_from": ("morning_from", "Morning dose from"),
    "changes.procedure.date": ("procedure_date", "Procedure date"),
    "changes.procedure.opioids_stop": ("opioids_stop", "Last day of opioids after it"),
    "changes.procedure.hold_days": ("hold_days", "Days without LDN before it"),
    "override_reason": ("override_reason", "Reason"),
}


def _locate(path: str) -> tuple[str, str] | None:
    return _FIELDS.get(path)


def plan_messages(problems: list[Problem]) -> list[FieldMessage]:
    """The plan's problems in the page's words: the override is the box to tick, not a flag."""
    tick = f"ticking \u201c{above_usual_label()}\u201d"
    said = [
        Problem(p.field, p.received, p.expected.replace(ABOVE_USUAL_OVERRIDE, tick))
        for p in problems
    ]
    return worded(said, _locate)


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


def _choices() -> dict[str, Any]:
    """What the form offers, named as the knowledge base names it."""
    book = protocol_book()
    return {
        "protocols": [(p.id, p.name, p.summary) for p in book.protocols],
        "recipes": [(r.id, r.name) for r in product_book().liquid_recipes],
        "adjustments": book.adjustments,
        "override_label": OVERRIDE_LABEL,
        "above_usual_label": above_usual_label(),
        "standard_tablet_mg": limits().ldn_dose.standard.mg,
        "hold_usual": limits().hold.usual.days,
        "hold_minimum": limits().hold.minimum.days,
    }


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
    messages: list[FieldMessage] = context.pop("messages", [])
    full = {
        "record": record,
        "saved": None,
        "plan": None,
        "messages": messages,
        "errors": by_input(messages),
        **_choices(),
        **context,
    }
    if not partial:
        full["screen"] = plans.screen_today(store, actor, record.id, today())
        full["screened_on"] = today()
    return page(
        request, "plan_preview.html" if partial else "plan.html", full, status_code=status_code
    )


def _saved_values(saved_request: dict[str, Any]) -> dict[str, str]:
    """The builder's fields filled from a saved plan's request (the inverse of plan_data)."""
    values = {k: v for k, v in saved_request.items() if k not in ("changes", "dispensing")}
    values["allow_above_5mg"] = "yes" if saved_request.get("allow_above_5mg") else ""
    dispensing = saved_request.get("dispensing") or {}
    values.update(
        dose_form=dispensing.get("form", "capsules"),
        supply_days=dispensing.get("days", DEFAULT_SUPPLY_DAYS),
        tablet_mg=dispensing.get("tablet_mg"),
        volume_ml=dispensing.get("volume_ml"),
        recipe=dispensing.get("recipe"),
    )
    changes = saved_request.get("changes") or {}
    procedure = changes.get("procedure") or {}
    values.update(
        step_back_on=changes.get("step_back_on"),
        morning_from=changes.get("morning_from"),
        procedure_date=procedure.get("date"),
        opioids_stop=procedure.get("opioids_stop"),
        hold_days=procedure.get("hold_days"),
    )
    return {k: "" if v is None else str(v) for k, v in values.items()}


@router.get("/patients/{patient_id}/plan")
def plan_builder(
    request: Request,
    store: StoreDep,
    session: ClinicianSession,
    patient_id: int,
    saved: bool = False,
) -> Response:
    record = store.patient(session.actor, patient_id)
    current = store.current_plan(session.actor, patient_id)
    if current:
        values = _saved_values(current.request)
    else:
        # A new plan starts on the screen's earliest start; none when the screen gives none.
        earliest = plans.screen_today(store, session.actor, patient_id, today()).earliest_start
        values = {
            "protocol": "standard",
            "start": earliest.isoformat() if earliest else "",
            "dose_form": "capsules",
            "supply_days": str(DEFAULT_SUPPLY_DAYS),
        }
    context: dict[str, Any] = {"values": values, "saved": current}
    if saved:
        context["message"] = "Plan saved."
    if current:
        try:
            context["preview"] = plans.preview(
                store, session.actor, patient_id, plan_request(Form.of(values)), today()
            )
        except InputError as exc:  # a plan saved before today's rules: shown, not re-checked
            context["messages"] = plan_messages(exc.problems)
    return _plan_page(request, store, session.actor, record, context)


@router.post("/patients/{patient_id}/plan")
def plan_submit(
    request: Request, store: StoreDep, session: ClinicianSession, patient_id: int, form: CheckedForm
) -> Response:
    record = store.patient(session.actor, patient_id)
    partial = request.headers.get("hx-request") == "true"
    context: dict[str, Any] = {"values": form.values()}

    def again(status: int) -> Response:
        # HTMX swaps only a successful answer in: a live preview with problems is a 200 that
        # shows them, or the old preview would stay on screen as if it still held.
        return _plan_page(
            request,
            store,
            session.actor,
            record,
            context,
            partial=partial,
            status_code=200 if partial else status,
        )

    try:
        asked = plan_request(form)
        preview = plans.preview(store, session.actor, patient_id, asked, today())
    except InputError as exc:
        context["messages"] = plan_messages(exc.problems)
        return again(422)
    context["preview"] = preview
    if form.get("action") == "save":
        try:
            plans.save_plan(
                store, session.actor, patient_id, asked, override_reason(form), today=today()
            )
        except InputError as exc:
            context["messages"] = plan_messages(exc.problems)
            return again(422)
        except PlanRefused as exc:
            context["refusal"] = "Not saved. " + _start_advice(exc.check)
            return again(422)
        return RedirectResponse(f"/clinic/patients/{patient_id}/plan?saved=1", status_code=303)
    if not preview.check.allowed:
        context["start_warning"] = _start_advice(preview.check)
    return again(200)


@router.get("/patients/{patient_id}/plan.ics")
def plan_ics(store: StoreDep, session: ClinicianSession, patient_id: int) -> Response:
    return calendar_file(plan_calendar(store, session.actor, patient_id))


@router.get("/patients/{patient_id}/plan.pdf")
def plan_pdf(
    request: Request, store: StoreDep, session: ClinicianSession, patient_id: int
) -> Response:
    """The current plan as a prescription to sign and hand over (PDF)."""
    clinic = request.app.state.settings.clinic_name
    pdf = plan_prescription(store, session.actor, patient_id, today(), clinic)
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="ldn-plan-patient-{patient_id}.pdf"'},
    )
