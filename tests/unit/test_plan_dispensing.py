"""A plan asked for with its adjustments and how it is dispensed: capsules, or a liquid that
measures any dose in whole micrograms, with the tablets its supply period needs."""

from __future__ import annotations

import datetime as dt

import pytest

from ldnkit.domain.dispensing import Dispensing
from ldnkit.domain.formulation import CapsuleSupply, LiquidSupply, dispense, liquid_supply
from ldnkit.domain.titration import (
    PlanChanges,
    PlanRequest,
    ProcedureHold,
    build_plan,
    hold_for_procedure,
    move_to_morning,
    step_back,
)
from ldnkit.knowledge.protocols import product_book
from ldnkit.validation import InputError

START = dt.date(2026, 12, 1)
LIQUID = Dispensing(form="liquid", days=60, tablet_mg=50, volume_ml=50, recipe="fawcett")
QUARTERS = {
    "protocol": "custom",
    "start": START,
    "start_dose_mg": 0.25,
    "step_mg": 0.25,
    "interval_days": 7,
    "target_mg": 1.75,
}


def fields(exc: pytest.ExceptionInfo[InputError]) -> dict[str, str]:
    return {p.field: p.expected for p in exc.value.problems}


def test_doses_capsules_cannot_make_are_planned_as_a_liquid() -> None:
    with pytest.raises(InputError) as exc:
        build_plan(PlanRequest.model_validate(QUARTERS))
    assert "use a liquid for other doses" in fields(exc)["start_dose_mg"]
    plan = build_plan(PlanRequest.model_validate({**QUARTERS, "dispensing": LIQUID}))
    assert [s.dose_mg for s in plan.steps] == [0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 1.75]


def test_a_liquid_still_measures_whole_micrograms_and_keeps_the_ldn_band() -> None:
    with pytest.raises(InputError) as exc:
        build_plan(
            PlanRequest.model_validate({**QUARTERS, "start_dose_mg": 0.0005, "dispensing": LIQUID})
        )
    assert fields(exc)["start_dose_mg"] == "a dose in whole micrograms (0.001 mg steps)"
    with pytest.raises(InputError) as exc:
        build_plan(PlanRequest.model_validate({**QUARTERS, "target_mg": 6, "dispensing": LIQUID}))
    assert "allow_above_5mg" in fields(exc)["target_mg"]


def test_a_liquid_needs_its_tablet_volume_and_recipe() -> None:
    with pytest.raises(ValueError, match="tablet_mg, volume_ml and recipe"):
        Dispensing(form="liquid", days=30)


def test_changes_asked_with_the_request_are_the_adjustment_functions_in_cli_order() -> None:
    plain = build_plan(PlanRequest(protocol="standard", start=START))
    day = START + dt.timedelta(days=16)
    expected = hold_for_procedure(
        move_to_morning(step_back(plain, day), day + dt.timedelta(days=3)),
        START + dt.timedelta(days=60),
        START + dt.timedelta(days=62),
    )
    changes = PlanChanges(
        step_back_on=day,
        morning_from=day + dt.timedelta(days=3),
        procedure=ProcedureHold(
            date=START + dt.timedelta(days=60), opioids_stop=START + dt.timedelta(days=62)
        ),
    )
    asked = build_plan(PlanRequest(protocol="standard", start=START, changes=changes))
    assert asked == expected
    assert [a.kind for a in asked.adjustments] == ["step-back", "move-to-morning", "procedure-hold"]


def test_a_change_that_cannot_be_made_is_named_by_the_requests_field() -> None:
    changes = PlanChanges(step_back_on=START, procedure=ProcedureHold(date=START, hold_days=1))
    with pytest.raises(InputError) as exc:
        build_plan(PlanRequest(protocol="standard", start=START, changes=changes))
    # Stepping back on the first day has nothing to go back to: named, and nothing else runs.
    assert list(fields(exc)) == ["changes.step_back_on"]
    only_hold = PlanChanges(procedure=ProcedureHold(date=START, hold_days=1))
    with pytest.raises(InputError) as exc:
        build_plan(PlanRequest(protocol="standard", start=START, changes=only_hold))
    assert "changes.procedure.hold_days" in fields(exc)


def test_each_step_of_a_liquid_plan_is_measured_in_ml() -> None:
    plan = build_plan(PlanRequest.model_validate({**QUARTERS, "dispensing": LIQUID}))
    supply = liquid_supply(plan, 60, 50, 50, "fawcett")
    assert [(s.dose_mg, s.dose_ml) for s in supply.steps][:3] == [
        (0.25, 0.25),
        (0.5, 0.5),
        (0.75, 0.75),
    ]
    assert supply.steps[0].days_per_tablet == 200
    assert supply.recipe_name == product_book().recipe("fawcett").name
    assert {b.days for b in supply.beyond_use} == {60, 30}


def test_tablets_are_counted_by_what_the_doses_use_and_the_use_by_date() -> None:
    # 1.5 mg a day from 50 mg in 50 mL: a tablet would last 33 days, but plain water is used
    # by 5 days after it is made (made on day 1, last used on day 6), so a fresh tablet's
    # liquid is made every 6 days.
    plan = build_plan(
        PlanRequest.model_validate(
            {**QUARTERS, "start_dose_mg": 1.5, "step_mg": 1.5, "target_mg": 1.5}
        )
    )
    water = liquid_supply(plan, 30, 50, 50, "water")
    assert water.tablets == 5  # days 1, 7, 13, 19, 25
    fawcett = liquid_supply(plan, 30, 50, 50, "fawcett")
    assert fawcett.tablets == 1  # 45 mg in 30 days, within the 60 refrigerated days
    assert any("No stability data" in w for w in water.warnings)
    # Whole micrograms: 4.5 mg a day empties a 50 mg tablet after 11 doses.
    steady = build_plan(PlanRequest(protocol="custom", start=START, start_dose_mg=4.5,
                                    step_mg=0.5, interval_days=7, target_mg=4.5))  # fmt: skip
    assert liquid_supply(steady, 22, 50, 50, "fawcett").tablets == 2


def test_dispense_gives_capsules_or_the_liquid_as_asked() -> None:
    plan = build_plan(PlanRequest(protocol="standard", start=START))
    assert isinstance(dispense(plan, Dispensing(days=30)), CapsuleSupply)
    assert isinstance(dispense(plan, LIQUID), LiquidSupply)
    with pytest.raises(InputError) as exc:
        dispense(plan, LIQUID.model_copy(update={"tablet_mg": 1.0}))
    assert fields(exc)["dose_mg"] == "at most the tablet's strength"
