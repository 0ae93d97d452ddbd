"""Formulation: capsules for a plan and liquid LDN from a tablet."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ldnkit.domain.formulation import CapsuleCount, capsules, capsules_for_dose, liquid
from ldnkit.domain.titration import PlanRequest, build_plan, hold_for_procedure
from ldnkit.knowledge.protocols import product_book
from ldnkit.validation import InputError

MADE = dt.date(2026, 11, 23)


def counts(items: tuple[CapsuleCount, ...]) -> dict[float, int]:
    return {c.strength_mg: c.count for c in items}


# Capsules


def test_standard_steps_are_one_capsule_each() -> None:
    for dose_ug in (1500, 3000, 4500):
        assert capsules_for_dose(dose_ug) == {dose_ug: 1}


def test_doses_between_strengths_use_the_fewest_capsules() -> None:
    assert capsules_for_dose(2000) == {1500: 1, 500: 1}
    assert capsules_for_dose(4000) == {3000: 1, 1000: 1}
    assert capsules_for_dose(6000) == {4500: 1, 1500: 1}


def test_thirty_days_of_the_standard_plan() -> None:
    plan = build_plan(PlanRequest(protocol="standard", start=MADE))
    supply = capsules(plan, 30)
    assert supply.end == dt.date(2026, 12, 22)
    assert [(s.dose_mg, s.days) for s in supply.steps] == [(1.5, 14), (3.0, 14), (4.5, 2)]
    assert counts(supply.totals) == {4.5: 2, 3.0: 14, 1.5: 14}
    assert {"ldn-compounder-guidance"} <= set(supply.sources)
    assert any("calcium carbonate" in n.text for n in supply.notes)


def test_held_days_need_no_capsules() -> None:
    plan = build_plan(PlanRequest(protocol="standard", start=MADE))
    held = hold_for_procedure(plan, dt.date(2026, 12, 10), dt.date(2026, 12, 12))
    supply = capsules(held, 60)
    dosing_days = sum(1 for k in range(60) if held.dose_on(MADE + dt.timedelta(days=k)))
    assert sum(s.days for s in supply.steps) == dosing_days < 60


@pytest.mark.parametrize("days", [0, -3, 400])
def test_supply_days_out_of_range_are_refused(days: int) -> None:
    plan = build_plan(PlanRequest(protocol="standard", start=MADE))
    with pytest.raises(InputError) as exc:
        capsules(plan, days)
    assert exc.value.problems[0].field == "days"


@given(
    st.integers(min_value=1, max_value=24).map(lambda n: n * 500),
)
def test_capsules_for_a_dose_add_up_to_exactly_that_dose(dose_ug: int) -> None:
    chosen = capsules_for_dose(dose_ug)
    strengths = product_book().capsules.strengths_ug
    assert set(chosen) <= set(strengths)
    assert sum(s * n for s, n in chosen.items()) == dose_ug
    if dose_ug <= 5000:  # within the usual LDN range, never more than two capsules a dose
        assert sum(chosen.values()) <= 2


@given(
    st.sampled_from(["standard", "gentle"]),
    st.integers(min_value=1, max_value=366),
)
@settings(max_examples=40, deadline=None)
def test_capsule_totals_equal_the_milligrams_the_plan_prescribes(protocol: str, days: int) -> None:
    plan = build_plan(PlanRequest(protocol=protocol, start=MADE))
    supply = capsules(plan, days)
    prescribed_ug = sum(
        round((plan.dose_on(MADE + dt.timedelta(days=k)) or 0) * 1000) for k in range(days)
    )
    dispensed_ug = sum(round(c.strength_mg * 1000) * c.count for c in supply.totals)
    assert dispensed_ug == prescribed_ug


# Liquid


def test_fifty_mg_in_fifty_ml_is_one_mg_per_ml() -> None:
    result = liquid(50, 50, 4.5, "water", MADE)
    assert result.concentration_mg_per_ml == 1.0
    assert result.dose_ml == 4.5
    assert result.days_per_tablet == 11.1
    assert result.doses_per_tablet == 11


def test_fawcett_liquid_keeps_sixty_days_cold_and_thirty_at_room_temperature() -> None:
    result = liquid(50, 50, 4.5, "fawcett", MADE)
    limits = {b.storage: (b.days, b.date) for b in result.beyond_use}
    assert limits == {
        "refrigerated": (60, MADE + dt.timedelta(days=60)),
        "room_temperature": (30, MADE + dt.timedelta(days=30)),
    }
    assert result.stability_data
    assert "amber" in result.container
    assert result.sources == ("fawcett-1997",)
    assert result.warnings == ()


def test_water_dilution_is_short_lived_and_says_there_is_no_stability_data() -> None:
    result = liquid(50, 50, 4.5, "water", MADE)
    assert not result.stability_data
    assert [b.days for b in result.beyond_use] == [5]
    assert result.beyond_use[0].usable_doses == 5
    assert any("No stability data" in w for w in result.warnings)
    assert any("advise against home dilution" in w for w in result.warnings)


def test_fawcett_at_another_concentration_is_flagged_as_untested() -> None:
    result = liquid(50, 25, 4.5, "fawcett", MADE)
    assert result.concentration_mg_per_ml == 2.0
    assert result.dose_ml == 2.25
    assert any("studied at 1 mg/mL only" in w for w in result.warnings)


@pytest.mark.parametrize(
    ("tablet", "volume", "dose", "field", "expected"),
    [
        (50, 50, 50, "dose_mg", "standard-dose naltrexone, not LDN"),
        (50, 50, 6, "dose_mg", "allow_above_5mg"),
        (50, 50, 0, "dose_mg", "a dose above 0 mg"),
        (50, 0, 4.5, "volume_ml", "at least 1"),
        (-50, 50, 4.5, "tablet_mg", "more than 0"),
        (3, 50, 4.5, "dose_mg", "at most the tablet"),
    ],
)
def test_liquid_refuses_impossible_or_unsafe_numbers(
    tablet: float, volume: float, dose: float, field: str, expected: str
) -> None:
    with pytest.raises(InputError) as exc:
        liquid(tablet, volume, dose, "water", MADE)
    assert exc.value.problems[0].field == field
    assert expected in str(exc.value.problems[0])


def test_liquid_above_five_mg_with_the_override() -> None:
    assert liquid(50, 50, 6, "fawcett", MADE, allow_above_5mg=True).dose_ml == 6.0


@given(
    tablet=st.sampled_from([25, 50, 100]),
    volume=st.integers(min_value=1, max_value=1000),
    dose=st.integers(min_value=1, max_value=50).map(lambda n: n / 10),  # 0.1 .. 5 mg
)
@settings(max_examples=200, deadline=None)
def test_liquid_volumes_round_trip_to_the_dose(tablet: int, volume: int, dose: float) -> None:
    result = liquid(tablet, volume, dose, "fawcett", MADE)
    concentration = Decimal(tablet) / Decimal(volume)
    # mL per dose is reported to the nearest 0.01 mL; measuring it gives back the dose to
    # within half of that.
    exact_ml = Decimal(str(dose)) / concentration
    assert abs(Decimal(str(result.dose_ml)) - exact_ml) <= Decimal("0.005") + Decimal("1e-20")
    # The whole bottle holds the whole tablet, and the doses fit in it.
    assert result.doses_per_tablet * Decimal(str(dose)) <= tablet
    assert (result.doses_per_tablet + 1) * Decimal(str(dose)) > tablet
