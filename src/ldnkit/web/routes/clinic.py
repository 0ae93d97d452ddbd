"""The clinician's pages: patient list, intake and screen, patient page, plan builder, criteria."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, RedirectResponse, Response
from markupsafe import Markup

from ldnkit.analytics.charts import fiqr_chart_svg, symptom_chart_svg, symptom_chart_text
from ldnkit.domain.criteria import FIQR_ITEMS, PAIN_AREAS, evaluate
from ldnkit.domain.formulation import capsules, liquid
from ldnkit.domain.plan_gate import StartCheck
from ldnkit.domain.profile import PatientProfile
from ldnkit.domain.screening import screen
from ldnkit.domain.titration import Plan, PlanRequest, build_plan
from ldnkit.export.calendar import plan_to_ics
from ldnkit.export.printable import plan_to_text
from ldnkit.knowledge import knowledge_base
from ldnkit.services import plans
from ldnkit.services.accounts import Login, add_patient, parse_login
from ldnkit.services.plans import PlanRefused
from ldnkit.store.records import Actor, PatientRecord
from ldnkit.store.repository import NotFound, Store
from ldnkit.validation import InputError, Problem, show
from ldnkit.web.deps import CheckedForm, ClinicianSession, Form, StoreDep
from ldnkit.web.render import page, problems_by_field
from ldnkit.web.views import diary_csv, parse, patient_view, plan_of, today, view_of

router = APIRouter(prefix="/clinic", include_in_schema=False)

CRITERIA = ("acr2010", "acr2011", "acr2016", "fiqr", "iom2015")
MEDICATION_ROWS = 4


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


# -- intake and screen ----------------------------------------------------------------------


def _med_rows(raw: object) -> int:
    """How many medication rows the form has; the field is posted back, so anything may come."""
    text = str(raw or "")
    if not text.isdecimal():
        return MEDICATION_ROWS
    # Never int() of many digits: past 4,300 it raises instead of converting.
    return min(int(text), 50) if len(text) <= 3 else 50


def profile_from_form(form: Form) -> dict[str, Any]:
    """The screening profile as JSON-like data from the intake form (validated separately)."""
    medications = []
    for i in range(_med_rows(form.get("med_rows"))):
        name = form.get(f"med_name_{i}").strip()
        if not name:
            continue
        med: dict[str, Any] = {"name": name, "status": form.get(f"med_status_{i}") or "active"}
        if form.optional(f"med_last_dose_{i}"):
            med["last_dose"] = form.get(f"med_last_dose_{i}").strip()
        medications.append(med)
    data: dict[str, Any] = {
        "as_of": form.optional("as_of") or today().isoformat(),
        "sex": form.get("sex") or "unknown",
        "conditions": [c.strip() for c in form.get("conditions").splitlines() if c.strip()],
        "medications": medications,
        "allergies": [a.strip() for a in form.get("allergies").splitlines() if a.strip()],
        "liver": form.get("liver") or "unknown",
        "kidney": form.get("kidney") or "unknown",
        "alcohol": form.get("alcohol") or "unknown",
        "planned_procedures": [],
    }
    if form.optional("age"):
        data["age"] = form.get("age").strip()
    for flag in ("pregnant", "breastfeeding"):
        if form.get(flag) in ("yes", "no"):
            data[flag] = form.get(flag) == "yes"
    if form.optional("procedure_date"):
        data["planned_procedures"].append(
            {
                "date": form.get("procedure_date").strip(),
                "name": form.optional("procedure_name"),
                "opioids_expected": form.get("procedure_opioids") != "no",
            }
        )
    return data


def form_values(record: PatientRecord) -> dict[str, Any]:
    """The intake form's fields filled from a saved patient (the inverse of profile_from_form)."""
    profile = record.profile
    values: dict[str, Any] = {
        "name": record.name,
        "as_of": today().isoformat(),
        "age": "" if profile.get("age") is None else str(profile["age"]),
        "sex": profile.get("sex", "unknown"),
        "conditions": "\n".join(
            c["code"] if isinstance(c, dict) else str(c) for c in profile.get("conditions", [])
        ),
        "allergies": "\n".join(
            a.get("name") or a.get("rxnorm", "") if isinstance(a, dict) else str(a)
            for a in profile.get("allergies", [])
        ),
    }
    for key in ("liver", "kidney", "alcohol"):
        values[key] = profile.get(key, "unknown")
    for flag in ("pregnant", "breastfeeding"):
        flagged = profile.get(flag)
        values[flag] = "unknown" if flagged is None else ("yes" if flagged else "no")
    medications = profile.get("medications", [])
    for i, med in enumerate(medications):
        values[f"med_name_{i}"] = med.get("name") or med.get("rxnorm", "")
        values[f"med_status_{i}"] = med.get("status", "active")
        values[f"med_last_dose_{i}"] = med.get("last_dose") or ""
    values["med_rows"] = str(max(MEDICATION_ROWS, len(medications) + 1))
    procedures = profile.get("planned_procedures", [])
    if procedures:
        values["procedure_date"] = procedures[0]["date"]
        values["procedure_name"] = procedures[0].get("name") or ""
        values["procedure_opioids"] = "yes" if procedures[0].get("opioids_expected") else "no"
    for key, score in (record.intake or {}).items():
        values[f"intake_{key}"] = f"{score:g}"
    return values


def _intake_page(
    request: Request,
    values: dict[str, Any],
    record: PatientRecord | None = None,
    problems: list[Problem] | None = None,
) -> Response:
    rows = _med_rows(values.get("med_rows"))
    context = {
        "values": values,
        "rows": range(rows),
        "record": record,
        "action": f"/clinic/patients/{record.id}/edit" if record else "/clinic/patients/new",
        "errors": problems_by_field(problems or []),
        "problems": [str(p) for p in problems or []],
    }
    return page(request, "intake.html", context, status_code=422 if problems else 200)


def _checked_intake(form: Form) -> tuple[str, PatientProfile, list[Problem]]:
    """Name and profile from the form, and every problem with them (all fields at once)."""
    problems: list[Problem] = []
    name = form.get("name").strip()
    if not name or len(name) > 200:
        problems.append(Problem("name", show(name), "the patient's name (1 to 200 characters)"))
    profile: PatientProfile | None = None
    try:
        profile = parse(PatientProfile, profile_from_form(form))
    except InputError as exc:
        problems.extend(exc.problems)
    return name, profile or PatientProfile(), problems


def _checked_login(form: Form, problems: list[Problem]) -> Login | None:
    """The patient's own login when the form gives an email (the password exactly as typed)."""
    if not form.optional("email"):
        return None
    try:
        return parse_login(Login, {"email": form.get("email"), "password": form.get("password")})
    except InputError as exc:
        problems.extend(exc.problems)
        return None


@router.get("/patients/new")
def intake_form(request: Request, session: ClinicianSession) -> Response:
    return _intake_page(request, {"as_of": today().isoformat()})


@router.post("/patients/new")
def intake(
    request: Request, store: StoreDep, session: ClinicianSession, form: CheckedForm
) -> Response:
    # The password is never sent back into the page, not even to re-fill the form.
    values: dict[str, Any] = {k: v[0] for k, v in form.fields.items() if k != "password"}
    name, profile, problems = _checked_intake(form)
    login = _checked_login(form, problems)
    if problems:
        return _intake_page(request, values, problems=problems)
    try:
        record = add_patient(
            store,
            session.actor,
            name,
            profile.model_dump(mode="json"),
            intake=_intake_scores(form),
            login=login,
        )
    except InputError as exc:
        return _intake_page(request, values, problems=exc.problems)
    _screen_and_save(store, session.actor, record.id, profile)
    return RedirectResponse(f"/clinic/patients/{record.id}#screening", status_code=303)


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
    values: dict[str, Any] = {k: v[0] for k, v in form.fields.items()}
    name, profile, problems = _checked_intake(form)
    if problems:
        return _intake_page(request, values, record, problems)
    store.update_patient(
        session.actor,
        patient_id,
        name=name,
        profile=profile.model_dump(mode="json"),
        intake=_intake_scores(form),
    )
    _screen_and_save(store, session.actor, patient_id, profile)
    return RedirectResponse(f"/clinic/patients/{patient_id}#screening", status_code=303)


def _intake_scores(form: Form) -> dict[str, Any] | None:
    scores = {}
    for name in ("pain", "fatigue", "sleep_quality"):
        raw = form.get(f"intake_{name}").strip()
        if raw:
            try:
                value = float(raw)
            except ValueError:
                continue
            if 0 <= value <= 10:
                scores[name] = value
    return scores if "pain" in scores else None


def _screen_and_save(store: Store, actor: Actor, patient_id: int, profile: PatientProfile) -> None:
    result = screen(profile)
    store.save_screening(
        actor,
        patient_id,
        profile.model_dump(mode="json"),
        result.model_dump(mode="json"),
        knowledge_base().version,
    )


@router.post("/patients/{patient_id}/screen")
def rescreen(
    store: StoreDep, session: ClinicianSession, patient_id: int, _form: CheckedForm
) -> Response:
    """Screen again today with the saved profile (the knowledge base may have changed)."""
    record = store.patient(session.actor, patient_id)
    profile: PatientProfile = parse(
        PatientProfile, {**record.profile, "as_of": today().isoformat()}
    )
    _screen_and_save(store, session.actor, patient_id, profile)
    return RedirectResponse(f"/clinic/patients/{patient_id}#screening", status_code=303)


# -- patient page ---------------------------------------------------------------------------


def _patient_context(store: Store, actor: Actor, patient_id: int) -> dict[str, Any]:
    view = patient_view(store, actor, patient_id)
    screenings = store.screenings(actor, patient_id)
    questionnaires = store.questionnaires(actor, patient_id)
    fiqr = [
        (q.taken_on, float(q.result["total"]))
        for q in questionnaires
        if q.kind == "fiqr" and q.result.get("total") is not None
    ]
    return {
        "view": view,
        "screening": screenings[0] if screenings else None,
        "plan": plan_of(view.plan),
        "chart": Markup(symptom_chart_svg(view.entries, view.steps)),  # noqa: S704 (escaped SVG)
        "chart_text": symptom_chart_text(view.entries, view.steps),
        "fiqr_chart": Markup(fiqr_chart_svg(fiqr)) if fiqr else None,  # noqa: S704
        "notes": store.notes(actor, patient_id),
        "questionnaires": list(reversed(questionnaires)),
        # The newest eight weeks; the whole diary is one click away as CSV.
        "entries": list(reversed(view.records))[:56],
    }


@router.get("/patients/{patient_id}")
def patient_page(
    request: Request, store: StoreDep, session: ClinicianSession, patient_id: int
) -> Response:
    return page(request, "patient.html", _patient_context(store, session.actor, patient_id))


@router.get("/patients/{patient_id}/summary")
def print_summary(
    request: Request, store: StoreDep, session: ClinicianSession, patient_id: int
) -> Response:
    """One page to print: screen, plan, response and the last weeks of the diary."""
    context = _patient_context(store, session.actor, patient_id)
    context["entries"] = context["entries"][:28]  # four weeks fit one printed page
    return page(request, "summary.html", context)


@router.get("/patients/{patient_id}/diary.csv")
def diary_export(store: StoreDep, session: ClinicianSession, patient_id: int) -> Response:
    records = store.diary_records(session.actor, patient_id)
    return PlainTextResponse(
        diary_csv(records),
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="diary-patient-{patient_id}.csv"'},
    )


@router.get("/patients/{patient_id}/audit")
def audit_page(
    request: Request, store: StoreDep, session: ClinicianSession, patient_id: int
) -> Response:
    events = store.patient_audit(session.actor, patient_id)
    record = store.patient(session.actor, patient_id)
    return page(request, "audit.html", {"record": record, "events": events})


@router.post("/patients/{patient_id}/notes")
def add_note(
    store: StoreDep, session: ClinicianSession, patient_id: int, form: CheckedForm
) -> Response:
    text = form.get("text")
    if not text.strip() or len(text) > 20000:
        raise InputError.single("text", text[:40], "a note of 1 to 20000 characters")
    store.add_note(session.actor, patient_id, text)
    return RedirectResponse(f"/clinic/patients/{patient_id}#notes", status_code=303)


# -- plan builder ---------------------------------------------------------------------------


def plan_request_from_form(form: Form) -> PlanRequest:
    data: dict[str, Any] = {
        "protocol": form.get("protocol") or "standard",
        "start": form.get("start").strip() or None,
    }
    for name in ("start_dose_mg", "step_mg", "interval_days", "target_mg"):
        if data["protocol"] == "custom" and form.optional(name):
            data[name] = form.get(name).strip()
    if form.get("time") in ("bedtime", "morning"):
        data["time"] = form.get("time")
    request: PlanRequest = parse(PlanRequest, data)
    return request


def _supply(plan: Plan, form: Form) -> dict[str, Any]:
    """Capsule counts for the supply period, or a liquid's measure for the target dose."""
    out: dict[str, Any] = {}
    try:
        days = int(form.get("supply_days") or 60)
    except ValueError:
        days = 0
    try:
        out["capsules"] = capsules(plan, days)
    except InputError as exc:
        out["supply_error"] = str(exc)
    try:
        out["liquid"] = liquid(
            float(form.get("tablet_mg") or 50), float(form.get("volume_ml") or 50), plan.target_mg
        )
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


def _override_reason(form: Form) -> str | None:
    """The clinician's reason, only when the override box is ticked: never implied."""
    return form.get("override_reason") if form.get("override") == "yes" else None


@router.post("/patients/{patient_id}/plan")
def plan_submit(
    request: Request, store: StoreDep, session: ClinicianSession, patient_id: int, form: CheckedForm
) -> Response:
    record = store.patient(session.actor, patient_id)
    values: dict[str, Any] = {k: v[0] for k, v in form.fields.items()}
    partial = request.headers.get("hx-request") == "true"
    context: dict[str, Any] = {"values": values}
    try:
        plan_request = plan_request_from_form(form)
        plan = build_plan(plan_request)
        if form.get("action") == "save":
            plans.save_plan(
                store, session.actor, patient_id, plan_request, _override_reason(form),
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


def ics_response(store: Store, actor: Actor, patient_id: int) -> Response:
    record = store.patient(actor, patient_id)
    plan = plan_of(store.current_plan(actor, patient_id))
    if plan is None:
        raise NotFound(f"plan of patient {patient_id}")
    label = record.name if actor.role == "clinician" else None
    return Response(
        plan_to_ics(plan, label),
        media_type="text/calendar",
        headers={"Content-Disposition": 'attachment; filename="ldn-plan.ics"'},
    )


@router.get("/patients/{patient_id}/plan.ics")
def plan_ics(store: StoreDep, session: ClinicianSession, patient_id: int) -> Response:
    return ics_response(store, session.actor, patient_id)


@router.get("/patients/{patient_id}/plan/print")
def plan_print(
    request: Request, store: StoreDep, session: ClinicianSession, patient_id: int
) -> Response:
    record = store.patient(session.actor, patient_id)
    saved = store.current_plan(session.actor, patient_id)
    plan = plan_of(saved)
    if saved is None or plan is None:
        raise NotFound(f"plan of patient {patient_id}")
    text = plan_to_text(plan, record.name, saved.check, saved.override)
    return page(request, "plan_print.html", {"record": record, "plan": plan, "text": text})


# -- criteria -------------------------------------------------------------------------------


def criteria_input(name: str, form: Form) -> dict[str, Any]:
    """A calculator's input from its form (answers left empty stay missing)."""
    if name == "fiqr":
        return {
            domain: [form.optional(f"{domain}_{i}") for i in range(len(items))]
            for domain, items in FIQR_ITEMS.items()
        }
    if name == "iom2015":
        data: dict[str, Any] = {"reduced_activity_months": form.optional("reduced_activity_months")}
        for flag in (
            "fatigue_not_relieved_by_rest",
            "pem",
            "unrefreshing_sleep",
            "cognitive_impairment",
            "orthostatic_intolerance",
        ):
            data[flag] = form.get(flag) == "yes"
        return data
    data = {"pain_areas": form.getlist("pain_areas")}
    for score in ("fatigue", "waking_unrefreshed", "cognitive"):
        data[score] = form.optional(score)
    data["duration_months"] = form.optional("duration_months")
    if name == "acr2010":
        data["somatic"] = form.optional("somatic")
        data["other_explanation"] = form.get("other_explanation") == "yes"
    else:
        for flag in ("headache", "lower_abdominal_pain", "depression"):
            data[flag] = form.get(flag) == "yes"
        if name == "acr2016" and form.get("other_explanation") in ("yes", "no"):
            data["other_explanation"] = form.get("other_explanation") == "yes"
    return data


def _chosen_patient(raw: str) -> int:
    """The patient id a form's list posted back (a record id is at most 18 digits)."""
    if not raw.isascii() or not raw.isdecimal() or len(raw) > 18:
        raise InputError.single("patient_id", raw, "one of your patients, chosen from the list")
    return int(raw)


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
    values = {k: v[0] for k, v in form.fields.items()}
    values["pain_areas"] = form.getlist("pain_areas")  # type: ignore[assignment]
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
        patient_id = _chosen_patient(form.get("patient_id"))
        taken = form.optional("taken_on") or today().isoformat()
        try:
            taken_on = dt.date.fromisoformat(taken)
        except ValueError:
            raise InputError.single("taken_on", taken, "a date YYYY-MM-DD") from None
        store.add_questionnaire(
            session.actor, patient_id, name, taken_on, data, result.model_dump(mode="json")
        )
        message = f"Saved to the patient's record for {taken_on}."
    context = _criteria_context(
        name,
        result=result.model_dump(mode="json"),
        patients=patients,
        values=values,
        message=message,
    )
    return page(request, "criteria.html", context)
