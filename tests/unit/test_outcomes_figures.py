"""The clinic's figures, worked by hand on a small clinic and checked against the libraries.

The clinic (every patient starts on day 0, as_of is day 400, grace 30 days):
- 12 patients started; 1 prescribed LDN never filled it; 1 on 50 mg naltrexone and 1 whose LDN
  order is written after as_of are not prescribed.
- A1-A5 (spondylosis, M47): one 30-day fill each, so they stop at day 30. Pain 8->8, 6->5,
  7->7, 5->6, 10->6: one responder (A5, 40%).
- B1-B4 (neuralgia, M79.2): fills every 30 days to day 150: stop at day 180. Pain 8->4, 6->3,
  9->5, 7->5: three responders (B4 falls 28.6%).
- C1 (no diagnosis; a spondylosis recorded after the start does not count): fills every 30
  days to day 390, still covered on day 400 (censored at 400). Pain 4->2: responder.
- S1: a 90-day fill, then another on day 140: with 30 days grace the episode ends at day 90;
  with 60 days grace day 140 <= 90 + 60 continues it to 140 + 90 = 230. No pain scores.
- S2: starts on day 380, censored at 20 days.
"""

from __future__ import annotations

import datetime as dt
import math
import statistics

import pytest
from lifelines import KaplanMeierFitter  # type: ignore[import-untyped]
from scipy import stats  # type: ignore[import-untyped]

from ldnkit.domain.outcomes import (
    Diagnosis,
    Dispense,
    Medication,
    OutcomeTally,
    PainScore,
    Prescription,
    TherapyCourse,
    clinic_outcomes,
    grace_periods,
    outcome_run,
)
from ldnkit.domain.outcomes.figures import MIN_GROUP_MEASURED, clinic_value
from ldnkit.domain.outcomes.statistics import (
    fisher_test,
    kaplan_meier,
    mean_with_t_interval,
    wilson_interval,
)
from ldnkit.knowledge.outcomes import outcome_book

START = dt.date(2025, 1, 1)
AS_OF = START + dt.timedelta(days=400)
LDN = Medication("Naltrexone 4.5 mg capsule")

CONTRACT_KEYS = {
    "as_of",
    "grace_days",
    "prescribed",
    "never_started",
    "started",
    "with_response_measure",
    "responders_30",
    "responder_rate_30",
    "responder_rate_30_ci",
    "any_improvement",
    "any_improvement_rate",
    "nrs_change_mean",
    "nrs_change_ci",
    "persistence",
    "predictors",
    "published",
}


def day(n: int) -> dt.date:
    return START + dt.timedelta(days=n)


def patient(
    pid: str,
    fill_days: list[int],
    supply: int = 30,
    pain: tuple[float, float] | None = None,
    codes: list[str] | None = None,
    coded_on: int = -30,
    medication: Medication = LDN,
    authored: int = -7,
) -> TherapyCourse:
    orders = (Prescription(f"{pid}-rx", day(authored), "active", medication),)
    fills = tuple(
        Dispense(None, f"{pid}-rx", day(d), "completed", supply, Medication(None))
        for d in fill_days
    )
    scores: tuple[PainScore, ...] = ()
    if pain is not None:
        start = fill_days[0]
        scores = (
            PainScore(day(start - 10), pain[0], "final"),
            PainScore(day(start + 100), pain[1], "final"),
        )
    diagnoses = tuple(
        Diagnosis((("icd10cm", code),), "active", "confirmed", day(coded_on))
        for code in codes or []
    )
    return TherapyCourse(pid, orders, fills, scores, diagnoses)


def clinic() -> list[TherapyCourse]:
    monthly_to_150 = list(range(0, 151, 30))
    monthly_to_390 = list(range(0, 391, 30))
    return [
        patient("A1", [0], pain=(8, 8), codes=["M47.816"]),
        patient("A2", [0], pain=(6, 5), codes=["M47.816"]),
        patient("A3", [0], pain=(7, 7), codes=["M47.812"]),
        patient("A4", [0], pain=(5, 6), codes=["M47.26"]),
        patient("A5", [0], pain=(10, 6), codes=["M47.816"]),
        patient("B1", monthly_to_150, pain=(8, 4), codes=["M79.2"]),
        patient("B2", monthly_to_150, pain=(6, 3), codes=["M79.2"]),
        patient("B3", monthly_to_150, pain=(9, 5), codes=["M79.2"]),
        patient("B4", monthly_to_150, pain=(7, 5), codes=["M79.2"]),
        patient("C1", monthly_to_390, pain=(4, 2), codes=["M47.816"], coded_on=5),
        patient("S1", [0, 140], supply=90),
        patient("S2", [380]),
        patient("N1", []),
        patient("X1", [0], medication=Medication("Naltrexone 50 mg tablet")),
        patient("X2", [], authored=401),
    ]


CHANGES = [0, -1, 0, 1, -4, -4, -3, -4, -2, -2]


def test_counts_of_the_hand_worked_clinic() -> None:
    figures = clinic_outcomes(clinic(), AS_OF).figures
    assert (figures.prescribed, figures.never_started, figures.started) == (13, 1, 12)
    assert figures.with_response_measure == 10
    assert (figures.responders_30, figures.responder_rate_30) == (5, 0.5)
    assert (figures.any_improvement, figures.any_improvement_rate) == (7, 0.7)
    assert figures.nrs_change_mean == pytest.approx(-1.9)


def test_persistence_is_the_product_limit_worked_by_hand() -> None:
    # Times: 20 censored; 30 x5 stop (11 at risk): S = 6/11; 90 stop (6 at risk): S = 5/11;
    # 180 x4 stop (5 at risk): S = 1/11; 400 censored.
    persistence = clinic_outcomes(clinic(), AS_OF).figures.persistence
    assert persistence.median_days == 90
    assert persistence.at_90_days == pytest.approx(5 / 11)
    assert persistence.at_180_days == pytest.approx(1 / 11)
    assert (persistence.discontinued, persistence.censored) == (10, 2)


def test_persistence_agrees_with_lifelines() -> None:
    durations = [20, 30, 30, 30, 30, 30, 90, 180, 180, 180, 180, 400]
    ended = [False, *[True] * 5, True, *[True] * 4, False]
    curve = kaplan_meier(durations, ended)
    fitted = KaplanMeierFitter().fit(durations, ended)
    assert curve is not None
    for t in (0, 20, 29, 30, 89, 90, 179, 180, 250, 400):
        assert curve.at(t) == pytest.approx(float(fitted.survival_function_at_times(t).iloc[0]))
    assert curve.median() == fitted.median_survival_time_


def test_a_longer_grace_period_keeps_a_late_refill_in_the_episode() -> None:
    run = clinic_outcomes(clinic(), AS_OF)
    by_grace = dict(run.sensitivity)
    assert list(by_grace) == [30, 60, 90]
    assert by_grace[30] == run.figures.persistence
    # With 60 days S1 stops at 230 instead of 90. Times 20c, 30 x5, 180 x4, 230, 400c:
    # S(30) = 6/11, S(180) = 6/11 x 2/6 = 2/11, so the median moves from 90 to 180.
    assert by_grace[60].median_days == 180
    assert by_grace[60].at_90_days == pytest.approx(6 / 11)
    assert by_grace[60].at_180_days == pytest.approx(2 / 11)
    assert clinic_outcomes(clinic(), AS_OF, grace_days=60).figures.persistence == by_grace[60]


def test_a_censored_patient_is_never_counted_as_stopped() -> None:
    course = patient("C", list(range(0, 391, 30)))
    persistence = clinic_outcomes([course], AS_OF).figures.persistence
    assert (persistence.discontinued, persistence.censored) == (0, 1)
    assert persistence.at_180_days == 1.0
    assert persistence.median_days is None


def test_no_persistence_figure_beyond_the_longest_follow_up() -> None:
    # Everyone still on LDN after 20 days: nothing is known about day 90.
    persistence = clinic_outcomes([patient("S2", [380])], AS_OF).figures.persistence
    assert persistence.at_90_days is None
    assert persistence.median_days is None


def test_responder_rate_has_the_wilson_interval_with_the_normal_quantile() -> None:
    low, high = clinic_outcomes(clinic(), AS_OF).figures.responder_rate_30_ci or (0, 0)
    z = stats.norm.ppf(0.975)
    n, p = 10, 0.5
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    assert low == pytest.approx(centre - half)
    assert high == pytest.approx(centre + half)


def test_mean_change_has_the_t_interval_with_n_minus_1_degrees_of_freedom() -> None:
    figures = clinic_outcomes(clinic(), AS_OF).figures
    half = stats.t.ppf(0.975, 9) * statistics.stdev(CHANGES) / math.sqrt(10)
    assert figures.nrs_change_ci is not None
    low, high = figures.nrs_change_ci
    assert low == pytest.approx(-1.9 - half)
    assert high == pytest.approx(-1.9 + half)


def test_no_interval_without_enough_patients() -> None:
    assert wilson_interval(0, 0) is None
    assert mean_with_t_interval([]) == (None, None)
    assert mean_with_t_interval([-2.0]) == (-2.0, None)
    assert mean_with_t_interval([-1.0, -1.0]) == (-1.0, (-1.0, -1.0))


def test_a_group_of_exactly_five_measured_patients_is_tested() -> None:
    # M47: n=5, 1 responder; the rest: 4 of 5. Table [[1, 4], [4, 1]], margins 5/5/5/5:
    # P(a=k) = C(5,k)^2 / 252; two-sided p = P(0)+P(1)+P(4)+P(5) = (1+25+25+1)/252.
    predictors = {p.group: p for p in clinic_outcomes(clinic(), AS_OF).figures.predictors}
    spondylosis = predictors["icd10cm:M47"]
    assert (spondylosis.n, spondylosis.responders) == (5, 1)
    assert (spondylosis.rate, spondylosis.rest_rate) == (0.2, 0.8)
    assert spondylosis.odds_ratio == pytest.approx(1 / 16)
    assert spondylosis.p_fisher == pytest.approx(52 / 252)


def test_groups_of_four_are_not_tested() -> None:
    groups = {p.group for p in clinic_outcomes(clinic(), AS_OF).figures.predictors}
    assert MIN_GROUP_MEASURED == 5
    assert groups == {"icd10cm:M47"}  # M79 and neuropathic pain have 4 measured patients


def test_an_infinite_odds_ratio_is_null() -> None:
    # CRPS: 5 of 5 respond; the rest 1 of 5. Margins 5/5 and 6/4: P(a=5) = C(6,5)C(4,0)/252 = 6/252
    # and P(a=1) = 6/252 are the tables as extreme, so p = 12/252.
    courses = [patient(f"G{i}", [0], pain=(8, 2), codes=["G90.50"]) for i in range(5)]
    courses += [patient("R0", [0], pain=(8, 2))]
    courses += [patient(f"R{i}", [0], pain=(8, 8)) for i in range(1, 5)]
    predictors = {p.group: p for p in clinic_outcomes(courses, AS_OF).figures.predictors}
    crps = predictors["condition:complex-regional-pain-syndrome"]
    assert crps.odds_ratio is None
    assert crps.p_fisher == pytest.approx(12 / 252)
    assert (crps.rate, crps.rest_rate) == (1.0, 0.2)
    assert fisher_test(5, 0, 1, 4).p_value == pytest.approx(12 / 252)


def test_the_json_document_has_exactly_the_contract_keys() -> None:
    document = clinic_outcomes(clinic(), AS_OF).figures.model_dump(mode="json")
    assert set(document) == CONTRACT_KEYS
    assert set(document["persistence"]) == {
        "median_days",
        "at_90_days",
        "at_180_days",
        "discontinued",
        "censored",
    }
    assert set(document["predictors"][0]) == {
        "group",
        "n",
        "responders",
        "rate",
        "rest_rate",
        "odds_ratio",
        "p_fisher",
    }
    assert document["as_of"] == "2026-02-05"
    assert document["grace_days"] == 30


def test_published_figures_are_cited_and_shown_beside_the_clinic_figure() -> None:
    figures = clinic_outcomes(clinic(), AS_OF).figures
    (series,) = figures.published
    assert series.id == "mckenzie-brown-2023"
    by_id = {f.id: f for f in series.figures}
    assert by_id["never-filled"].value == 0.44
    assert by_id["never-filled"].clinic_value == pytest.approx(1 / 13)
    assert by_id["some-relief"].value == 0.64
    assert by_id["some-relief"].clinic_value == 0.7
    cited = {s.id for s in series.references}
    assert set(series.sources) <= cited
    assert "mckenzie-brown-2023" in cited
    for figure in series.figures:
        assert set(figure.sources) <= cited
    for predictor in series.predictors:
        assert set(predictor.sources) <= cited


def test_every_published_figure_names_a_real_clinic_figure() -> None:
    figures = clinic_outcomes(clinic(), AS_OF).figures
    for series in outcome_book().published:
        for figure in series.figures:
            if figure.clinic is not None:
                clinic_value(figure.clinic, figures)  # KeyError if it is not a figure
    with pytest.raises(KeyError):
        clinic_value("persistence.nothing", figures)


def test_an_empty_clinic_has_counts_of_zero_and_no_rates() -> None:
    figures = clinic_outcomes([], AS_OF).figures
    assert (figures.prescribed, figures.started, figures.with_response_measure) == (0, 0, 0)
    assert figures.responder_rate_30 is None
    assert figures.responder_rate_30_ci is None
    assert figures.nrs_change_mean is None
    assert figures.persistence.median_days is None
    assert figures.predictors == ()


def test_tallies_of_parts_of_a_clinic_merge_into_the_whole() -> None:
    courses = clinic()
    grace, graces = grace_periods()
    first = OutcomeTally(AS_OF, graces).add_courses(courses[:6])
    first.merge(OutcomeTally(AS_OF, graces).add_courses(courses[6:]))
    whole = clinic_outcomes(courses, AS_OF)
    merged = outcome_run(first, grace)
    assert merged.figures == whole.figures
    assert merged.sensitivity == whole.sensitivity
    with pytest.raises(ValueError, match="cannot be merged"):
        first.merge(OutcomeTally(AS_OF + dt.timedelta(days=1), graces))
