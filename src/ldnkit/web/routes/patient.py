"""The patient's pages: a diary day (today's, or any past day) to enter, change or delete, my
plan, my progress.

A day's form is filled from what the day holds, so "Today" shows today's saved entry and saving
it again is an edit of that version. A diary form sent after the browser's session ended is
kept (when its CSRF token shows it came from that session) and saved once the patient signs in
again: see `keep_expired_form` and `resume_form`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from markupsafe import Markup

from ldnkit.analytics.charts import symptom_chart_svg, symptom_chart_text
from ldnkit.domain.diary import DiaryEntry, MergeConflict
from ldnkit.domain.response import ResponseAssessment
from ldnkit.domain.titration import EARLIEST
from ldnkit.knowledge import knowledge_base
from ldnkit.knowledge.limits import limits
from ldnkit.knowledge.protocols import protocol_book
from ldnkit.knowledge.response import response_texts, say
from ldnkit.services import resume
from ldnkit.services.diary import BeforePlan, DayChanged, combined, delete_day, save_day
from ldnkit.services.export import plan_calendar
from ldnkit.services.progress import patient_view, plan_of, planned_dose
from ldnkit.store.records import DiaryRecord
from ldnkit.validation import InputError, Problem, show
from ldnkit.web.deps import CheckedForm, PatientSession, StoreDep, WrongRole, posted_form
from ldnkit.web.forms import Form, diary_day, entry_from_form, merge_choice
from ldnkit.web.render import calendar_file, page
from ldnkit.web.security import (
    CSRF_FIELD,
    SESSION_COOKIE,
    LoginRequired,
    Session,
    browser_session,
    check_csrf,
    clinic_today,
    set_resume_cookie,
)
from ldnkit.web.words import said_all, said_by_field

router = APIRouter(prefix="/me", include_in_schema=False)


def _own_id(session: Session) -> int:
    assert session.actor.patient_id is not None  # a patient account always has its record
    return session.actor.patient_id


def _values_of(entry: DiaryEntry) -> dict[str, Any]:
    """The diary form's fields filled from a stored entry."""
    values: dict[str, Any] = {
        "taken": "yes" if entry.dose_mg is not None else "",
        "dose_mg": "" if entry.dose_mg is None else f"{entry.dose_mg:g}",
        "dose_time": entry.dose_time.strftime("%H:%M") if entry.dose_time else "",
        "pain": str(entry.pain),
        "fatigue": str(entry.fatigue),
        "sleep_quality": str(entry.sleep_quality),
        "mood": "" if entry.mood is None else str(entry.mood),
        "side_effects": [r.id for r in entry.side_effects],
        "note": entry.note,
    }
    for report in entry.side_effects:
        values[f"severity_{report.id}"] = report.severity
    return values


def _posted_values(form: Form) -> dict[str, Any]:
    values: dict[str, Any] = form.values()
    values["side_effects"] = form.getlist("side_effects")
    return values


def _day_form(
    request: Request,
    store: StoreDep,
    session: Session,
    day: dt.date,
    *,
    values: Mapping[str, Any] | None = None,
    edit_of: str = "",
    errors: Mapping[str, str] | None = None,
    conflict: MergeConflict | None = None,
    before_plan: BeforePlan | None = None,
    message: str | None = None,
    status_code: int = 200,
) -> Response:
    """The diary form for `day`: what was posted (when given), else what the day holds."""
    pid = _own_id(session)
    today = clinic_today(request)
    stored: DiaryRecord | None = store.diary_day(session.actor, pid, day)
    dose = planned_dose(store.current_plan(session.actor, pid), day)
    if values is None:
        values = (
            _values_of(stored.entry)
            if stored
            else {"taken": "yes", "dose_mg": "" if dose is None else f"{dose:g}"}
        )
        edit_of = stored.version if stored else ""
    context = {
        "day": day,
        "today": today,
        "is_today": day == today,
        "previous": day - dt.timedelta(days=1) if day > EARLIEST else None,
        "next": day + dt.timedelta(days=1) if day < today else None,
        "planned": dose,
        "stored": stored,
        "edit_of": edit_of,
        "values": values,
        "errors": errors or {},
        "conflict": conflict,
        "combined": combined(conflict.existing, conflict.incoming) if conflict else None,
        "before_plan": before_plan,
        "message": message,
        "side_effects": knowledge_base().side_effects,
        "dose_max": f"{limits().ldn_dose.hard_max.mg:g}",
    }
    return page(request, "today.html", context, status_code=status_code)


@router.get("/today")
def today_page(
    request: Request, store: StoreDep, session: PatientSession, day: str | None = None
) -> Response:
    today = clinic_today(request)
    chosen = diary_day(day, today)
    if chosen is None:
        return _day_form(
            request,
            store,
            session,
            today,
            message=said_all([_day_problem(day, today)]),
            status_code=422,
        )
    return _day_form(request, store, session, chosen)


def _day_problem(raw: str | None, today: dt.date) -> Problem:
    return Problem("day", show(raw), f"a date from the calendar, today ({today}) or before")


def save_diary_form(request: Request, store: StoreDep, session: Session, form: Form) -> Response:
    """Save a posted diary form as the signed-in patient (also a form kept across sign-in)."""
    pid = _own_id(session)
    today = clinic_today(request)
    values = _posted_values(form)
    day = diary_day(form.get("day"), today) or today
    edit_of = form.get("edit_of")
    try:
        planned = planned_dose(store.current_plan(session.actor, pid), day)
        entry = entry_from_form(form, planned, today)
        saved = save_day(
            store,
            session.actor,
            pid,
            entry,
            merge_choice(form),
            today=today,
            edit_of=edit_of or None,
            before_plan_confirmed=form.get("before_plan") == "yes",
        )
    except InputError as exc:
        errors = said_by_field(exc.problems)
        return _day_form(request, store, session, day, values=values, edit_of=edit_of,
                         errors=errors, status_code=422)  # fmt: skip
    except MergeConflict as exc:
        return _day_form(request, store, session, day, values=values, edit_of=edit_of,
                         conflict=exc, status_code=409)  # fmt: skip
    except BeforePlan as exc:
        return _day_form(request, store, session, day, values=values, edit_of=edit_of,
                         before_plan=exc, status_code=409)  # fmt: skip
    outcome = "saved" if saved.changed else "unchanged"
    return RedirectResponse(
        f"/me/progress?{outcome}={saved.entry.day.isoformat()}", status_code=303
    )


@router.post("/today")
def save_today(
    request: Request, store: StoreDep, form: Annotated[Form, Depends(posted_form)]
) -> Response:
    session = browser_session(store, request)
    if session is None:
        return keep_expired_form(request, store, form, "/me/today")
    request.state.session = session
    check_csrf(session.csrf, form.get(CSRF_FIELD))
    if session.actor.role != "patient":
        raise WrongRole
    return save_diary_form(request, store, session, form)


def keep_expired_form(request: Request, store: StoreDep, form: Form, path: str) -> Response:
    """A form that came after its session ended: kept for its owner, who signs in again."""
    fields = {k: v for k, v in form.fields.items() if k != CSRF_FIELD}
    token = resume.keep_form(
        store, request.cookies.get(SESSION_COOKIE), form.get(CSRF_FIELD), fields, path
    )
    if token is None:  # not shown to be the form of the session the browser names
        raise LoginRequired
    response = RedirectResponse("/login?kept=1", status_code=303)
    set_resume_cookie(response, request, token)
    return response


def resume_form(request: Request, store: StoreDep, session: Session, token: str) -> Response | None:
    """After signing in: the kept form of this account saved (or shown with what it needs)."""
    kept = resume.take_form(store, token, session.actor)
    if kept is None or kept.path != "/me/today" or session.actor.role != "patient":
        return None
    request.state.session = session
    return save_diary_form(request, store, session, Form(kept.fields))


@router.post("/today/delete")
def delete_today(
    request: Request, store: StoreDep, session: PatientSession, form: CheckedForm
) -> Response:
    """Delete a day's entry: it is kept as an earlier version, nothing is lost."""
    today = clinic_today(request)
    day = diary_day(form.get("day"), today)
    if day is None:
        raise InputError([_day_problem(form.get("day"), today)])
    try:
        deleted = delete_day(store, session.actor, _own_id(session), day, form.get("version"))
    except DayChanged:
        return _day_form(
            request,
            store,
            session,
            day,
            message="This day changed since you opened it (on another phone or by your "
            "clinician). Here is what it holds now; nothing was deleted.",
            status_code=409,
        )
    outcome = "deleted" if deleted else "unchanged"
    return RedirectResponse(f"/me/progress?{outcome}={day.isoformat()}", status_code=303)


@router.get("/plan")
def my_plan(request: Request, store: StoreDep, session: PatientSession) -> Response:
    saved = store.current_plan(session.actor, _own_id(session))
    protocols = {p.id: p.name for p in protocol_book().protocols}
    context = {
        "plan": plan_of(saved),
        "saved": saved,
        "protocol_name": protocols.get(saved.protocol, "") if saved else "",
    }
    return page(request, "my_plan.html", context)


@router.get("/plan.ics")
def my_plan_ics(store: StoreDep, session: PatientSession) -> Response:
    return calendar_file(plan_calendar(store, session.actor, _own_id(session)))


def how_it_is_going(a: ResponseAssessment) -> list[tuple[str, tuple[str, ...]]]:
    """What the patient reads about their response, with sources: the early text before the
    recommendation day, then the text of their status; and the diary days still needed."""
    texts = response_texts().patient
    windows = limits().response
    said: list[tuple[str, tuple[str, ...]]] = []
    if a.status == "too_few_entries":
        said.append((texts.too_few, ()))
        if a.baseline_source is None:
            needed = windows.min_baseline_entries.entries
            lookback = windows.baseline_lookback.days
            text = say(
                texts.baseline_needed, entries=needed, days=lookback, have=a.baseline_entries
            )
            said.append((text, ()))
        if a.latest_entries < windows.min_latest_entries.entries:
            needed, days = windows.min_latest_entries.entries, windows.latest_window.days
            text = say(texts.latest_needed, entries=needed, days=days, have=a.latest_entries)
            said.append((text, ()))
    if a.recommendation.action == "too_early":
        early = texts.too_early
        text = early.render(day=a.days_on_treatment, due=a.recommendation.due.isoformat())
        said.append((text, early.sources))
    elif a.status != "too_few_entries":
        status = {"responding": texts.responding, "partial": texts.partial}.get(
            a.status, texts.not_responding
        )
        said.append((status.render(), status.sources))
    return said


def _progress_message(query: Mapping[str, str]) -> str | None:
    words = {
        "saved": "Saved your entry for {day}.",
        "unchanged": "Nothing changed: your saved entry for {day} stays as it was.",
        "deleted": "Deleted your entry for {day}. A copy is kept in your record's history.",
    }
    for key, text in words.items():
        try:
            day = dt.date.fromisoformat(query.get(key, ""))
        except ValueError:
            continue
        return text.format(day=day.isoformat())
    return None


@router.get("/progress")
def my_progress(request: Request, store: StoreDep, session: PatientSession) -> Response:
    view = patient_view(store, session.actor, _own_id(session), clinic_today(request))
    recent = view.entries[-60:]
    a = view.assessment
    context = {
        "view": view,
        "chart": Markup(symptom_chart_svg(recent, view.steps, title="My pain, fatigue and sleep")),  # noqa: S704 (SVG built with escaped text)
        "chart_text": symptom_chart_text(recent, view.steps),
        "message": _progress_message(request.query_params),
        "entries": list(reversed(view.records[-14:])),
        "going": how_it_is_going(a) if a else [],
    }
    return page(request, "progress.html", context)
