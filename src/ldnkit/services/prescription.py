"""The current plan as a prescription to sign and hand over: one PDF, typeset by typst.

Clinic and prescriber, the patient, every step with its dose and how it is taken (capsules
per dose or mL of liquid), what to dispense for the supply period, the safety screen the start
was checked against (its earliest start, and any override with its reason), the warnings the
patient must know, the sources, and a line to sign. The data goes to the template as data
(`ldnkit.analytics.pdf`), so any character a name or a reason holds prints as written.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from ldnkit.analytics.pdf import render_pdf
from ldnkit.domain.formulation import CapsuleCount, CapsuleSupply, LiquidSupply, dispense
from ldnkit.domain.titration import Adjustment, Plan, PlanRequest
from ldnkit.export.printable import screen_lines
from ldnkit.knowledge import knowledge_base
from ldnkit.knowledge.protocols import protocol_book
from ldnkit.services.progress import plan_of
from ldnkit.store.access import NotFound
from ldnkit.store.records import Actor, PatientRecord, SavedPlan
from ldnkit.store.repository import Store

TEMPLATE = "prescription"
TIMES = "\u00d7"  # the multiplication sign, as in "2 x 1.5 mg" typeset


def _mg(value: float) -> str:
    return f"{value:g} mg"


def _capsules(counts: tuple[CapsuleCount, ...]) -> str:
    total = sum(c.count for c in counts)
    parts = " + ".join(f"{c.count} {TIMES} {_mg(c.strength_mg)}" for c in counts)
    return f"{parts} capsule{'s' if total > 1 else ''}"


def _each_dose(plan: Plan, supply: CapsuleSupply | LiquidSupply | None) -> dict[str, str]:
    """How each step's dose is taken, by the step's first day (within the supply period)."""
    if isinstance(supply, LiquidSupply):
        return {s.start.isoformat(): f"{s.dose_ml:g} mL" for s in supply.steps}
    if isinstance(supply, CapsuleSupply):
        return {s.start.isoformat(): _capsules(s.per_dose) for s in supply.steps}
    return {}


def _dispense(supply: CapsuleSupply | LiquidSupply | None) -> dict[str, Any] | None:
    if isinstance(supply, CapsuleSupply):
        return {
            "title": f"Dispense: capsules for {supply.days} days ({supply.start} to {supply.end})",
            "lines": [
                f"{c.count} {TIMES} naltrexone {_mg(c.strength_mg)} immediate-release capsules"
                for c in supply.totals
            ],
            "notes": [n.text for n in supply.notes],
        }
    if isinstance(supply, LiquidSupply):
        beyond = "; ".join(f"{b.days} days {b.label}" for b in supply.beyond_use)
        return {
            "title": f"Dispense: liquid for {supply.days} days ({supply.start} to {supply.end})",
            "lines": [
                f"{supply.tablets} {TIMES} naltrexone {_mg(supply.tablet_mg)} "
                f"tablet{'s' if supply.tablets > 1 else ''}, each "
                f"dissolved in {supply.volume_ml:g} mL "
                f"({supply.concentration_mg_per_ml:g} mg per mL)",
                f"{supply.recipe_name}: {supply.recipe_text}",
                f"Container: {supply.container}. Use within {beyond} of making it; "
                "a fresh tablet's liquid is made when one runs short or reaches that date.",
            ],
            "notes": list(supply.warnings),
        }
    return None


def _adjustment(a: Adjustment) -> str:
    head = f"{a.kind.replace('-', ' ').capitalize()} from {a.on}"
    if a.kind == "procedure-hold":
        head += f": no LDN from {a.on}, " + (
            f"restart on {a.resumes_on}" if a.resumes_on else "restart date to be set"
        )
    return f"{head}. {a.message}"


def _patient(record: PatientRecord) -> dict[str, str]:
    profile = record.profile
    age = profile.get("age")
    sex = profile.get("sex", "unknown")
    details = [f"age {age}" if age is not None else "age not recorded"]
    if sex != "unknown":
        details.append(sex)
    return {"name": record.name, "details": ", ".join(details), "id": str(record.id)}


def _sources(ids: list[str]) -> list[str]:
    sources = knowledge_base().sources
    return [
        f"[{i}] {sources[s].citation}" + (f" {sources[s].link}" if sources[s].link else "")
        for i, s in enumerate(ids, start=1)
        if s in sources
    ]


def prescription_data(
    record: PatientRecord,
    saved: SavedPlan,
    plan: Plan,
    request: PlanRequest,
    prescriber: dict[str, str],
    clinic: str | None,
    issued: dt.date,
) -> dict[str, Any]:
    """What the prescription prints, as data for its template."""
    supply = (
        dispense(plan, request.dispensing, allow_above_5mg=request.allow_above_5mg)
        if request.dispensing is not None
        else None
    )
    each = _each_dose(plan, supply)
    form = "oral liquid" if request.form == "liquid" else "capsules"
    notes = protocol_book().plan_notes
    cited = dict.fromkeys(plan.sources)
    for note in notes:
        cited.update(dict.fromkeys(note.sources))
    for a in plan.adjustments:
        cited.update(dict.fromkeys(a.sources))
    screen = (
        screen_lines(saved.check, saved.override)
        if saved.check
        else ["Safety screen: this plan was saved before plans were checked against the screen."]
    )
    return {
        "clinic": clinic,
        "prescriber": prescriber,
        "issued": issued.isoformat(),
        "patient": _patient(record),
        "medicine": f"Naltrexone hydrochloride, low dose (LDN), {form}",
        "summary": (
            f"{plan.protocol.capitalize()} titration from {plan.steps[0].start}, target "
            f"{_mg(plan.target_mg)} once a day"
        ),
        "steps": [
            {
                "from": s.start.isoformat(),
                "to": s.end.isoformat() if s.end else "onwards",
                "dose": _mg(s.dose_mg),
                "time": s.time,
                "each": each.get(s.start.isoformat(), ""),
                "note": s.note or "",
            }
            for s in plan.steps
        ],
        "adjustments": [_adjustment(a) for a in plan.adjustments],
        "dispense": _dispense(supply),
        "screen": screen,
        "overridden": saved.override is not None,
        "warnings": [n.text for n in notes],
        "sources": _sources(list(cited)),
    }


def plan_prescription(
    store: Store, actor: Actor, patient_id: int, issued: dt.date, clinic: str | None = None
) -> bytes:
    """The patient's current plan as a prescription PDF (NotFound without a plan)."""
    record = store.patient(actor, patient_id)
    saved = store.current_plan(actor, patient_id)
    plan = plan_of(saved)
    if saved is None or plan is None:
        raise NotFound(f"plan of patient {patient_id}")
    request = PlanRequest.model_validate(saved.request)
    prescriber = {"name": store.clinician_name(actor) or actor.email, "email": actor.email}
    data = prescription_data(record, saved, plan, request, prescriber, clinic, issued)
    return render_pdf(TEMPLATE, data)
