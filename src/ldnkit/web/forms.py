"""Posted forms to domain input: every form field is read here, and nowhere else.

Each function turns one form (or part of one) into the JSON-like data or model a service
takes; a bad field becomes a Problem naming it, in the words of the page it is on.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from ldnkit.domain.criteria import FIQR_ITEMS
from ldnkit.domain.diary import MERGE_POLICIES, DiaryEntry, MergePolicy
from ldnkit.domain.profile import PatientProfile
from ldnkit.domain.titration import EARLIEST, LATEST, PlanRequest
from ldnkit.services.accounts import Login, parse_login
from ldnkit.store.records import PatientRecord
from ldnkit.validation import InputError, Problem, input_error, show

MEDICATION_ROWS = 4
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

    def values(self, *leave_out: str) -> dict[str, Any]:
        """The first value of each field, to fill the form again (`leave_out`: never sent back)."""
        return {k: v[0] for k, v in self.fields.items() if k not in leave_out}


# -- intake: the patient's profile and login -----------------------------------------------


def med_rows(raw: object) -> int:
    """How many medication rows the form has; the field is posted back, so anything may come."""
    text = str(raw or "")
    if not text.isdecimal():
        return MEDICATION_ROWS
    # Never int() of many digits: past 4,300 it raises instead of converting.
    return min(int(text), 50) if len(text) <= 3 else 50


def profile_from_form(form: Form) -> dict[str, Any]:
    """The screening profile as JSON-like data from the intake form (validated separately)."""
    medications = []
    for i in range(med_rows(form.get("med_rows"))):
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


def checked_intake(form: Form) -> tuple[str, PatientProfile, list[Problem]]:
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


def checked_login(form: Form, problems: list[Problem]) -> Login | None:
    """The patient's own login when the form gives an email (the password exactly as typed)."""
    if not form.optional("email"):
        return None
    try:
        return parse_login(Login, {"email": form.get("email"), "password": form.get("password")})
    except InputError as exc:
        problems.extend(exc.problems)
        return None


def intake_scores(form: Form) -> dict[str, Any] | None:
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


def note_text(form: Form) -> str:
    """A visit note as typed (kept verbatim), 1 to 20000 characters."""
    text = form.get("text")
    if not text.strip() or len(text) > NOTE_MAX_CHARS:
        raise InputError.single("text", text[:40], f"a note of 1 to {NOTE_MAX_CHARS} characters")
    return text


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


def supply_days(form: Form) -> int:
    """Days of supply to count capsules for: 60 when left empty (not a number reads as 0, which
    the count refuses in its own words)."""
    try:
        return int(form.get("supply_days") or 60)
    except ValueError:
        return 0


def liquid_recipe(form: Form) -> tuple[float, float]:
    """The tablet strength (mg) and the volume of liquid (ml) it is dissolved in; 50 and 50."""
    return (
        _number(form, "tablet_mg", 50, "a tablet strength in mg, such as 50"),
        _number(form, "volume_ml", 50, "a volume in ml, such as 50"),
    )


def _number(form: Form, name: str, default: float, expected: str) -> float:
    raw = form.get(name).strip()
    if not raw:
        return default
    try:
        return float(raw)
    except ValueError:
        raise InputError.single(name, raw, expected) from None


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
