"""Bad calculator input becomes one clear problem per field, never a traceback."""

from __future__ import annotations

from typing import Any

import pytest

from ldnkit.domain.criteria import Acr2010Result, evaluate
from ldnkit.validation import InputError

GOOD_2010: dict[str, Any] = {
    "pain_areas": ["neck", "lower_back", "hip_left", "hip_right", "chest", "jaw_left", "abdomen"],
    "fatigue": 2,
    "waking_unrefreshed": 2,
    "cognitive": 1,
    "somatic": 1,
    "duration_months": 4,
    "other_explanation": False,
}


def problems(name: str, data: Any) -> dict[str, str]:
    with pytest.raises(InputError) as caught:
        evaluate(name, data)
    return {p.field: str(p) for p in caught.value.problems}


def test_unknown_name_lists_the_calculators() -> None:
    assert problems("acr2099", GOOD_2010) == {
        "name": 'name: got "acr2099"; expected one of acr2010, acr2011, acr2016, fiqr, iom2015'
    }


def test_unknown_pain_area_names_its_position_and_the_expected_ids() -> None:
    found = problems("acr2010", GOOD_2010 | {"pain_areas": ["neck", "knee"]})
    assert list(found) == ["pain_areas[1]"]
    message = found["pain_areas[1]"]
    assert message.startswith('pain_areas[1]: got "knee"; expected one of shoulder_girdle_left')
    assert message.endswith("lower_back or neck")


def test_a_repeated_pain_area_is_refused_with_both_positions() -> None:
    found = problems("acr2016", GOOD_2010 | {"pain_areas": ["hip_left", "neck", "hip_left"]})
    assert "hip_left is at pain_areas[0] and pain_areas[2]" in found["pain_areas"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (4, "expected a number at most 3"),
        (-1, "expected a number at least 0"),
        (True, "expected a whole number from 0 to 3"),
        (2.5, "expected a whole number from 0 to 3"),
        ("a lot", "expected a whole number"),
    ],
)
def test_symptom_scores_must_be_whole_numbers_0_to_3(value: Any, expected: str) -> None:
    assert expected in problems("acr2010", GOOD_2010 | {"fatigue": value})["fatigue"]


def test_a_whole_float_score_is_accepted() -> None:
    result = evaluate("acr2010", GOOD_2010 | {"fatigue": 2.0})
    assert isinstance(result, Acr2010Result)
    assert result.sss == 6


def test_negative_duration_is_refused() -> None:
    found = problems("acr2010", GOOD_2010 | {"duration_months": -1})
    assert found == {"duration_months": "duration_months: got -1; expected a number at least 0"}


def test_every_problem_is_reported_at_once() -> None:
    data = dict(GOOD_2010)
    del data["somatic"]
    data |= {"pregnent": True, "cognitive": 9, "other_explanation": "perhaps"}
    found = problems("acr2010", data)
    assert set(found) == {"somatic", "pregnent", "cognitive", "other_explanation"}
    assert found["pregnent"] == "pregnent: got true; expected no such field (check the spelling)"
    assert found["somatic"] == "somatic: got nothing; expected a value (this field is required)"


def test_the_2010_somatic_rating_is_not_accepted_by_2016() -> None:
    found = problems("acr2016", GOOD_2010)
    assert "no such field" in found["somatic"]
    assert {"headache", "lower_abdominal_pain", "depression"} <= set(found)


def test_input_that_is_not_an_object_is_one_problem() -> None:
    assert list(problems("iom2015", [1, 2, 3])) == ["input"]


def test_fiqr_domains_must_have_their_number_of_answers() -> None:
    found = problems("fiqr", {"function": [1] * 8, "overall": [1, 1], "symptoms": [1] * 11})
    assert "9 answers, each 0-10 or null when unanswered (got 8)" in found["function"]
    assert "10 answers, each 0-10 or null when unanswered (got 11)" in found["symptoms"]
    assert "overall" not in found


@pytest.mark.parametrize(
    ("value", "expected"),
    [(11, "expected a number at most 10"), (True, "expected a number from 0 to 10, or null")],
)
def test_fiqr_answers_are_0_to_10(value: Any, expected: str) -> None:
    data = {"function": [1, 1, 1, value, 1, 1, 1, 1, 1], "overall": [1, 1], "symptoms": [1] * 10}
    assert expected in problems("fiqr", data)["function[3]"]


def test_iom_months_must_be_a_number() -> None:
    data = {
        "reduced_activity_months": "seven",
        "fatigue_not_relieved_by_rest": True,
        "pem": True,
        "unrefreshing_sleep": True,
        "cognitive_impairment": True,
        "orthostatic_intolerance": True,
    }
    assert "expected a number" in problems("iom2015", data)["reduced_activity_months"]
