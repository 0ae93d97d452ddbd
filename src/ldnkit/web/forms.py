"""Posted forms to domain input: every form field is read here, and nowhere else.

Each function turns one form (or part of one) into the JSON-like data or model a service
takes; a bad field becomes a Problem naming it, in the words of the page it is on. The
intake form, the largest, has a module of its own (`ldnkit.web.intake_form`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from ldnkit.domain.criteria import FIQR_ITEMS
from ldnkit.domain.diary import MERGE_POLICIES, DiaryEntry, MergePolicy
from ldnkit.domain.titration import EARLIEST, LATEST, PlanRequest
from ldnkit.validation import InputError, Problem, input_error

NOTE_MAX_CHARS = 20000


def today() -> dt.date:
    return dt.date.today()


M = TypeVar("M", bound=BaseModel)


def parse(model: type[M], data: Any) -> M:
    """The model from form or JSON data; InputError naming every bad field."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise input_error(exc) from None


@dataclass
class Form:
    """A posted form as plain strings; a missing field reads as ''."""

    fields: dict[str, list[str]] = field(default_factory=dict)

    def get(self, name: str) -> str:
        values = self.fields.get(name)
        return values[0] if values else ""

    def getlist(self, name: str) -> list[str]:
        return self.fields.get(name, [])

    def optional(self, name: str) -> str | None:
        value = self.get(name).strip()
        return value or None

    @classmethod
    def of(cls, values: dict[str, str]) -> Form:
        """A form holding these values, as if they had been posted."""
        return cls({k: [v] for k, v in values.items()})

    def values(self, *leave_out: str) -> dict[str, Any]:
        """The first value of each field, to fill the form again (`leave_out`: never sent back)."""
        return {k: v[0] for k, v in self.fields.items() if k not in leave_out}


# -- visit notes ---------------------------------------------------------------------------


def note_text(form: Form) -> str:
    """A visit note as typed (kept verbatim), 1 to 20000 characters."""
    text = form.get("text")
    if not text.strip() or len(text) > NOTE_MAX_CHARS:
        raise InputError.single("text", text[:40], f"a note of 1 to {NOTE_MAX_CHARS} characters")
    return text


# -- plan builder ---------------------------------------------------------------------------


DEFAULT_SUPPLY_DAYS = 60


def plan_data(form: Form) -> dict[str, Any]:
    """The plan builder's form as a plan request's data (validated by `plan_request`)."""
    data: dict[str, Any] = {
        "protocol": form.get("protocol") or "standard",
        "start": form.get("start").strip() or None,
        "allow_above_5mg": form.get("allow_above_5mg") == "yes",
    }
    for name in ("start_dose_mg", "step_mg", "interval_days", "target_mg"):
        if data["protocol"] == "custom" and form.optional(name):
            data[name] = form.get(name).strip()
    if form.get("time") in ("bedtime", "morning"):
        data["time"] = form.get("time")
    dispensing: dict[str, Any] = {
        "form": form.get("dose_form") or "capsules",
        "days": form.optional("supply_days") or DEFAULT_SUPPLY_DAYS,
    }
    if dispensing["form"] == "liquid":
        for name in ("tablet_mg", "volume_ml", "recipe"):
            dispensing[name] = form.optional(name)
    data["dispensing"] = dispensing
    changes: dict[str, Any] = {
        name: form.optional(name) for name in ("step_back_on", "morning_from")
    }
    if form.optional("procedure_date"):
        changes["procedure"] = {
            "date": form.optional("procedure_date"),
            "opioids_stop": form.optional("opioids_stop"),
            "hold_days": form.optional("hold_days"),
        }
    elif form.optional("opioids_stop") or form.optional("hold_days"):
        changes["procedure"] = {"date": None}  # refused as a missing procedure date
    if any(v is not None for v in changes.values()):
        data["changes"] = changes
    return data


def plan_request(form: Form) -> PlanRequest:
    request: PlanRequest = parse(PlanRequest, plan_data(form))
    return request


def override_reason(form: Form) -> str | None:
    """The clinician's reason, only when the override box is ticked: never implied."""
    return form.get("override_reason") if form.get("override") == "yes" else None


# -- criteria calculators ------------------------------------------------------------------


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
        # Asked as yes, no or not assessed: left unanswered, it is reported as not assessed.
        if form.get("symptoms_half_the_time") in ("yes", "no"):
            data["symptoms_half_the_time"] = form.get("symptoms_half_the_time") == "yes"
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
        # A tick box: unticked is "no" for 2011 (as for 2010); 2016 needs it only when given.
        if name == "acr2011" or form.get("other_explanation") in ("yes", "no"):
            data["other_explanation"] = form.get("other_explanation") == "yes"
    return data


def chosen_patient(raw: str) -> int:
    """The patient id a form's list posted back (a record id is at most 18 digits)."""
    if not raw.isascii() or not raw.isdecimal() or len(raw) > 18:
        raise InputError.single("patient_id", raw, "one of your patients, chosen from the list")
    return int(raw)


def taken_on(form: Form) -> dt.date:
    """The day a questionnaire was taken (today when left empty)."""
    taken = form.optional("taken_on") or today().isoformat()
    try:
        return dt.date.fromisoformat(taken)
    except ValueError:
        raise InputError.single("taken_on", taken, "a date YYYY-MM-DD") from None


# -- the patient's diary ------------------------------------------------------------------


def diary_day(text: str | None, last: dt.date | None = None) -> dt.date | None:
    """The day a diary form is about (`last`, today, when none is given), when it is a date a
    diary entry may have: from the calendar's start to `last`."""
    last = last or today()
    try:
        day = dt.date.fromisoformat(text.strip()) if text and text.strip() else last
    except ValueError:
        return None
    # The page links to the day before; a day at the calendar's end would overflow.
    return day if EARLIEST <= day <= min(last, LATEST) else None


def entry_from_form(
    form: Form, planned: float | None = None, day: dt.date | None = None
) -> DiaryEntry:
    """A diary entry from the patient's form (for `day`, today, when it names none); each bad
    field becomes its own problem."""
    data: dict[str, Any] = {"day": form.get("day").strip() or (day or today()).isoformat()}
    for name in ("pain", "fatigue", "sleep_quality", "mood"):
        value = form.get(name).strip()
        if value:
            data[name] = value
    problems: list[Problem] = []
    if form.get("taken") == "yes":
        data["dose_mg"] = form.get("dose_mg").strip() or planned
        if data["dose_mg"] is None:  # ticked, with no dose typed and none planned
            problems.append(Problem("dose_mg", "nothing", "the dose you took, in mg"))
            data.pop("dose_mg")
        else:
            data["dose_time"] = form.optional("dose_time")
    effects = []
    for effect_id in form.getlist("side_effects"):
        severity = form.get(f"severity_{effect_id}") or "mild"
        effects.append({"id": effect_id, "severity": severity})
    data["side_effects"] = effects
    data["note"] = form.get("note")
    try:
        entry: DiaryEntry = parse(DiaryEntry, data)
    except InputError as exc:
        raise InputError(problems + exc.problems) from None
    if problems:
        raise InputError(problems)
    return entry


def merge_choice(form: Form) -> MergePolicy | None:
    how = form.get("how")
    if how in ("", "none"):
        return None
    for policy in MERGE_POLICIES:
        if how == policy:
            return policy
    raise InputError.single("how", how, "one of " + ", ".join(MERGE_POLICIES))
