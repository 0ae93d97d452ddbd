"""The visit brief: what a patient hands a doctor about their LDN, as one PDF.

The plan, adherence, the pain/fatigue/sleep chart, side effects by name, the response with its
95% intervals and the recommendation, each clinical sentence with its numbered sources. Built
from the same course the patient and clinician pages show (`ldnkit.services.progress`), so the
brief never says something the pages do not; typeset by typst from `analytics/templates/
visit_brief.typ` with the data passed as data. Reading it is audited like every read of the
record, and the download has an audit line of its own.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from ldnkit.analytics.charts import symptom_chart_svg
from ldnkit.analytics.pdf import render_pdf
from ldnkit.domain.response import ResponseAssessment
from ldnkit.knowledge import knowledge_base
from ldnkit.knowledge.limits import limits
from ldnkit.knowledge.protocols import protocol_book
from ldnkit.services.progress import PatientView, patient_view, plan_of
from ldnkit.store.records import Actor
from ldnkit.store.repository import Store

DISCLAIMER = (
    "Prepared by ldnkit from the patient's own diary. ldnkit supports clinical decisions; it "
    "does not replace the prescriber's judgement."
)
STATUS_WORDS = {
    "responding": "responding",
    "partial": "partly responding",
    "not_responding": "not responding",
    "too_few_entries": "too few diary entries to judge",
}
ACTION_WORDS = {
    "continue": "continue",
    "reassess": "reassess with the prescriber",
    "consider_stopping": "consider stopping",
    "too_early": "too early to judge",
}
MEASURE_WORDS = {"pain": "Pain", "fatigue": "Fatigue", "sleep_quality": "Sleep quality",
                 "mood": "Mood"}  # fmt: skip


class _Citations:
    """Source ids numbered in the order the brief first cites them."""

    def __init__(self) -> None:
        self.order: dict[str, int] = {}

    def marks(self, ids: tuple[str, ...] | list[str]) -> list[int]:
        return [self.order.setdefault(i, len(self.order) + 1) for i in ids]

    def references(self) -> list[dict[str, Any]]:
        kb = knowledge_base()
        out = []
        for source_id, number in self.order.items():
            source = kb.sources.get(source_id)
            citation = source.citation if source else source_id
            link = ""
            if source is not None:
                link = source.url or (f"https://doi.org/{source.doi}" if source.doi else "")
            out.append({"n": number, "citation": citation, "link": link})
        return out


def _plan(view: PatientView, cite: _Citations) -> dict[str, Any] | None:
    saved, plan = view.plan, plan_of(view.plan)
    if saved is None or plan is None:
        return None
    names = {p.id: p.name for p in protocol_book().protocols}
    return {
        "protocol": names.get(saved.protocol, saved.protocol),
        "start": saved.start.isoformat(),
        "current_dose": None if view.current_dose is None else f"{view.current_dose:g} mg",
        "steps": [
            {
                "from": str(s["start"]),
                "to": str(s["end"]) if s.get("end") else "onwards",
                "dose": f"{float(s['dose_mg']):g} mg",
                "time": str(s.get("time", "")),
            }
            for s in saved.steps
        ],
        "marks": cite.marks(list(plan.sources)),
    }


def _response(a: ResponseAssessment, cite: _Citations) -> dict[str, Any]:
    measures = []
    for name, m in a.measures.items():
        low, high = m.ci_absolute
        measures.append(
            {
                "measure": MEASURE_WORDS.get(name, name),
                "baseline": f"{m.baseline:.1f}",
                "latest": f"{m.latest:.1f}",
                "change": f"{m.absolute_change:+.1f}"
                + (f" ({m.percent_change:+.0f}%)" if m.percent_change is not None else ""),
                "interval": f"{low:+.1f} to {high:+.1f}",
                "category": (m.category or "").replace("_", " "),
            }
        )
    reasons = [{"text": r.text, "marks": cite.marks(list(r.sources))}
               for r in a.recommendation.reasons]  # fmt: skip
    suggestion = a.morning_dose_suggestion
    return {
        "status": STATUS_WORDS.get(a.status, a.status),
        "day": a.days_on_treatment,
        "baseline": {"diary": "diary days before the start", "intake": "the intake scores"}.get(
            a.baseline_source or "", "none yet"
        ),
        "latest_from": a.latest_from.isoformat(),
        "measures": measures,
        "missing": list(a.missing),
        "sustained": None
        if a.first_sustained_30pct_day is None
        else f"{a.first_sustained_30pct_day} (day {a.days_to_sustained_30pct})",
        "action": ACTION_WORDS.get(a.recommendation.action, a.recommendation.action),
        "due": a.recommendation.due.isoformat(),
        "reasons": reasons,
        "suggestion": None
        if suggestion is None
        else {"text": suggestion.message, "marks": cite.marks(list(suggestion.sources))},
        "adherence": {
            "doses": a.adherence.days_dose_taken,
            "diary_days": a.adherence.days_with_entry,
            "days": a.adherence.days_in_period,
            "doses_pct": None
            if a.adherence.adherence_pct is None
            else f"{a.adherence.adherence_pct:.0f}%",
            "diary_pct": f"{a.adherence.completeness_pct:.0f}%",
        },
        "side_effects": [
            {
                "name": c.name,
                "days": c.days_reported,
                "first": c.first_day.isoformat(),
                "last": c.last_day.isoformat(),
                "worst": c.worst_severity,
                "ongoing": c.ongoing,
                "marks": cite.marks(list(c.sources)),
            }
            for c in a.side_effect_timeline
        ],
        "immpact": {"text": a.notes[0].text, "marks": cite.marks(list(a.notes[0].sources))}
        if a.notes
        else None,
    }


def visit_brief_data(store: Store, actor: Actor, patient_id: int, today: dt.date) -> dict[str, Any]:
    """What the brief prints, as JSON-ready data."""
    view = patient_view(store, actor, patient_id, today)
    cite = _Citations()
    lookback = limits().response.baseline_lookback.days
    since = view.plan.start - dt.timedelta(days=lookback) if view.plan else None
    shown = [e for e in view.entries if since is None or e.day >= since]
    chart = symptom_chart_svg(shown, view.steps, width=640, title="Pain, fatigue and sleep")
    a = view.assessment
    return {
        "patient": view.record.name,
        "prepared": today.isoformat(),
        "diary_days": len(view.entries),
        "plan": _plan(view, cite),
        "chart": chart,
        "response": _response(a, cite) if a else None,
        "references": cite.references(),
        "disclaimer": DISCLAIMER,
    }


def visit_brief_pdf(store: Store, actor: Actor, patient_id: int, today: dt.date) -> bytes:
    """The visit brief as a PDF; the download is audited."""
    data = visit_brief_data(store, actor, patient_id, today)
    store.record_download(actor, patient_id, "visit brief (PDF)")
    return render_pdf("visit_brief", data)
