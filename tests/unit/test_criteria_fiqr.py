"""FIQR scoring against hand-worked cases (Bennett 2009), missing answers and severity bands."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from ldnkit.domain.criteria import FIQR_ITEMS, FiqrResult, evaluate


def answers(
    function: Sequence[float | None],
    overall: Sequence[float | None],
    symptoms: Sequence[float | None],
) -> dict[str, Any]:
    return {"function": function, "overall": overall, "symptoms": symptoms}


def fiqr(data: dict[str, Any]) -> FiqrResult:
    result = evaluate("fiqr", data)
    assert isinstance(result, FiqrResult)
    return result


def bands(result: FiqrResult) -> dict[str, str | None]:
    return {s.scheme: s.band for s in result.severity}


def test_all_tens_score_100() -> None:
    result = fiqr(answers([10] * 9, [10] * 2, [10] * 10))
    assert (result.function, result.overall, result.symptoms, result.total) == (30, 20, 50, 100)
    assert (result.valid, result.prorated, result.missing) == (True, False, ())


def test_all_zeros_score_0() -> None:
    result = fiqr(answers([0] * 9, [0] * 2, [0] * 10))
    assert (result.function, result.overall, result.symptoms, result.total) == (0, 0, 0, 0)
    assert bands(result) == {"salaffi-2018": "remission", "salaffi-2021": "remission"}


def test_mixed_answers_worked_by_hand() -> None:
    # Function: 2*8 + 1 = 17, / 3 = 5.667 -> 5.7.  Overall: 6 + 7 = 13.
    # Symptoms: 7+6+5+4+3+2+1+0+9+8 = 45, / 2 = 22.5.  Total: 17/3 + 13 + 22.5 = 41.1667 -> 41.2.
    result = fiqr(answers([2] * 8 + [1], [6, 7], [7, 6, 5, 4, 3, 2, 1, 0, 9, 8]))
    assert (result.function, result.overall, result.symptoms, result.total) == (
        5.7,
        13,
        22.5,
        41.2,
    )
    # 41.2 is mild for Salaffi 2018 (> 30 to 45) but moderate for Salaffi 2021 (41-63).
    assert bands(result) == {"salaffi-2018": "mild", "salaffi-2021": "moderate"}


def test_total_is_rounded_half_up_from_the_exact_score() -> None:
    # One function item unanswered: 6 * 9/8 = 6.75, / 3 = 2.25 exactly; half up gives 2.3
    # (Python's round(2.25, 1) would give 2.2).
    result = fiqr(answers([6, 0, 0, 0, 0, 0, 0, 0, None], [0, 0], [0] * 10))
    assert (result.function, result.total) == (2.3, 2.3)


def test_one_unanswered_function_item_is_prorated_and_still_valid() -> None:
    # 8 answers of 2 = 16, weighted 9/8 = 18, / 3 = 6.
    result = fiqr(answers([2] * 8 + [None], [0, 0], [0] * 10))
    assert (result.function, result.total) == (6, 6)
    assert (result.valid, result.prorated, result.missing) == (True, True, ("function[8]",))
    function = result.domains[0]
    assert (function.answered, function.unanswered, function.prorated) == (8, (8,), True)


def test_one_unanswered_symptom_is_prorated_but_invalid_for_fiqr_info() -> None:
    # 9 answers of 4 = 36, weighted 10/9 = 40, / 2 = 20.
    result = fiqr(answers([0] * 9, [0, 0], [None] + [4] * 9))
    assert (result.symptoms, result.total) == (20, 20)
    assert (result.valid, result.prorated) == (False, True)
    cited = {s for n in result.notes for s in n.sources}
    assert {"fiqr-myalgia-scoring", "fiqr-info-scoring"} <= cited


def test_one_unanswered_overall_item_doubles_the_other() -> None:
    result = fiqr(answers([0] * 9, [8, None], [0] * 10))
    assert (result.overall, result.total, result.valid) == (16, 16, False)


def test_two_unanswered_items_in_a_domain_leave_the_total_unscored() -> None:
    result = fiqr(answers([5] * 7 + [None, None], [5, 5], [5] * 10))
    assert (result.function, result.total) == (None, None)
    assert (result.overall, result.symptoms) == (10, 25)
    assert not result.valid
    assert bands(result) == {"salaffi-2018": None, "salaffi-2021": None}
    assert result.missing == ("function[7]", "function[8]")


@pytest.mark.parametrize(
    ("overall", "symptoms", "total", "salaffi_2018", "salaffi_2021"),
    [
        ([0, 0], [5] * 6 + [4] * 4, 23, "remission", "remission"),
        ([0, 0], [5] * 7 + [4] * 3, 23.5, "remission", "remission"),
        ([0, 0], [5] * 8 + [4] * 2, 24, "remission", "mild"),
        ([0, 0], [6] * 10, 30, "remission", "mild"),
        ([0, 0], [6] * 9 + [7], 30.5, "mild", "mild"),
        ([10, 0], [6] * 10, 40, "mild", "mild"),
        ([10, 1], [6] * 10, 41, "mild", "moderate"),
        ([10, 5], [6] * 10, 45, "mild", "moderate"),
        ([10, 5], [6] * 9 + [7], 45.5, "moderate", "moderate"),
        ([10, 10], [9] * 6 + [8] * 4, 63, "moderate", "moderate"),
        ([10, 10], [9] * 8 + [8] * 2, 64, "moderate", "severe"),
        ([10, 10], [9] * 10, 65, "moderate", "severe"),
        ([10, 10], [9] * 9 + [10], 65.5, "severe", "severe"),
    ],
)
def test_severity_band_edges_in_both_schemes(
    overall: list[float], symptoms: list[float], total: float, salaffi_2018: str, salaffi_2021: str
) -> None:
    result = fiqr(answers([0] * 9, overall, symptoms))
    assert result.total == total
    assert bands(result) == {"salaffi-2018": salaffi_2018, "salaffi-2021": salaffi_2021}


@pytest.mark.parametrize(
    ("function", "total", "salaffi_2021"),
    [
        ([4] * 9, 82, "severe"),  # 36 / 3 = 12; 12 + 20 + 50
        ([4] * 8 + [6], 82.7, "severe"),  # 38 / 3 = 12.667
        ([4] * 8 + [7], 83, "very severe"),  # 39 / 3 = 13
    ],
)
def test_very_severe_starts_at_83(function: list[float], total: float, salaffi_2021: str) -> None:
    result = fiqr(answers(function, [10, 10], [10] * 10))
    assert result.total == total
    assert bands(result) == {"salaffi-2018": "severe", "salaffi-2021": salaffi_2021}


def test_item_texts_follow_the_questionnaire() -> None:
    assert [len(FIQR_ITEMS[d]) for d in ("function", "overall", "symptoms")] == [9, 2, 10]
    assert FIQR_ITEMS["function"][0] == "Brush or comb your hair"
    assert FIQR_ITEMS["symptoms"][0] == "Pain"
