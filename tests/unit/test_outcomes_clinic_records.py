"""How ldnkit's own records read as a course: a plan's medication, a dispense's dose, and a
profile's conditions as codes (or why one cannot be placed in a diagnosis group)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from ldnkit.domain.outcomes.clinic import (
    dose_on,
    first_listed,
    plan_medication,
    read_condition,
)
from ldnkit.domain.outcomes.course import Diagnosis
from ldnkit.domain.outcomes.definitions import predictor_groups, read_ldn

D = dt.date


def test_a_plan_starting_within_the_band_is_ldn_one_starting_above_it_is_not() -> None:
    assert read_ldn(plan_medication("standard", 4.5, 1.5)) == "ldn"
    assert read_ldn(plan_medication("custom", 4.5, 4.5)) == "ldn"
    # A custom plan started at 6 mg (allowed above 5 mg by an explicit override) is not LDN.
    assert read_ldn(plan_medication("custom", 6, 6)) == "other"
    # The target in the words does not decide: the dose does.
    assert read_ldn(plan_medication("custom", 12, 1.5)) == "ldn"


def test_a_dispense_takes_the_plans_dose_on_its_day() -> None:
    steps = [(D(2026, 1, 10), D(2026, 1, 23), 1.5), (D(2026, 1, 24), D(2026, 2, 6), 3.0),
             (D(2026, 2, 7), None, 4.5)]  # fmt: skip
    assert dose_on(steps, D(2026, 1, 2)) == 1.5  # filled before the start: the first dose
    assert dose_on(steps, D(2026, 1, 24)) == 3.0
    assert dose_on(steps, D(2027, 1, 1)) == 4.5


@pytest.mark.parametrize(
    ("written", "codes", "groups"),
    [
        ("fibromyalgia", (("icd10cm", "M79.7"),), {"icd10cm:M79", "condition:fibromyalgia"}),
        ("M79.7", (("icd10cm", "M79.7"),), {"icd10cm:M79", "condition:fibromyalgia"}),
        ("m797", (("icd10cm", "M79.7"),), {"icd10cm:M79", "condition:fibromyalgia"}),
        ("M47.816", (("icd10cm", "M47.816"),), {"icd10cm:M47"}),
        ("95417003", (("snomed", "95417003"),), {"condition:fibromyalgia"}),
        ({"system": "icd10cm", "code": "g93.32"}, (("icd10cm", "G93.32"),),
         {"icd10cm:G93", "condition:me-cfs"}),
        ({"system": "http://snomed.info/sct", "code": "95417003"}, (("snomed", "95417003"),),
         {"condition:fibromyalgia"}),
    ],
)  # fmt: skip
def test_a_condition_is_read_as_the_codes_it_is_written_with(
    written: object, codes: tuple[tuple[str, str], ...], groups: set[str]
) -> None:
    reading = read_condition(written)
    assert reading.problem is None
    assert reading.codes == codes
    diagnosis = Diagnosis(reading.codes, "active", "confirmed", D(2026, 1, 1))
    assert predictor_groups([diagnosis], D(2026, 2, 1)) == groups


@pytest.mark.parametrize(
    ("written", "problem"),
    [
        ("CRPS", "a name with 3 ICD-10-CM codes"),  # G90.5, G56.4, G57.7: which, is not said
        ("osteoarthritis", "a name with 5 ICD-10-CM codes"),
        ("gout", "a name the knowledge base does not know"),
        ({"system": "loinc", "code": "1234-5"}, "a code ldnkit cannot read"),
    ],
)
def test_a_condition_that_cannot_be_placed_in_a_group_says_why(
    written: object, problem: str
) -> None:
    reading = read_condition(written)
    assert reading.codes == ()
    assert reading.problem == problem


def test_a_condition_counts_from_the_first_profile_that_listed_it() -> None:
    profiles: list[tuple[dt.date, list[Any]]] = [
        (D(2026, 1, 5), ["fibromyalgia"]),
        (D(2026, 3, 1), ["Fibromyalgia ", {"system": "icd10cm", "code": "M47.816"}]),
        (D(2026, 2, 1), ["fibromyalgia", "gout"]),
    ]
    first = first_listed(profiles)
    assert first == {"fibromyalgia": D(2026, 1, 5), "icd10cm|M47.816": D(2026, 3, 1),
                     "gout": D(2026, 2, 1)}  # fmt: skip
