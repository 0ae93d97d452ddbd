"""IOM 2015 ME/CFS criteria: every requirement, and each one failing on its own."""

from __future__ import annotations

from typing import Any

import pytest

from ldnkit.domain.criteria import Iom2015Result, evaluate

ALL_PRESENT: dict[str, Any] = {
    "reduced_activity_months": 7,
    "fatigue_not_relieved_by_rest": True,
    "pem": True,
    "unrefreshing_sleep": True,
    "cognitive_impairment": True,
    "orthostatic_intolerance": False,
}


def iom2015(data: dict[str, Any]) -> Iom2015Result:
    result = evaluate("iom2015", data)
    assert isinstance(result, Iom2015Result)
    return result


def passed(result: Iom2015Result) -> dict[str, bool]:
    return {c.id: c.passed for c in result.criteria}


def test_all_requirements_present_is_met() -> None:
    result = iom2015(ALL_PRESENT)
    assert result.met
    assert passed(result) == {
        "reduced-activity": True,
        "fatigue": True,
        "pem": True,
        "unrefreshing-sleep": True,
        "cognitive-or-orthostatic": True,
    }
    assert {"iom-2015", "cdc-mecfs-diagnosis"} <= set(result.sources)


@pytest.mark.parametrize(
    ("change", "failing"),
    [
        ({"reduced_activity_months": 6}, "reduced-activity"),
        ({"fatigue_not_relieved_by_rest": False}, "fatigue"),
        ({"pem": False}, "pem"),
        ({"unrefreshing_sleep": False}, "unrefreshing-sleep"),
        ({"cognitive_impairment": False}, "cognitive-or-orthostatic"),
    ],
)
def test_each_requirement_failing_alone_fails_the_criteria(
    change: dict[str, Any], failing: str
) -> None:
    result = iom2015(ALL_PRESENT | change)
    assert not result.met
    assert [c for c, ok in passed(result).items() if not ok] == [failing]


def test_six_months_exactly_is_not_more_than_six() -> None:
    result = iom2015(ALL_PRESENT | {"reduced_activity_months": 6})
    reduced = result.criteria[0]
    assert not reduced.passed
    assert reduced.detail == "6 months: not more than 6"
    assert iom2015(ALL_PRESENT | {"reduced_activity_months": 6.5}).met


def test_orthostatic_intolerance_alone_satisfies_the_either_or() -> None:
    data = ALL_PRESENT | {"cognitive_impairment": False, "orthostatic_intolerance": True}
    result = iom2015(data)
    assert result.met
    assert result.criteria[-1].detail == "present: orthostatic intolerance"


def test_frequency_is_a_note_when_not_given_and_a_criterion_when_given() -> None:
    unknown = iom2015(ALL_PRESENT)
    assert "frequency-severity" not in passed(unknown)
    assert "iom-frequency-not-given" in {n.id for n in unknown.notes}

    rare = iom2015(ALL_PRESENT | {"symptoms_half_the_time": False})
    assert not rare.met
    assert passed(rare)["frequency-severity"] is False

    often = iom2015(ALL_PRESENT | {"symptoms_half_the_time": True})
    assert often.met
    assert not often.notes
