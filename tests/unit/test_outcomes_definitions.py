"""The clinic-outcome definitions, each with a worked example at its boundaries."""

from __future__ import annotations

import datetime as dt

import pytest

from ldnkit.domain.outcomes import (
    Diagnosis,
    Dispense,
    Medication,
    PainScore,
    Prescription,
    TherapyCourse,
)
from ldnkit.domain.outcomes.definitions import (
    baseline_score,
    counted_pain,
    first_episode,
    follow_up_score,
    improved,
    index_date,
    is_ldn_prescription,
    is_responder,
    ldn_fills,
    ldn_max_mg,
    ldn_prescriptions,
    predictor_groups,
    read_ldn,
)
from ldnkit.knowledge.limits import limits

START = dt.date(2025, 3, 1)
AS_OF = dt.date(2026, 3, 1)
LDN = Medication("Naltrexone 4.5 mg capsule")
UNNAMED = Medication(None)  # a fill that names only the order it fills


def day(n: int) -> dt.date:
    """Day n of therapy, the start day being day 0."""
    return START + dt.timedelta(days=n)


def order(
    authored: dt.date = START,
    medication: Medication = LDN,
    status: str = "active",
    rid: str = "rx1",
) -> Prescription:
    return Prescription(rid, authored, status, medication)  # type: ignore[arg-type]


def fill(
    when: dt.date,
    supply: int | None = 30,
    status: str = "completed",
    prescription: str | None = "rx1",
    medication: Medication = UNNAMED,
) -> Dispense:
    return Dispense(None, prescription, when, status, supply, medication)  # type: ignore[arg-type]


def score(when: dt.date, value: float, status: str = "final", moment: str = "") -> PainScore:
    return PainScore(when, value, status, moment)  # type: ignore[arg-type]


# -- LDN prescription -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "medication",
    [
        Medication("Naltrexone 4.5 mg capsule"),
        Medication("naltrexone 1.5 MG oral capsule", rxnorm="7243"),
        # LDN made from the 50 mg tablet: the stated dose wins over the strength in the name.
        Medication("Naltrexone hydrochloride 50 MG Oral Tablet", dose_mg=4.5),
        Medication("naltrexone", dose_mg=3.0),
        Medication(None, rxnorm="7243", dose_mg=1.5),
    ],
)
def test_naltrexone_within_the_band_is_ldn(medication: Medication) -> None:
    assert read_ldn(medication) == "ldn"


@pytest.mark.parametrize(
    "medication",
    [
        Medication("Naltrexone hydrochloride 50 MG Oral Tablet"),
        Medication("naltrexone 4.5 mg", dose_mg=50.0),
        Medication("Contrave 8 mg/90 mg"),  # naltrexone-bupropion
        Medication("naltrexone/bupropion 8 mg-90 mg", dose_mg=8.0),
        Medication("Vivitrol 380 mg injection"),
        Medication("Troxyca ER"),  # naltrexone inside an opioid product
        Medication("lisinopril 10 mg tablet"),
        Medication(None),
        Medication(None, rxnorm="not-a-code"),
        Medication("  "),
    ],
)
def test_standard_dose_combination_injection_and_other_drugs_are_not_ldn(
    medication: Medication,
) -> None:
    assert read_ldn(medication) == "other"


@pytest.mark.parametrize(
    "medication",
    [Medication("naltrexone"), Medication("LDN"), Medication("naltrexone 1 mg/mL oral liquid")],
)
def test_naltrexone_without_a_dose_in_mg_is_reported_as_unreadable(medication: Medication) -> None:
    assert read_ldn(medication) == "dose-unknown"


def test_the_band_is_the_plans_usual_maximum_and_includes_it() -> None:
    top = limits().ldn_dose.usual_max.mg
    assert ldn_max_mg() == top
    assert read_ldn(Medication("naltrexone", dose_mg=top)) == "ldn"
    assert read_ldn(Medication("naltrexone", dose_mg=top + 0.5)) == "other"


def test_entered_in_error_and_future_orders_do_not_count() -> None:
    assert is_ldn_prescription(order(status="stopped"), AS_OF)
    assert is_ldn_prescription(order(authored=AS_OF), AS_OF)
    assert not is_ldn_prescription(order(status="entered-in-error"), AS_OF)
    assert not is_ldn_prescription(order(authored=AS_OF + dt.timedelta(days=1)), AS_OF)


def test_index_date_is_the_earliest_ldn_order() -> None:
    course = TherapyCourse(
        "p",
        (
            order(day(10), rid="a"),
            order(day(-5), rid="b"),
            order(day(-20), Medication("naltrexone 50 mg tablet"), rid="c"),
        ),
    )
    assert index_date(ldn_prescriptions(course, AS_OF)) == day(-5)
    assert index_date([]) is None


# -- Start ------------------------------------------------------------------------------------


def test_start_is_the_first_completed_fill_of_an_ldn_order_by_as_of() -> None:
    course = TherapyCourse(
        "p",
        (order(),),
        (
            fill(day(3), status="in-progress"),
            fill(day(7)),
            fill(day(2), status="entered-in-error"),
            fill(AS_OF + dt.timedelta(days=1)),
        ),
    )
    fills = ldn_fills(course, ldn_prescriptions(course, AS_OF), AS_OF)
    assert [f.handed_over for f in fills] == [day(7)]


def test_a_fill_counts_by_its_own_product_when_it_names_no_ldn_order() -> None:
    own = fill(day(4), prescription=None, medication=Medication("naltrexone 3 mg capsule"))
    of_standard = fill(day(1), prescription="std")
    course = TherapyCourse(
        "p",
        (order(), order(medication=Medication("naltrexone 50 mg tablet"), rid="std")),
        (own, of_standard),
    )
    assert ldn_fills(course, ldn_prescriptions(course, AS_OF), AS_OF) == [own]


# -- Persistence (first episode) --------------------------------------------------------------


def test_a_refill_exactly_at_coverage_end_plus_grace_continues_the_episode() -> None:
    # Day 0 covers 30 days: coverage end day 30; + 30 grace = day 60, inclusive.
    episode = first_episode([fill(day(0)), fill(day(60)), fill(day(200))], AS_OF, 30, 30)
    assert episode is not None
    assert episode.coverage_end == day(90)
    assert episode.discontinued
    assert episode.duration_days == 90


def test_a_refill_one_day_after_coverage_end_plus_grace_starts_a_new_episode() -> None:
    episode = first_episode([fill(day(0)), fill(day(61))], AS_OF, 30, 30)
    assert episode is not None
    assert (episode.coverage_end, episode.discontinued, episode.duration_days) == (
        day(30),
        True,
        30,
    )


def test_an_early_refill_adds_its_supply_to_the_coverage_end() -> None:
    # Refilled on day 20 while covered to day 30: coverage end = max(30, 20) + 30 = day 60;
    # the day-85 fill (within 60 + 30 grace) has no supply, so 30 days: max(60, 85) + 30 = 115.
    fills = [fill(day(0)), fill(day(20)), fill(day(85), supply=None)]
    episode = first_episode(fills, AS_OF, 30, 30)
    assert episode is not None
    assert episode.coverage_end == day(115)


def test_a_patient_still_covered_is_censored_at_as_of() -> None:
    as_of = day(50)
    episode = first_episode([fill(day(0)), fill(day(25))], as_of, 30, 30)
    assert episode is not None
    assert (episode.discontinued, episode.duration_days) == (False, 50)


def test_discontinued_on_the_day_coverage_end_plus_grace_reaches_as_of() -> None:
    # Coverage end day 30, + 30 grace = day 60: on day 60 the patient has stopped; on day 59 not.
    stopped = first_episode([fill(day(0))], day(60), 30, 30)
    still = first_episode([fill(day(0))], day(59), 30, 30)
    assert stopped is not None
    assert still is not None
    assert (stopped.discontinued, stopped.duration_days) == (True, 30)
    assert (still.discontinued, still.duration_days) == (False, 59)


def test_no_fill_means_no_episode() -> None:
    assert first_episode([], AS_OF, 30, 30) is None


# -- Response ---------------------------------------------------------------------------------


def test_a_baseline_on_the_start_day_counts_and_one_after_it_does_not() -> None:
    scores = counted_pain([score(day(-91), 9), score(day(0), 7), score(day(1), 2)])
    found = baseline_score(scores, START)
    assert found is not None
    assert found.value == 7


def test_the_baseline_window_reaches_back_90_days_inclusive() -> None:
    assert baseline_score(counted_pain([score(day(-90), 6)]), START) is not None
    assert baseline_score(counted_pain([score(day(-91), 6)]), START) is None


def test_a_follow_up_on_day_28_counts_and_on_day_27_does_not() -> None:
    assert follow_up_score(counted_pain([score(day(27), 3)]), START, AS_OF) is None
    found = follow_up_score(counted_pain([score(day(28), 3)]), START, AS_OF)
    assert found is not None
    assert found.day == day(28)


def test_a_follow_up_on_day_180_counts_and_on_day_181_does_not() -> None:
    found = follow_up_score(counted_pain([score(day(180), 4), score(day(181), 1)]), START, AS_OF)
    assert found is not None
    assert found.value == 4


def test_the_follow_up_window_ends_at_as_of() -> None:
    scores = counted_pain([score(day(40), 5), score(day(41), 1)])
    found = follow_up_score(scores, START, day(40))
    assert found is not None
    assert found.value == 5


def test_of_two_scores_on_one_day_the_later_is_the_last() -> None:
    scores = counted_pain(
        [
            score(day(30), 2, moment="2025-03-31T20:00:00Z"),
            score(day(30), 6, moment="2025-03-31T08:00:00Z"),
        ]
    )
    found = follow_up_score(scores, START, AS_OF)
    assert found is not None
    assert found.value == 2


def test_only_final_amended_or_corrected_scores_from_0_to_10_count() -> None:
    kept = counted_pain(
        [
            score(day(0), 5, "final"),
            score(day(1), 5, "amended"),
            score(day(2), 5, "corrected"),
            score(day(3), 5, "preliminary"),
            score(day(4), 5, "entered-in-error"),
            score(day(5), 11),
            score(day(6), -1),
            score(day(7), 0),
            score(day(8), 10),
        ]
    )
    assert [s.day for s in kept] == [day(0), day(1), day(2), day(7), day(8)]


@pytest.mark.parametrize(
    ("baseline", "follow_up", "responder", "better"),
    [
        (10, 7, True, True),  # exactly 30%
        (7, 4.9, True, True),  # exactly 30%, which floats would miss
        (10, 7.1, False, True),  # 29%
        (6, 6, False, False),
        (0, 0, False, False),  # no baseline pain: nothing to fall from
        (3, 5, False, False),
    ],
)
def test_responder_means_a_fall_of_at_least_30_percent(
    baseline: float, follow_up: float, responder: bool, better: bool
) -> None:
    assert is_responder(baseline, follow_up) is responder
    assert improved(baseline, follow_up) is better


# -- Predictor groups -------------------------------------------------------------------------


def diagnosis(
    *codes: tuple[str, str],
    clinical: str | None = "active",
    verification: str | None = "confirmed",
    recorded: dt.date | None = START,
) -> Diagnosis:
    return Diagnosis(codes, clinical, verification, recorded)  # type: ignore[arg-type]


def test_groups_are_icd10cm_categories_and_knowledge_base_conditions() -> None:
    groups = predictor_groups(
        [
            diagnosis(("icd10cm", "M47.816")),  # spondylosis: a category, no condition
            diagnosis(("icd10cm", "G90.50")),  # CRPS
            diagnosis(("icd10cm", "M79.2")),  # neuralgia -> neuropathic pain
            diagnosis(("snomed", "95417003")),  # fibromyalgia by SNOMED CT
        ],
        START,
    )
    assert groups == {
        "icd10cm:M47",
        "icd10cm:G90",
        "condition:complex-regional-pain-syndrome",
        "icd10cm:M79",
        "condition:neuropathic-pain",
        "condition:fibromyalgia",
    }


def test_only_current_diagnoses_recorded_by_the_start_day_are_groups() -> None:
    groups = predictor_groups(
        [
            diagnosis(("icd10cm", "M47.81"), recorded=START),  # on the start day: counts
            diagnosis(("icd10cm", "M54.50"), clinical=None),  # no status: counts
            diagnosis(("icd10cm", "G89.29"), clinical="recurrence"),
            diagnosis(("icd10cm", "M79.7"), recorded=day(1)),  # after the start
            diagnosis(("icd10cm", "K50.90"), clinical="resolved"),
            diagnosis(("icd10cm", "G35"), verification="refuted"),
            diagnosis(("icd10cm", "E11.42"), verification="entered-in-error"),
            diagnosis(("icd10cm", "F32.A"), recorded=None),  # no date: cannot be placed
        ],
        START,
    )
    assert groups == {
        "icd10cm:M47",
        "icd10cm:M54",
        "condition:chronic-low-back-pain",
        "icd10cm:G89",
        "condition:chronic-pain",
    }
