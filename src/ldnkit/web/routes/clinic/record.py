"""One patient's record for their clinician: the patient page, the printable summary, the diary
as CSV, visit notes and the audit trail."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, RedirectResponse, Response
from markupsafe import Markup

from ldnkit.analytics.charts import fiqr_chart_svg, symptom_chart_svg, symptom_chart_text
from ldnkit.domain.diary import DiaryEntry
from ldnkit.services import audit
from ldnkit.services.courses import course_view
from ldnkit.services.export import diary_spreadsheet
from ldnkit.services.progress import PatientView, patient_view, plan_of
from ldnkit.store.records import Actor
from ldnkit.store.repository import Store
from ldnkit.web.citations import Citations
from ldnkit.web.deps import CheckedForm, ClinicianSession, StoreDep
from ldnkit.web.forms import note_text
from ldnkit.web.profile_view import profile_lines
from ldnkit.web.render import page

router = APIRouter(prefix="/clinic", include_in_schema=False)


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
        "profile": profile_lines(view.record),
        "screening": screenings[0] if screenings else None,
        "plan": plan_of(view.plan),
        "chart": Markup(symptom_chart_svg(view.entries, view.steps)),  # noqa: S704 (escaped SVG)
        "chart_text": symptom_chart_text(view.entries, view.steps),
        "fiqr_chart": Markup(fiqr_chart_svg(fiqr)) if fiqr else None,  # noqa: S704
        "notes": store.notes(actor, patient_id),
        "questionnaires": list(reversed(questionnaires)),
        # The newest eight weeks; the whole diary is one click away as CSV.
        "entries": list(reversed(view.records))[:56],
        "course": course_view(store, actor, patient_id),
    }


@router.get("/patients/{patient_id}")
def patient_page(
    request: Request,
    store: StoreDep,
    session: ClinicianSession,
    patient_id: int,
    archived: bool = False,
    restored: bool = False,
) -> Response:
    context = _patient_context(store, session.actor, patient_id)
    if archived:
        context["message"] = "Archived: the record is kept and no longer in the patient list."
    elif restored:
        context["message"] = "Restored: the patient is back in the patient list."
    return page(request, "patient.html", context)


@router.get("/patients/{patient_id}/summary")
def print_summary(
    request: Request, store: StoreDep, session: ClinicianSession, patient_id: int
) -> Response:
    """One page to print: screen, plan, response and the last weeks of the diary."""
    context = _patient_context(store, session.actor, patient_id)
    context["entries"] = context["entries"][:14]  # two weeks: the page stays one A4 sheet
    context["chart"] = Markup(  # noqa: S704 (escaped SVG)
        symptom_chart_svg(view_entries_since(context["view"], 56), context["view"].steps)
    )
    context["cite"] = Citations()
    return page(request, "summary.html", context)


def view_entries_since(view: PatientView, days: int) -> list[DiaryEntry]:
    """The diary's last `days` days (the printed chart shows eight weeks, not the whole course)."""
    if not view.entries:
        return []
    last = max(e.day for e in view.entries)
    return [e for e in view.entries if (last - e.day).days < days]


@router.get("/patients/{patient_id}/diary.csv")
def diary_export(store: StoreDep, session: ClinicianSession, patient_id: int) -> Response:
    return PlainTextResponse(
        diary_spreadsheet(store, session.actor, patient_id),
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="diary-patient-{patient_id}.csv"'},
    )


@router.get("/patients/{patient_id}/audit")
def audit_page(
    request: Request,
    store: StoreDep,
    session: ClinicianSession,
    patient_id: int,
    kind: str = "",
    person: str = "",
) -> Response:
    """Who opened or changed the record, in words; filtered by kind and by person."""
    # Filters come from the address bar: anything else than a kind or an account id shows all.
    account = int(person) if person.isascii() and person.isdecimal() and len(person) < 10 else None
    trail = audit.patient_trail(
        store, session.actor, patient_id, kind=audit.kind_of(kind), person=account
    )
    record = store.patient(session.actor, patient_id)
    context = {
        "record": record,
        "trail": trail,
        "kinds": audit.KINDS,
        "person_name": audit.person_name,
    }
    return page(request, "audit.html", context)


@router.post("/patients/{patient_id}/notes")
def add_note(
    store: StoreDep, session: ClinicianSession, patient_id: int, form: CheckedForm
) -> Response:
    store.add_note(session.actor, patient_id, note_text(form))
    return RedirectResponse(f"/clinic/patients/{patient_id}#notes", status_code=303)
