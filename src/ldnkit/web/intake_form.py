"""The intake and profile form: a new patient, or a correction of one, read and checked at once.

Every field is checked on the server and every problem is reported together, in the words of
the form: its label, what is wrong, what to do. Nothing typed is dropped without a word: a
medication date without a name, a score outside 0-10, fatigue without the pain score the
baseline needs, a planned procedure already past, a last dose after today are all refused.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from ldnkit.domain.profile import PatientProfile
from ldnkit.domain.response import Intake
from ldnkit.knowledge.limits import limits
from ldnkit.services.accounts import Login, parse_login
from ldnkit.store.records import PatientRecord
from ldnkit.validation import InputError, problems_from, show
from ldnkit.web.forms import Form, today
from ldnkit.web.messages import FieldMessage, quoted, worded

MEDICATION_ROWS = 4
PROCEDURE_ROWS = 1
MAX_ROWS = 50
NAME_MAX = 200
SCORES = (("pain", "Pain"), ("fatigue", "Fatigue"), ("sleep_quality", "Sleep quality"))
HEALTH_LABELS = {
    "sex": "Sex",
    "liver": "Liver",
    "kidney": "Kidney",
    "alcohol": "Alcohol",
    "pregnant": "Pregnant",
    "breastfeeding": "Breastfeeding",
}
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


def rows(raw: object, default: int) -> int:
    """How many rows of a kind the form has; the count is posted back, so anything may come."""
    text = str(raw or "")
    if not text.isascii() or not text.isdecimal():
        return default
    # Never int() of many digits: past 4,300 it raises instead of converting.
    return min(int(text), MAX_ROWS) if len(text) <= 3 else MAX_ROWS


def new_token() -> str:
    """The token an intake form carries, so that sending it twice adds one patient."""
    return secrets.token_urlsafe(24)


def _token(form: Form) -> str | None:
    raw = form.get("intake_token")
    return raw if _TOKEN.match(raw) else None


@dataclass
class _Lines:
    """Form rows or text lines kept, and where each came from (to name it in a message)."""

    items: list[Any] = field(default_factory=list)
    origin: list[int] = field(default_factory=list)

    def add(self, item: Any, where: int) -> None:
        self.items.append(item)
        self.origin.append(where)


@dataclass(frozen=True)
class IntakeForm:
    """What an intake or profile form holds once read: all of it, or every problem with it."""

    name: str
    profile: PatientProfile
    scores: dict[str, float] | None
    login: Login | None
    token: str | None
    messages: list[FieldMessage]


def _day(raw: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        return None  # the profile's own check names the field and what a date looks like


def _medications(form: Form, messages: list[FieldMessage]) -> _Lines:
    found = _Lines()
    as_of = _day(form.get("as_of").strip()) or today()
    for i in range(rows(form.get("med_rows"), MEDICATION_ROWS)):
        name = form.get(f"med_name_{i}").strip()
        last = form.get(f"med_last_dose_{i}").strip()
        label = f"Medication {i + 1}" + (f" ({name})" if name else "")
        if not name:
            if last:
                messages.append(
                    FieldMessage(
                        f"med_name_{i}",
                        label,
                        "a last dose is filled in without a name; enter the medication's "
                        "name, or clear the date.",
                    )
                )
            continue
        med: dict[str, Any] = {"name": name, "status": form.get(f"med_status_{i}") or "active"}
        if last:
            med["last_dose"] = last
            day = _day(last)
            if day is not None and day > today():
                messages.append(
                    FieldMessage(
                        f"med_last_dose_{i}",
                        f"{label}, last dose",
                        f"{day} is after today; enter the day the last dose was taken "
                        "(today or earlier), or leave it empty if it is not known.",
                    )
                )
            elif day is not None and day > as_of:
                messages.append(
                    FieldMessage(
                        f"med_last_dose_{i}",
                        f"{label}, last dose",
                        f"{day} is after the day the screen is for (Screen as of, {as_of}); "
                        "correct the last dose or the Screen as of date.",
                    )
                )
        found.add(med, i)
    return found


def _procedures(form: Form, messages: list[FieldMessage]) -> _Lines:
    found = _Lines()
    for i in range(rows(form.get("proc_rows"), PROCEDURE_ROWS)):
        raw = form.get(f"proc_date_{i}").strip()
        name = form.optional(f"proc_name_{i}")
        label = f"Planned procedure {i + 1}" + (f" ({name})" if name else "")
        if not raw:
            if name:
                messages.append(
                    FieldMessage(
                        f"proc_date_{i}",
                        f"{label}, date",
                        "please enter the date of the procedure, or clear its name.",
                    )
                )
            continue
        day = _day(raw)
        if day is not None and day < today():
            messages.append(
                FieldMessage(
                    f"proc_date_{i}",
                    f"{label}, date",
                    f"{day} is in the past, and a planned procedure is still to come; enter "
                    "its date, or clear it. For an operation already done, record the opioids "
                    "given for it under Medications (stopped, with the last dose).",
                )
            )
        found.add(
            {"date": raw, "name": name, "opioids_expected": form.get(f"proc_opioids_{i}") != "no"},
            i,
        )
    return found


def _lines(text: str) -> _Lines:
    found = _Lines()
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            found.add(line.strip(), number)
    return found


def _scores(form: Form, messages: list[FieldMessage]) -> dict[str, float] | None:
    """The intake scores (the response baseline): none, or pain with any of the others."""
    scale = limits().diary.score
    given: dict[str, float] = {}
    for key, label in SCORES:
        raw = form.get(f"intake_{key}").strip()
        if not raw:
            continue
        try:
            value = float(raw)
        except ValueError:
            value = float("nan")
        if not scale.min <= value <= scale.max:  # NaN fails both comparisons
            messages.append(
                FieldMessage(
                    f"intake_{key}",
                    f"{label} at intake",
                    f"{quoted(show(raw))} is not on the {scale.min:g} to {scale.max:g} scale; "
                    f"enter a number from {scale.min:g} to {scale.max:g}, or leave it empty.",
                )
            )
            continue
        given[key] = value
    if not given:
        return None
    if "pain" not in given and not any(m.name == "intake_pain" for m in messages):
        messages.append(
            FieldMessage(
                "intake_pain",
                "Pain at intake",
                "please enter pain too: the baseline is pain first, and fatigue or sleep "
                "quality without it would not be used. Or clear them.",
            )
        )
        return None
    # The domain's model of intake scores is the judge of what a baseline may hold.
    return Intake.model_validate(given).model_dump(exclude_none=True)


def _locate(
    meds: _Lines, procedures: _Lines, conditions: _Lines, allergies: _Lines
) -> Callable[[str], tuple[str, str] | None]:
    """Where a problem the profile found belongs on the form, and the label it goes by."""
    by_field = {
        "name": ("name", "Name"),
        "age": ("age", "Age"),
        "as_of": ("as_of", "Screen as of"),
        "email": ("email", "Patient login, email"),
        "password": ("password", "Patient login, password"),
        "medications": ("med_name_0", "Medications"),
        "planned_procedures": ("proc_date_0", "Planned procedures"),
        "conditions": ("conditions", "Conditions"),
        "allergies": ("allergies", "Allergies"),
        **{key: (key, label) for key, label in HEALTH_LABELS.items()},
    }
    med_inputs = {"name": "med_name", "status": "med_status", "last_dose": "med_last_dose"}
    med_parts = {"name": "", "status": ", status", "last_dose": ", last dose"}

    def locate(path: str) -> tuple[str, str] | None:
        if path in by_field:
            return by_field[path]
        found = re.match(r"^(\w+)\[(\d+)\](?:\.(\w+))?", path)
        if not found:
            return None
        kind, index, part = found.group(1), int(found.group(2)), found.group(3) or ""
        if kind == "medications" and index < len(meds.origin):
            row = meds.origin[index]
            label = f"Medication {row + 1} ({meds.items[index]['name']})"
            return f"{med_inputs.get(part, 'med_name')}_{row}", label + med_parts.get(part, "")
        if kind == "planned_procedures" and index < len(procedures.origin):
            row = procedures.origin[index]
            return f"proc_date_{row}", f"Planned procedure {row + 1}, date"
        if kind in ("conditions", "allergies"):
            lines = conditions if kind == "conditions" else allergies
            if index < len(lines.origin):
                return kind, f"{kind.capitalize()}, line {lines.origin[index]}"
        return None

    return locate


def read_intake(form: Form, *, with_login: bool) -> IntakeForm:
    """The form read whole: name, profile, intake scores, login; every problem at once."""
    messages: list[FieldMessage] = []
    name = form.get("name").strip()
    if not name or len(name) > NAME_MAX:
        messages.append(
            FieldMessage(
                "name",
                "Name",
                f"please enter the patient's name (1 to {NAME_MAX} characters)."
                if not name
                else f"it is {len(name)} characters long; shorten it to {NAME_MAX}.",
            )
        )
    meds = _medications(form, messages)
    procedures = _procedures(form, messages)
    conditions, allergies = _lines(form.get("conditions")), _lines(form.get("allergies"))
    data: dict[str, Any] = {
        "as_of": form.optional("as_of") or today().isoformat(),
        "sex": form.get("sex") or "unknown",
        "conditions": conditions.items,
        "medications": meds.items,
        "allergies": allergies.items,
        "liver": form.get("liver") or "unknown",
        "kidney": form.get("kidney") or "unknown",
        "alcohol": form.get("alcohol") or "unknown",
        "planned_procedures": procedures.items,
    }
    if form.optional("age"):
        data["age"] = form.get("age").strip()
    for flag in ("pregnant", "breastfeeding"):
        answer = form.get(flag) or "unknown"
        # "not recorded" stays absent: the screen never reads a missing answer as "no".
        data[flag] = {"yes": True, "no": False}.get(answer, None if answer == "unknown" else answer)
        if data[flag] is None:
            del data[flag]
    locate = _locate(meds, procedures, conditions, allergies)
    profile = PatientProfile()
    try:
        profile = PatientProfile.model_validate(data)
    except ValidationError as exc:
        messages.extend(worded(problems_from(exc), locate))
    scores = _scores(form, messages)
    login = None
    if with_login and form.optional("email"):
        try:
            login = parse_login(
                Login, {"email": form.get("email"), "password": form.get("password")}
            )
        except InputError as exc:
            messages.extend(worded(exc.problems, locate))
    # One message per input: a field the form checked itself is not reported twice.
    seen: set[str] = set()
    unique = []
    for message in messages:
        if message.name not in seen:
            seen.add(message.name)
            unique.append(message)
    return IntakeForm(name, profile, scores, login, _token(form), unique)


def form_values(record: PatientRecord) -> dict[str, Any]:
    """The form's fields filled from a saved patient (the inverse of `read_intake`)."""
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
    for i, procedure in enumerate(procedures):
        values[f"proc_date_{i}"] = procedure["date"]
        values[f"proc_name_{i}"] = procedure.get("name") or ""
        values[f"proc_opioids_{i}"] = "yes" if procedure.get("opioids_expected") else "no"
    values["proc_rows"] = str(len(procedures) + 1)
    for key, score in (record.intake or {}).items():
        values[f"intake_{key}"] = f"{score:g}"
    return values
