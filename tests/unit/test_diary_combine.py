"""Combine, defined: each score the average of the saved and the newer answer, a half going
toward the newer one, so combining two different answers never leaves the saved one as it was."""

from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from ldnkit.domain.diary import DiaryEntry, combined_score, merge_entries

SCORES = st.integers(min_value=0, max_value=10)
DAY = dt.date(2026, 11, 2)


@given(SCORES, SCORES)
def test_a_combined_score_lies_between_the_two_answers(saved: int, newer: int) -> None:
    assert min(saved, newer) <= combined_score(saved, newer) <= max(saved, newer)


@given(SCORES, SCORES)
def test_combining_two_different_answers_always_moves_toward_the_newer(
    saved: int, newer: int
) -> None:
    result = combined_score(saved, newer)
    if saved == newer:
        assert result == saved
    else:
        assert result != saved
        assert abs(result - newer) <= abs(result - saved)


def test_halves_go_toward_the_newer_answer_whichever_way() -> None:
    assert combined_score(5, 4) == 4  # half-up rounding kept the 5: nothing changed
    assert combined_score(4, 5) == 5
    assert combined_score(3, 6) == 5
    assert combined_score(6, 3) == 4
    assert combined_score(2, 6) == 4


def test_combining_a_lower_score_changes_the_day() -> None:
    saved = DiaryEntry(day=DAY, pain=5, fatigue=4, sleep_quality=6)
    newer = DiaryEntry(day=DAY, pain=4, fatigue=4, sleep_quality=7)
    combined = merge_entries(saved, newer, "combine")
    assert combined != saved
    assert (combined.pain, combined.fatigue, combined.sleep_quality) == (4, 4, 7)
