"""Invariants of clinic outcomes on generated clinics (hypothesis)."""

from __future__ import annotations

import datetime as dt
import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from ldnkit.domain.outcomes import (
    Diagnosis,
    Dispense,
    Medication,
    PainScore,
    Prescription,
    TherapyCourse,
    clinic_outcomes,
)
from ldnkit.domain.outcomes.statistics import kaplan_meier

AS_OF = dt.date(2026, 1, 1)
MEDICATIONS = [
    Medication("Naltrexone 4.5 mg capsule"),
    Medication("Naltrexone 1.5 mg capsule"),
    Medication("Naltrexone 50 mg tablet"),
    Medication("naltrexone", dose_mg=3.0),
    Medication("Contrave 8 mg/90 mg"),
]
CODES = ["M47.816", "M79.2", "G90.50", "M79.7", "M54.50", "E11.42"]


def days_before(n: int) -> dt.date:
    return AS_OF - dt.timedelta(days=n)


@st.composite
def courses(draw: st.DrawFn, pid: str) -> TherapyCourse:
    orders = tuple(
        Prescription(
            f"{pid}-{i}",
            days_before(draw(st.integers(-20, 700))),
            draw(st.sampled_from(["active", "completed", "stopped", "entered-in-error"])),
            draw(st.sampled_from(MEDICATIONS)),
        )
        for i in range(draw(st.integers(0, 3)))
    )
    fills = tuple(
        Dispense(
            None,
            draw(st.sampled_from([None, *(o.id for o in orders)])),
            days_before(draw(st.integers(-20, 700))),
            draw(st.sampled_from(["completed", "completed", "in-progress", "cancelled"])),
            draw(st.one_of(st.none(), st.integers(1, 90))),
            draw(st.sampled_from([Medication(None), *MEDICATIONS])),
        )
        for _ in range(draw(st.integers(0, 8)))
    )
    pain = tuple(
        PainScore(
            days_before(draw(st.integers(-20, 800))),
            draw(st.integers(0, 10)),
            draw(st.sampled_from(["final", "amended", "preliminary"])),
        )
        for _ in range(draw(st.integers(0, 6)))
    )
    diagnoses = tuple(
        Diagnosis(
            (("icd10cm", draw(st.sampled_from(CODES))),),
            draw(st.sampled_from([None, "active", "resolved"])),
            None,
            days_before(draw(st.integers(0, 900))),
        )
        for _ in range(draw(st.integers(0, 3)))
    )
    return TherapyCourse(pid, orders, fills, pain, diagnoses)


@st.composite
def clinics(draw: st.DrawFn) -> list[TherapyCourse]:
    return [draw(courses(f"p{i}")) for i in range(draw(st.integers(0, 40)))]


@settings(max_examples=60, deadline=None)
@given(clinics(), st.integers(0, 120))
def test_counts_add_up(courses: list[TherapyCourse], grace: int) -> None:
    figures = clinic_outcomes(courses, AS_OF, grace).figures
    assert figures.prescribed == figures.never_started + figures.started
    assert figures.prescribed <= len(courses)
    assert figures.with_response_measure <= figures.started
    assert figures.responders_30 <= figures.any_improvement <= figures.with_response_measure
    persistence = figures.persistence
    assert persistence.discontinued + persistence.censored == figures.started
    for predictor in figures.predictors:
        assert 5 <= predictor.n <= figures.with_response_measure
        assert predictor.responders <= min(predictor.n, figures.responders_30)
        assert 0 <= predictor.p_fisher <= 1


@settings(max_examples=60, deadline=None)
@given(clinics())
def test_rates_lie_in_their_intervals(courses: list[TherapyCourse]) -> None:
    figures = clinic_outcomes(courses, AS_OF).figures
    if figures.responder_rate_30 is not None:
        assert figures.responder_rate_30_ci is not None
        low, high = figures.responder_rate_30_ci
        assert 0 <= low <= figures.responder_rate_30 <= high <= 1
    if figures.nrs_change_ci is not None:
        assert figures.nrs_change_mean is not None
        low, high = figures.nrs_change_ci
        assert low <= figures.nrs_change_mean + 1e-9
        assert figures.nrs_change_mean - 1e-9 <= high


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 400), st.booleans()), min_size=1, max_size=60))
def test_persistence_never_rises(observations: list[tuple[int, bool]]) -> None:
    curve = kaplan_meier([d for d, _ in observations], [e for _, e in observations])
    assert curve is not None
    assert all(0 <= s <= 1 for s in curve.survival)
    assert list(curve.survival) == sorted(curve.survival, reverse=True)
    values = [curve.at(t) for t in range(0, 401, 5)]
    known = [v for v in values if v is not None]
    assert known == sorted(known, reverse=True)
    median = curve.median()
    if median is not None:
        at_median = curve.at(median)
        assert at_median is not None
        assert at_median <= 0.5


@settings(max_examples=40, deadline=None)
@given(clinics())
def test_a_longer_grace_period_never_ends_more_episodes(courses: list[TherapyCourse]) -> None:
    run = clinic_outcomes(courses, AS_OF)
    stopped = [persistence.discontinued for _, persistence in run.sensitivity]
    assert stopped == sorted(stopped, reverse=True)
    # Each patient is followed at least as long: a first episode only grows (gaps merge) and an
    # episode no longer ended is followed to the as-of day instead. Sorted, the times dominate
    # one another place by place. The Kaplan-Meier median need not grow with them: a censored
    # time that moves past an event shrinks the risk set under it (three patients followed
    # 1, 1 and 63 days with two events give a median of 63; followed 1 (censored), 62 and 93
    # (censored) they give 62).
    curves = [clinic_outcomes(courses, AS_OF, grace).curve for grace, _ in run.sensitivity]
    # No curve: nobody started, at any grace.
    followed = [curve.followed if curve is not None else () for curve in curves]
    for shorter, longer in itertools.pairwise(followed):
        assert len(shorter) == len(longer)
        assert all(a <= b for a, b in zip(shorter, longer, strict=True))
