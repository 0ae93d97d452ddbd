"""Demo diaries: reproducible, valid, and judged by `assess` as the story they tell."""

from __future__ import annotations

import datetime as dt
import statistics

import pytest

from ldnkit.demo.diaries import BASELINE_DAYS, demo_diary, demo_steps
from ldnkit.domain.response import ResponseAssessment, assess

START = dt.date(2026, 2, 2)
SEEDS = range(5)


def assessed(kind: str, seed: int) -> ResponseAssessment:
    entries = demo_diary(kind, START, seed=seed)  # type: ignore[arg-type]
    return assess(entries, START, entries[-1].day, steps=demo_steps(START))


def test_demo_diary_is_reproducible_and_seed_dependent() -> None:
    assert demo_diary("responder", START) == demo_diary("responder", START)
    assert demo_diary("responder", START, seed=1) != demo_diary("responder", START)


def test_demo_diary_covers_baseline_and_90_days_of_treatment() -> None:
    entries = demo_diary("non_responder", START)
    assert len(entries) == BASELINE_DAYS + 90
    assert entries[0].day == START - dt.timedelta(BASELINE_DAYS)
    assert entries[-1].day == START + dt.timedelta(89)
    assert all(e.dose_mg is None for e in entries[:BASELINE_DAYS])


def test_doses_follow_the_standard_plan_with_a_few_missed() -> None:
    entries = demo_diary("responder", START)[BASELINE_DAYS:]
    plan = {start: dose for start, _, dose in demo_steps(START)}
    assert plan == {START: 1.5, START + dt.timedelta(14): 3.0, START + dt.timedelta(28): 4.5}
    for entry in entries:
        expected = 1.5 if entry.day < START + dt.timedelta(14) else 3.0
        expected = 4.5 if entry.day >= START + dt.timedelta(28) else expected
        assert entry.dose_mg in (None, expected)
    missed = sum(e.dose_mg is None for e in entries)
    assert 0 < missed < 10


@pytest.mark.parametrize("seed", SEEDS)
def test_good_and_bad_days_come_in_runs(seed: int) -> None:
    # AR(1) noise: a flat diary's pain is positively correlated with the day before.
    pains = [float(e.pain) for e in demo_diary("non_responder", START, seed=seed)]
    assert statistics.correlation(pains[:-1], pains[1:]) > 0.25


@pytest.mark.parametrize("seed", SEEDS)
def test_responder_is_judged_responding_and_continues(seed: int) -> None:
    result = assessed("responder", seed)
    assert result.status == "responding"
    assert result.first_sustained_30pct_day is not None
    assert result.recommendation.action == "continue"
    assert result.morning_dose_suggestion is None


@pytest.mark.parametrize("seed", SEEDS)
def test_non_responder_is_judged_not_responding(seed: int) -> None:
    result = assessed("non_responder", seed)
    assert result.status == "not_responding"
    assert result.recommendation.action == "consider_stopping"


@pytest.mark.parametrize("seed", SEEDS)
def test_sleep_side_effects_patient_gets_the_morning_suggestion(seed: int) -> None:
    result = assessed("sleep_side_effects", seed)
    assert result.morning_dose_suggestion is not None
    assert result.status != "responding"
    assert {c.id for c in result.side_effect_timeline if c.ongoing} >= {"insomnia"}


def test_unknown_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="kind must be one of"):
        demo_diary("placebo", START)  # type: ignore[arg-type]
