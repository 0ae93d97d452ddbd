"""Response assessment: hand-computed diaries and what `assess` must say about them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ldnkit.domain.bootstrap import block_length
from ldnkit.domain.diary import DiaryEntry
from ldnkit.domain.response import Intake, assess, immpact_category
from ldnkit.knowledge.files import read_data

START = dt.date(2026, 1, 5)


def day(n: int) -> dt.date:
    return START + dt.timedelta(n)


def diary(
    first: int,
    pains: Sequence[int],
    *,
    fatigue: int = 5,
    sleep: int = 5,
    dose: float | None = 1.5,
    dose_time: str | None = "22:00",
    side_effects: Sequence[dict[str, str]] = (),
) -> list[DiaryEntry]:
    """Consecutive entries from day `first`; days before the start have no dose."""
    out = []
    for i, pain in enumerate(pains):
        n = first + i
        taken = dose if n >= 0 else None
        out.append(
            DiaryEntry.model_validate(
                {
                    "day": day(n),
                    "dose_mg": taken,
                    "dose_time": dose_time if taken is not None else None,
                    "pain": pain,
                    "fatigue": fatigue,
                    "sleep_quality": sleep,
                    "side_effects": list(side_effects) if n >= 0 else [],
                }
            )
        )
    return out


def baseline(pain: int = 5, days: int = 14, **kw: object) -> list[DiaryEntry]:
    return diary(-days, [pain] * days, **kw)  # type: ignore[arg-type]


def test_flat_series_shows_no_change_and_a_zero_width_interval() -> None:
    entries = baseline(6) + diary(0, [6] * 30)
    result = assess(entries, START, day(29))
    pain = result.measures["pain"]
    assert (pain.baseline, pain.latest, pain.absolute_change, pain.percent_change) == (6, 6, 0, 0)
    assert pain.ci_absolute == (0.0, 0.0)
    assert pain.category == "no_change"
    assert not pain.clear
    assert result.status == "not_responding"


def test_40_percent_drop_in_pain_is_moderate_and_responding() -> None:
    entries = baseline(5) + diary(0, [5] * 16 + [3] * 14)
    result = assess(entries, START, day(29))
    pain = result.measures["pain"]
    assert (pain.baseline, pain.latest) == (5.0, 3.0)
    assert pain.absolute_change == -2.0
    assert pain.percent_change == -40.0
    assert pain.improvement_pct == 40.0
    assert pain.category == "moderate"
    assert result.status == "responding"


def test_55_percent_drop_from_intake_is_substantial() -> None:
    # Latest 14 days: seven 4s and seven 5s, mean 4.5 against an intake of 10: 55% better.
    result = assess(diary(0, [4, 5] * 7), START, day(13), intake=Intake(pain=10))
    pain = result.measures["pain"]
    assert result.baseline_source == "intake"
    assert pain.latest == 4.5
    assert pain.improvement_pct == 55.0
    assert pain.category == "substantial"


def test_sleep_quality_is_better_higher() -> None:
    entries = baseline(5, sleep=4) + diary(0, [5] * 14, sleep=6)
    sleep = assess(entries, START, day(13)).measures["sleep_quality"]
    assert sleep.better == "higher"
    assert sleep.percent_change == 50.0
    assert sleep.improvement_pct == 50.0
    assert sleep.category == "substantial"


def test_pain_rising_by_a_fifth_is_worse() -> None:
    entries = baseline(5) + diary(0, [6] * 14)
    result = assess(entries, START, day(13))
    assert result.measures["pain"].improvement_pct == -20.0
    assert result.measures["pain"].category == "worse"
    assert result.status == "not_responding"


@pytest.mark.parametrize(
    ("improvement", "category"),
    [
        (9.9, "no_change"),
        (10, "minimal"),
        (20, "minimal"),
        (25, "minimal"),
        (29.99, "minimal"),
        (30, "moderate"),
        (49.9, "moderate"),
        (50, "substantial"),
        (-9.9, "no_change"),
        (-10, "worse"),
    ],
)
def test_immpact_bands_count_the_20_to_30_gap_as_minimal(improvement: float, category: str) -> None:
    assert immpact_category(improvement) == category


def test_first_sustained_30_percent_day_is_the_first_day_of_two_weeks_past_the_threshold() -> None:
    # Baseline 5; pain 3 from treatment day 10. The 7-day mean first reaches 3.5 (30% better)
    # when six of its days are 3s: day 15 ((6 * 3 + 5) / 7 = 3.29; day 14 is 25 / 7 = 3.57).
    entries = baseline(5) + diary(0, [5] * 10 + [3] * 30)
    result = assess(entries, START, day(39))
    assert result.first_sustained_30pct_day == day(15)
    assert result.days_to_sustained_30pct == 15


def test_a_single_good_week_is_not_sustained() -> None:
    entries = baseline(5) + diary(0, [5] * 10 + [3] * 10 + [5] * 14)
    assert assess(entries, START, day(33)).first_sustained_30pct_day is None


def test_too_few_baseline_days_without_intake_says_what_is_missing() -> None:
    entries = baseline(5, days=6) + diary(0, [4] * 14)
    result = assess(entries, START, day(13))
    assert result.status == "too_few_entries"
    assert result.measures == {}
    (missing,) = result.missing
    assert "7 diary days in the 28 days before the start date (have 6)" in missing
    assert result.bootstrap is None


def test_intake_scores_stand_in_for_a_missing_baseline() -> None:
    entries = baseline(5, days=6) + diary(0, [3] * 14)
    result = assess(entries, START, day(13), intake=Intake(pain=5, fatigue=5))
    assert result.baseline_source == "intake"
    assert result.measures["pain"].improvement_pct == 40.0
    assert "sleep_quality" not in result.measures  # no intake value, no comparison


def test_fewer_than_10_of_the_latest_14_days_is_too_few() -> None:
    entries = baseline(5) + diary(0, [3] * 9)
    result = assess(entries, START, day(13))
    assert result.status == "too_few_entries"
    assert result.missing == (
        "10 entries in the latest 14 days (2026-01-05 to 2026-01-18; have 9)",
    )


def test_entries_after_as_of_are_ignored() -> None:
    entries = baseline(5) + diary(0, [5] * 14) + diary(14, [1] * 14)
    assert assess(entries, START, day(13)).measures["pain"].latest == 5.0


def test_adherence_counts_doses_on_diary_days_and_diary_completeness() -> None:
    taken = diary(0, [5] * 16)
    missed = diary(16, [5] * 2, dose=None)
    result = assess(baseline() + taken + missed, START, day(19))
    adherence = result.adherence
    assert (adherence.days_in_period, adherence.days_with_entry) == (20, 18)
    assert adherence.days_dose_taken == 16
    assert adherence.adherence_pct == round(16 / 18 * 100, 2)
    assert adherence.completeness_pct == 90.0


def test_steps_from_the_plan_summarise_each_dose() -> None:
    entries = (
        baseline(6)
        + diary(0, [6] * 14)
        + diary(14, [5] * 14, dose=3)
        + diary(28, [3] * 6, dose=4.5)
    )
    steps = [(day(0), day(13), 1.5), (day(14), day(27), 3.0), (day(28), None, 4.5)]
    result = assess(entries, START, day(33), steps=steps)
    assert [(s.dose_mg, s.entries, s.doses_as_planned, s.pain) for s in result.steps] == [
        (1.5, 14, 14, 6.0),
        (3.0, 14, 14, 5.0),
        (4.5, 6, 6, 3.0),
    ]
    assert result.steps[2].pain_improvement_pct == 50.0
    assert not result.steps[0].inferred


def test_without_plan_steps_are_read_from_the_recorded_doses() -> None:
    entries = baseline(6) + diary(0, [6] * 14) + diary(14, [5] * 14, dose=3)
    result = assess(entries, START, day(27))
    assert [(s.start, s.end, s.dose_mg, s.inferred) for s in result.steps] == [
        (day(0), day(13), 1.5, True),
        (day(14), None, 3.0, True),
    ]


# -- side effects and the morning suggestion ---------------------------------------------------

INSOMNIA = [{"id": "insomnia", "severity": "moderate"}]


def test_sleep_effect_persisting_past_the_first_week_suggests_morning_dosing() -> None:
    entries = baseline() + diary(0, [5] * 10, side_effects=INSOMNIA)
    result = assess(entries, START, day(9))
    suggestion = result.morning_dose_suggestion
    assert suggestion is not None
    assert suggestion.side_effects == ("insomnia",)
    assert (suggestion.since, suggestion.days) == (day(0), 10)
    assert suggestion.evidence == "lay sources only"
    assert set(suggestion.sources) == {"seed-001", "prescriber-dosing-sheets"}
    assert set(suggestion.sources) <= set(result.sources)


def test_sleep_effect_within_the_first_week_brings_no_suggestion() -> None:
    entries = baseline() + diary(0, [5] * 7, side_effects=INSOMNIA)
    assert assess(entries, START, day(6)).morning_dose_suggestion is None


def test_sleep_effect_that_stopped_brings_no_suggestion() -> None:
    entries = baseline() + diary(0, [5] * 10, side_effects=INSOMNIA) + diary(10, [5] * 10)
    result = assess(entries, START, day(19))
    assert result.morning_dose_suggestion is None
    (course,) = result.side_effect_timeline
    assert (course.first_day, course.last_day, course.days_reported) == (day(0), day(9), 10)
    assert not course.ongoing


def test_no_morning_suggestion_when_the_dose_is_already_taken_in_the_morning() -> None:
    entries = baseline() + diary(0, [5] * 12, side_effects=INSOMNIA, dose_time="08:00")
    assert assess(entries, START, day(11)).morning_dose_suggestion is None


def test_non_sleep_side_effects_bring_no_suggestion() -> None:
    entries = baseline() + diary(0, [5] * 12, side_effects=[{"id": "headache", "severity": "mild"}])
    result = assess(entries, START, day(11))
    assert result.morning_dose_suggestion is None
    assert result.side_effect_timeline[0].sleep_related is False


def test_reports_a_few_days_apart_are_one_episode() -> None:
    entries = baseline() + [
        e.model_copy(update={"side_effects": ()}) if i % 3 == 1 else e
        for i, e in enumerate(diary(0, [5] * 12, side_effects=INSOMNIA))
    ]
    course = assess(entries, START, day(11)).side_effect_timeline[0]
    assert course.episode_start == day(0)
    assert course.episode_days == 12


# -- the recommendation ------------------------------------------------------------------------


def test_before_day_90_the_recommendation_is_too_early_with_its_due_date() -> None:
    entries = baseline(5) + diary(0, [3] * 60)
    rec = assess(entries, START, day(59)).recommendation
    assert rec.action == "too_early"
    assert rec.due == day(89)
    assert "seed-000" in rec.sources


def test_responder_at_3_months_continues() -> None:
    rec = assess(baseline(6) + diary(0, [3] * 90), START, day(89)).recommendation
    assert rec.action == "continue"
    assert {"dworkin-2008-immpact", "farrar-2001"} <= set(rec.sources)


def test_partial_response_at_3_months_is_reassessed() -> None:
    result = assess(baseline(5) + diary(0, [4] * 90), START, day(89))
    assert result.status == "partial"
    assert result.recommendation.action == "reassess"


def test_no_change_at_3_months_considers_stopping_with_clinic_outcomes_cited() -> None:
    rec = assess(baseline(5) + diary(0, [5] * 90), START, day(89)).recommendation
    assert rec.action == "consider_stopping"
    assert "mckenzie-brown-2023" in rec.sources


def test_no_change_with_many_missed_doses_is_reassessed_not_stopped() -> None:
    entries = baseline(5) + [
        e.model_copy(update={"dose_mg": None, "dose_time": None}) if i % 2 else e
        for i, e in enumerate(diary(0, [5] * 90))
    ]
    rec = assess(entries, START, day(89)).recommendation
    assert rec.action == "reassess"
    assert any("missed doses" in r.text for r in rec.reasons)


def test_responder_with_a_severe_ongoing_side_effect_is_reassessed() -> None:
    entries = baseline(6) + diary(
        0, [3] * 90, side_effects=[{"id": "nausea", "severity": "severe"}]
    )
    rec = assess(entries, START, day(89)).recommendation
    assert rec.action == "reassess"


def test_too_few_entries_at_3_months_is_reassessed_and_says_why() -> None:
    rec = assess(diary(0, [5] * 90), START, day(89)).recommendation
    assert rec.action == "reassess"
    assert any(r.text.startswith("Too few entries to judge") for r in rec.reasons)


def test_fatigue_gain_alone_makes_a_partial_response() -> None:
    entries = baseline(5, fatigue=8) + diary(0, [5] * 14, fatigue=4)
    assert assess(entries, START, day(13)).status == "partial"


# -- uncertainty and provenance ----------------------------------------------------------------


def noisy() -> list[DiaryEntry]:
    pains = [6, 7, 7, 5, 6, 6, 8, 7, 5, 5, 6, 7, 6, 6]
    later = [4, 3, 3, 5, 4, 2, 3, 4, 4, 5, 3, 3, 2, 4]
    return diary(-14, pains) + diary(0, [5] * 16 + later)


def test_bootstrap_is_deterministic_and_seeded() -> None:
    first = assess(noisy(), START, day(29))
    assert first == assess(noisy(), START, day(29))
    other = assess(noisy(), START, day(29), seed=7)
    assert other.measures != first.measures  # another seed, other resamples
    assert first.bootstrap is not None
    assert (first.bootstrap.block_length_days, first.bootstrap.resamples) == (3, 1000)


def test_interval_contains_the_point_estimate_and_excludes_zero_for_a_clear_drop() -> None:
    pain = assess(noisy(), START, day(29)).measures["pain"]
    low, high = pain.ci_absolute
    assert low <= pain.absolute_change <= high
    assert high < 0
    assert pain.clear
    assert pain.ci_percent is not None
    assert pain.ci_percent[0] <= pain.percent_change <= pain.ci_percent[1]  # type: ignore[operator]


def test_block_length_grows_with_the_cube_root_of_the_window() -> None:
    assert [block_length(n) for n in (1, 7, 8, 10, 14, 27, 28)] == [1, 2, 2, 3, 3, 3, 4]


def test_every_cited_source_resolves() -> None:
    known = {s["id"] for s in read_data("sources.yaml")}
    entries = baseline() + diary(0, [5] * 90, side_effects=INSOMNIA)
    result = assess(entries, START, day(89))
    cited = set(result.sources) | set(result.recommendation.sources)
    assert cited <= known
    assert all(set(r.sources) <= known for r in result.recommendation.reasons + result.notes)


def test_assessment_serialises_to_json() -> None:
    data = assess(noisy(), START, day(29)).model_dump(mode="json")
    assert data["measures"]["pain"]["category"] in {"moderate", "substantial"}
    assert (
        data["first_sustained_30pct_day"] is None or data["first_sustained_30pct_day"][:4] == "2026"
    )


# -- invariants over any diary -----------------------------------------------------------------

score_lists = st.lists(st.integers(0, 10), min_size=0, max_size=40)


@settings(max_examples=40, deadline=None)
@given(
    before=st.lists(st.integers(0, 10), max_size=20),
    after=score_lists,
    sleep=st.integers(0, 10),
    as_of_day=st.integers(-3, 45),
    use_intake=st.booleans(),
)
def test_any_diary_gets_a_consistent_assessment(
    before: list[int], after: list[int], sleep: int, as_of_day: int, use_intake: bool
) -> None:
    entries = diary(-len(before), before, sleep=sleep) + diary(0, after, sleep=sleep)
    intake = Intake(pain=5, sleep_quality=sleep) if use_intake else None
    result = assess(entries, START, day(as_of_day), intake=intake, resamples=200)
    assert (result.status == "too_few_entries") == ("pain" not in result.measures)
    assert bool(result.missing) == (result.measures == {})
    for change in result.measures.values():
        low, high = change.ci_absolute
        assert low <= high
        if change.improvement_pct is not None:
            sign = 1 if change.better == "higher" else -1
            assert change.improvement_pct * sign * change.absolute_change >= 0
    if result.first_sustained_30pct_day is not None:
        assert START <= result.first_sustained_30pct_day <= day(as_of_day)
