"""The clinician's pages in words: calculator results and notes, profiles, problems with a
form, and the audit trail, never field keys or ids."""

from __future__ import annotations

import datetime as dt

import pytest

from ldnkit.domain.criteria import evaluate
from ldnkit.export.criteria_note import summarise
from ldnkit.services.audit import readable
from ldnkit.store.records import AuditGroup, PatientRecord
from ldnkit.validation import Problem
from ldnkit.web.messages import FieldMessage, advice, worded
from ldnkit.web.profile_view import condition_text, profile_lines

DAY = dt.date(2026, 11, 30)
AT = dt.datetime(2026, 11, 30, 9, 0, tzinfo=dt.UTC)
ACR = {
    "pain_areas": ["neck", "upper_back", "lower_back", "hip_left", "jaw_left", "chest"],
    "fatigue": 2,
    "waking_unrefreshed": 2,
    "cognitive": 1,
    "headache": True,
    "lower_abdominal_pain": False,
    "depression": False,
    "duration_months": 6,
    "other_explanation": True,
}


def _fiqr(value: float | None) -> dict[str, list[float | None]]:
    return {"function": [value] * 9, "overall": [value] * 2, "symptoms": [value] * 10}


def test_an_acr_2016_result_says_what_stands_in_the_way_in_words() -> None:
    summary = summarise("acr2016", evaluate("acr2016", ACR), ACR, DAY)
    assert summary.headline == "Criteria not met"
    assert summary.met is False
    assert summary.lines[0].startswith("Not met: Pain and symptom severity (WPI 6, SSS 6")
    assert "Not met: Generalized pain (2 of 5 regions with pain" in summary.lines[1]
    assert "not counted: Jaw, left; Chest" in summary.lines[1]
    assert "Polysymptomatic distress (FS/PSD) 12 of 31: severe (12-19)" in summary.lines
    for key in ("jaw_left", "other_explanation", "waking_unrefreshed", "pain_areas"):
        assert key not in summary.note
    assert "Another disorder would explain the pain: yes" in summary.note
    assert "Fatigue: 2 (moderate: considerable problems" in summary.note
    assert summary.note.startswith(
        "2016 revision of the 2010/2011 fibromyalgia criteria, 2026-11-30: criteria not met."
    )
    assert "Wolfe F, et al." in summary.note


def test_an_fiqr_result_places_the_total_in_both_severity_schemes() -> None:
    summary = summarise("fiqr", evaluate("fiqr", _fiqr(5)), _fiqr(5), DAY)
    assert summary.headline == "FIQR total 50 of 100"
    assert summary.met is None
    assert "Severity, Salaffi 2018 (4 bands): moderate (> 45 to 65)" in summary.lines
    assert "Severity, Salaffi 2021 (5 bands): moderate (41-63)" in summary.lines


def test_an_unanswered_fiqr_asks_for_what_is_left_and_places_no_band() -> None:
    answers = {**_fiqr(None), "function": [3.0] + [None] * 8}
    summary = summarise("fiqr", evaluate("fiqr", answers), answers, DAY)
    assert summary.headline == "Not scored yet: 20 of 21 items are empty"
    assert summary.lines[0] == "Function: 1 of 9 answered (at most 1 may stay empty)"
    assert not any("Severity" in line for line in summary.lines)


def test_an_iom_result_says_when_the_frequency_was_not_assessed() -> None:
    answers = {
        "reduced_activity_months": 8,
        "fatigue_not_relieved_by_rest": True,
        "pem": True,
        "unrefreshing_sleep": True,
        "cognitive_impairment": False,
        "orthostatic_intolerance": True,
    }
    result = evaluate("iom2015", answers)
    summary = summarise("iom2015", result, answers, DAY)
    assert summary.headline == "Criteria met"
    assert "at moderate or greater intensity: not assessed" in summary.note
    note = next(n.text for n in result.notes if n.id == "iom-frequency-not-given")
    assert "symptoms_half_the_time" not in note


@pytest.mark.parametrize(
    ("typed", "shown"),
    [
        ("fibromyalgia", "Fibromyalgia (M79.7)"),
        ("M79.7", "Fibromyalgia (M79.7)"),
        ("95417003", "Fibromyalgia (SNOMED CT 95417003)"),
        ({"system": "icd10cm", "code": "M79.7"}, "Fibromyalgia (ICD-10-CM M79.7)"),
        ("green toe syndrome", "green toe syndrome (not recognised)"),
    ],
)
def test_conditions_are_named_with_their_code(typed: object, shown: str) -> None:
    assert condition_text(typed) == shown


def test_the_profile_shows_pregnancy_breastfeeding_and_the_baseline() -> None:
    record = PatientRecord(
        1,
        1,
        "Pat",
        {"age": 40, "sex": "female", "pregnant": False, "conditions": ["fibromyalgia"]},
        {"pain": 7.0, "sleep_quality": 3.5},
        AT,
    )
    lines = dict(profile_lines(record))
    assert lines["Pregnant"] == "no"
    assert lines["Breastfeeding"] == "not recorded"
    assert lines["Liver"] == "not recorded"
    assert lines["Conditions"] == "Fibromyalgia (M79.7)"
    assert lines["Baseline"] == "pain 7, sleep quality 3.5 (0-10, at intake)"


def test_a_problem_is_said_with_the_label_what_is_wrong_and_what_to_do() -> None:
    def locate(path: str) -> tuple[str, str]:
        return "age", "Age"

    [said] = worded([Problem("age", '"131"', "a number at most 130")], locate)
    assert said == FieldMessage(
        "age", "Age", "\u201c131\u201d cannot be used here; please enter a number at most 130."
    )
    assert advice(Problem("name", "nothing", "a value (this field is required)")) == (
        "please fill this in."
    )
    assert advice(Problem("reason", '"   "', "the reason")) == "please enter the reason."


def _group(what: str, count: int = 1, action: str = "read", **kw: object) -> AuditGroup:
    fields: dict[str, object] = {
        "day": DAY,
        "account_id": 2,
        "email": "ana@demo.test",
        "role": "patient",
        "action": action,
        "what": what,
        "detail": "",
        "count": count,
        "first_at": AT,
        "last_at": AT + dt.timedelta(minutes=count),
        **kw,
    }
    return AuditGroup(**fields)  # type: ignore[arg-type]


def test_the_trail_counts_list_views_and_gathers_a_sitting_of_diary_days() -> None:
    lines = readable(
        [
            _group("patient list", 14, email="doc@demo.test", role="clinician", account_id=1),
            *(_group(f"diary 2026-11-{d:02d}", action="write") for d in range(1, 29)),
            _group("plan started against the screen", action="write", detail="Reason: ok"),
        ]
    )
    texts = {line.text: line for line in lines}
    assert "viewed the patient list 14 times" in texts
    assert texts["viewed the patient list 14 times"].who == "doc@demo.test (clinician)"
    diary = texts["entered 28 diary days (2026-11-01 to 2026-11-28)"]
    assert diary.who == "ana@demo.test (patient)"
    assert diary.count == 28
    assert texts["started a plan against the safety screen"].detail == "Reason: ok"
    assert len(lines) == 3
