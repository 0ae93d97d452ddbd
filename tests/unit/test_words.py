"""Problems in people's words: the field by its label, what to do next, never a field key."""

from __future__ import annotations

import pytest

from ldnkit.domain.diary import DiaryEntry
from ldnkit.validation import InputError, Problem
from ldnkit.web.forms import Form, entry_from_form, parse
from ldnkit.web.words import said, said_all, said_by_field


@pytest.mark.parametrize(
    ("field", "label"),
    [
        ("pain", "Pain"),
        ("fatigue", "Fatigue"),
        ("sleep_quality", "Sleep quality"),
        ("mood", "Mood"),
    ],
)
def test_a_missing_or_out_of_range_score_asks_for_a_number_from_0_to_10(
    field: str, label: str
) -> None:
    for problem in (
        Problem(field, "nothing", "a value (this field is required)"),
        Problem(field, '"11"', "a number at most 10"),
    ):
        assert said(problem) == f"{label}: please choose a number from 0 to 10."


def test_a_diary_form_with_every_mistake_is_worded_field_by_field() -> None:
    form = Form({"pain": ["11"], "taken": ["yes"], "dose_mg": ["50"], "note": ["x" * 2001]})
    with pytest.raises(InputError) as caught:
        entry_from_form(form)
    words = said_by_field(caught.value.problems)
    assert words["pain"] == "Pain: please choose a number from 0 to 10."
    assert words["sleep_quality"] == "Sleep quality: please choose a number from 0 to 10."
    assert words["dose_mg"].startswith("Dose (mg): please enter an LDN dose of at most 12 mg")
    assert words["note"] == "Note: please enter text of at most 2000 characters."
    assert not any("_" in text.split(":")[0] for text in words.values())


def test_a_ticked_dose_without_a_number_or_a_plan_asks_for_the_dose() -> None:
    form = Form({"taken": ["yes"], "pain": ["3"], "fatigue": ["3"], "sleep_quality": ["3"]})
    with pytest.raises(InputError) as caught:
        entry_from_form(form)
    assert said_all(caught.value.problems) == "Dose (mg): please enter the dose you took, in mg."
    planned = entry_from_form(form, planned=1.5)
    assert planned.dose_mg == 1.5


def test_passwords_are_described_never_shown() -> None:
    problem = Problem("password", "a password of 5 characters", "a longer password")
    assert said(problem) == (
        "New password: a password of 5 characters cannot be used; please choose a longer password."
    )
    assert said(Problem("current_password", "a password that is not right", "x")).startswith(
        "Current password: that is not the password you sign in with now"
    )


def test_a_field_without_a_label_is_named_in_words() -> None:
    with pytest.raises(InputError) as caught:
        parse(DiaryEntry, {"day": "2026-11-02", "pain": 1, "fatigue": 1, "sleep_quality": 1,
                           "side_effects": [{"id": "no-such-effect"}]})  # fmt: skip
    text = said_all(caught.value.problems)
    assert text.startswith("Side effects: please enter a side effect id")
