"""The patient's pages: today's entry, my plan, my progress."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from markupsafe import Markup

from ldnkit.analytics.charts import symptom_chart_svg, symptom_chart_text
from ldnkit.domain.diary import MergeConflict
from ldnkit.domain.titration import EARLIEST, LATEST
from ldnkit.knowledge import knowledge_base
from ldnkit.services.diary import record_entry
from ldnkit.services.export import plan_calendar
from ldnkit.services.progress import patient_view, plan_of, planned_dose
from ldnkit.validation import InputError
from ldnkit.web.deps import CheckedForm, PatientSession, StoreDep
from ldnkit.web.forms import diary_day, entry_from_form, merge_choice, today
from ldnkit.web.render import calendar_file, page, problems_by_field

router = APIRouter(prefix="/me", include_in_schema=False)


def _own_id(session: PatientSession) -> int:
    assert session.actor.patient_id is not None  # a patient account always has its record
    return session.actor.patient_id


def _today_form(
    request: Request,
    store: StoreDep,
    session: PatientSession,
    day: dt.date,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    conflict: MergeConflict | None = None,
    status_code: int = 200,
) -> Response:
    pid = _own_id(session)
    plan = store.current_plan(session.actor, pid)
    dose = planned_dose(plan, day)
    context = {
        "day": day,
        "previous": day - dt.timedelta(days=1),
        "is_today": day == today(),
        "planned": dose,
        "values": values or {"taken": "yes", "dose_mg": "" if dose is None else f"{dose:g}"},
        "errors": errors or {},
        "conflict": conflict,
        "side_effects": knowledge_base().side_effects,
    }
    return page(request, "today.html", context, status_code=status_code)


@router.get("/today")
def today_page(
    request: Request, store: StoreDep, session: PatientSession, day: str | None = None
) -> Response:
    chosen = diary_day(day)
    if chosen is None:
        raise InputError.single("day", day, f"a date YYYY-MM-DD from {EARLIEST} to {LATEST}")
    return _today_form(request, store, session, chosen)


@router.post("/today")
def save_today(
    request: Request, store: StoreDep, session: PatientSession, form: CheckedForm
) -> Response:
    pid = _own_id(session)
    values: dict[str, Any] = {k: v[0] for k, v in form.fields.items()}
    values["side_effects"] = form.getlist("side_effects")
    day = diary_day(form.get("day")) or today()
    try:
        plan = store.current_plan(session.actor, pid)
        entry = entry_from_form(form, planned_dose(plan, day))
        record_entry(store, session.actor, pid, entry, merge_choice(form))
    except InputError as exc:
        return _today_form(
            request, store, session, day, values, problems_by_field(exc.problems), status_code=422
        )
    except MergeConflict as exc:
        return _today_form(request, store, session, day, values, conflict=exc, status_code=409)
    return RedirectResponse(f"/me/progress?saved={entry.day.isoformat()}", status_code=303)


@router.get("/plan")
def my_plan(request: Request, store: StoreDep, session: PatientSession) -> Response:
    saved = store.current_plan(session.actor, _own_id(session))
    return page(request, "my_plan.html", {"plan": plan_of(saved), "saved": saved})


@router.get("/plan.ics")
def my_plan_ics(store: StoreDep, session: PatientSession) -> Response:
    return calendar_file(plan_calendar(store, session.actor, _own_id(session)))


@router.get("/progress")
def my_progress(
    request: Request, store: StoreDep, session: PatientSession, saved: str | None = None
) -> Response:
    view = patient_view(store, session.actor, _own_id(session))
    recent = view.entries[-60:]
    context = {
        "view": view,
        "chart": Markup(symptom_chart_svg(recent, view.steps, title="My pain, fatigue and sleep")),  # noqa: S704 (SVG built with escaped text)
        "chart_text": symptom_chart_text(recent, view.steps),
        "message": f"Saved your entry for {saved}." if saved else None,
        "entries": list(reversed(view.records[-14:])),
    }
    return page(request, "progress.html", context)
