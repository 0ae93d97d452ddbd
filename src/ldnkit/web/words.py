"""Problems in people's words: the field by the label its page shows, and what to do next.

`Problem` keeps the field's path and what was received and expected, which the JSON API and the
command line print as they are. A page shows the same problem as a sentence a tired person can
act on: "Sleep quality: please choose a number from 0 to 10." -- never a field key.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from ldnkit.knowledge.limits import limits
from ldnkit.validation import Problem

# The labels of the fields on the pages this module words (the diary, sign-in and passwords).
LABELS: dict[str, str] = {
    "day": "Day",
    "dose_mg": "Dose (mg)",
    "dose_time": "Time of the dose",
    "pain": "Pain",
    "fatigue": "Fatigue",
    "sleep_quality": "Sleep quality",
    "mood": "Mood",
    "side_effects": "Side effects",
    "note": "Note",
    "how": "What to do with the saved entry",
    "email": "Email",
    "password": "New password",
    "password_again": "New password again",
    "current_password": "Current password",
    "code": "Code",
    "remind_at": "Reminder time",
    "csrf_token": "The form",
    "patient_id": "Patient",
    "name": "Name",
}
# 0-10 scales answered by tapping a number.
SCALES = frozenset({"pain", "fatigue", "sleep_quality", "mood"})
# Fields whose received value describes the password, never shows it.
PASSWORDS = frozenset({"password", "current_password"})


def field_key(problem: Problem) -> str:
    """The form field a problem is about (the top of its path)."""
    return problem.field.split(".")[0].split("[")[0]


def label_of(key: str, labels: Mapping[str, str] = LABELS) -> str:
    """The field's label; a field without one is named in words, never by its key."""
    return labels.get(key) or key.replace("_", " ").strip().capitalize() or "This answer"


def said(problem: Problem, labels: Mapping[str, str] = LABELS) -> str:
    """One problem as a sentence naming the field by its label and saying what to do."""
    key = field_key(problem)
    label = label_of(key, labels)
    expected = problem.expected.rstrip(".")
    if key in SCALES:
        scale = limits().diary.score
        return f"{label}: please choose a number from {scale.min} to {scale.max}."
    if key == "current_password":
        return f"{label}: that is not the password you sign in with now; please type it again."
    if key == "password_again":
        return f"{label}: please type the same new password twice."
    if key in PASSWORDS:
        return f"{label}: {problem.received} cannot be used; please choose {expected}."
    return f"{label}: please enter {expected}."


def said_by_field(
    problems: Iterable[Problem], labels: Mapping[str, str] = LABELS
) -> dict[str, str]:
    """The first problem of each field in words, as a form shows it beside the field."""
    out: dict[str, str] = {}
    for problem in problems:
        out.setdefault(field_key(problem), said(problem, labels))
    return out


def said_all(problems: Iterable[Problem], labels: Mapping[str, str] = LABELS) -> str:
    """Every problem in words, one sentence each (an error page's text)."""
    return " ".join(dict.fromkeys(said(p, labels) for p in problems))
