"""Titration plans: the contract examples, refusals, and each adjustment."""

from __future__ import annotations

import datetime as dt

import pytest
from pydantic import ValidationError

from ldnkit.domain.titration import (
    Plan,
    PlanRequest,
    build_plan,
    hold_for_procedure,
    move_to_morning,
    step_back,
)
from ldnkit.knowledge.files import read_data
from ldnkit.knowledge.limits import limits
from ldnkit.knowledge.protocols import cited_source_ids, product_book
from ldnkit.validation import InputError

D = dt.date
START = D(2026, 11, 23)


def plan_of(protocol: str = "standard", **fields: object) -> Plan:
    return build_plan(PlanRequest.model_validate({"protocol": protocol, "start": START, **fields}))


def rows(plan: Plan) -> list[tuple[D, D | None, float, str]]:
    return [(s.start, s.end, s.dose_mg, s.time) for s in plan.steps]


def problems(exc: pytest.ExceptionInfo[InputError]) -> dict[str, str]:
    return {p.field: f"{p.received} | {p.expected}" for p in exc.value.problems}


def test_standard_plan_matches_the_contract_example() -> None:
    # Inclusive ends: 14 days from 23 Nov are 23 Nov..6 Dec; the next step starts 7 Dec.
    assert rows(plan_of()) == [
        (D(2026, 11, 23), D(2026, 12, 6), 1.5, "bedtime"),
        (D(2026, 12, 7), D(2026, 12, 20), 3.0, "bedtime"),
        (D(2026, 12, 21), None, 4.5, "bedtime"),
    ]


def test_each_step_of_the_standard_plan_lasts_fourteen_days() -> None:
    plan = plan_of()
    for step in plan.steps[:-1]:
        assert step.end is not None
        assert (step.end - step.start).days + 1 == 14


def test_gentle_plan_climbs_half_a_milligram_a_week_to_four_and_a_half() -> None:
    plan = plan_of("gentle")
    assert [s.dose_mg for s in plan.steps] == [0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5]
    assert plan.steps[1].start == D(2026, 11, 30)
    assert plan.steps[-1].start == START + dt.timedelta(days=7 * 8)
    assert plan.steps[-1].end is None
    assert plan.sources == ("ldnrt-gentle-start",)


def test_custom_plan_caps_the_last_step_at_the_target() -> None:
    plan = plan_of("custom", start_dose_mg=1, step_mg=1, interval_days=10, target_mg=2.5)
    assert rows(plan) == [
        (D(2026, 11, 23), D(2026, 12, 2), 1.0, "bedtime"),
        (D(2026, 12, 3), D(2026, 12, 12), 2.0, "bedtime"),
        (D(2026, 12, 13), None, 2.5, "bedtime"),
    ]


def test_custom_plan_starting_at_its_target_is_one_open_step() -> None:
    plan = plan_of("custom", start_dose_mg=3, step_mg=0.5, interval_days=7, target_mg=3)
    assert rows(plan) == [(START, None, 3.0, "bedtime")]


def test_morning_time_is_kept_on_every_step() -> None:
    assert {s.time for s in plan_of("gentle", time="morning").steps} == {"morning"}


def test_dose_on_follows_the_steps_and_is_none_before_the_start() -> None:
    plan = plan_of()
    assert plan.dose_on(D(2026, 11, 22)) is None
    assert plan.dose_on(D(2026, 12, 6)) == 1.5
    assert plan.dose_on(D(2026, 12, 7)) == 3.0
    assert plan.dose_on(D(2030, 1, 1)) == 4.5


def test_target_above_five_mg_is_refused_without_the_override() -> None:
    with pytest.raises(InputError) as exc:
        plan_of("custom", start_dose_mg=1.5, step_mg=1.5, interval_days=14, target_mg=6)
    assert "allow_above_5mg" in problems(exc)["target_mg"]


def test_target_above_five_mg_is_built_with_the_override() -> None:
    plan = plan_of(
        "custom",
        start_dose_mg=1.5,
        step_mg=1.5,
        interval_days=14,
        target_mg=6,
        allow_above_5mg=True,
    )
    assert [s.dose_mg for s in plan.steps] == [1.5, 3.0, 4.5, 6.0]


def test_the_hard_maximum_holds_even_with_the_override() -> None:
    hard_max = limits().ldn_dose.hard_max.mg
    with pytest.raises(InputError) as exc:
        plan_of(
            "custom",
            start_dose_mg=1.5,
            step_mg=1.5,
            interval_days=14,
            target_mg=hard_max + 0.5,
            allow_above_5mg=True,
        )
    assert "bolton-2020" in problems(exc)["target_mg"]


@pytest.mark.parametrize("field", ["target_mg", "start_dose_mg"])
def test_fifty_mg_is_always_refused_as_standard_dose_naltrexone(field: str) -> None:
    numbers: dict[str, object] = {
        "start_dose_mg": 1.5,
        "step_mg": 1.5,
        "interval_days": 14,
        "target_mg": 4.5,
    }
    numbers[field] = 50
    with pytest.raises(InputError) as exc:
        plan_of("custom", allow_above_5mg=True, **numbers)
    assert "standard-dose naltrexone, not LDN" in problems(exc)[field]


@pytest.mark.parametrize("bad", [0, -1.5])
def test_zero_and_negative_doses_are_refused(bad: float) -> None:
    with pytest.raises(InputError) as exc:
        plan_of("custom", start_dose_mg=bad, step_mg=bad, interval_days=7, target_mg=bad)
    assert [str(p) for p in exc.value.problems] == [
        f"start_dose_mg: got {float(bad)}; expected a dose above 0 mg",
        f"target_mg: got {float(bad)}; expected a dose above 0 mg",
        f"step_mg: got {float(bad)}; expected an increase above 0 mg",
    ]


def test_doses_that_capsules_cannot_fill_are_refused() -> None:
    with pytest.raises(InputError) as exc:
        plan_of("custom", start_dose_mg=1, step_mg=0.3, interval_days=7, target_mg=4)
    assert "multiple of 0.5 mg" in problems(exc)["step_mg"]


def test_start_above_target_is_refused() -> None:
    with pytest.raises(InputError) as exc:
        plan_of("custom", start_dose_mg=4.5, step_mg=1, interval_days=7, target_mg=3)
    assert "at most the target" in problems(exc)["start_dose_mg"]


def test_custom_plan_lists_every_missing_number_at_once() -> None:
    with pytest.raises(InputError) as exc:
        plan_of("custom", step_mg=1)
    assert set(problems(exc)) == {"start_dose_mg", "interval_days", "target_mg"}


def test_named_protocols_refuse_custom_numbers() -> None:
    with pytest.raises(InputError) as exc:
        plan_of("standard", target_mg=3)
    assert "protocol standard sets it" in problems(exc)["target_mg"]


def test_dates_far_outside_any_treatment_are_refused() -> None:
    with pytest.raises(InputError) as exc:
        build_plan(PlanRequest(protocol="standard", start=D(9999, 12, 25)))
    assert "a date from 1900-01-01" in problems(exc)["start"]
    with pytest.raises(InputError) as exc:
        step_back(plan_of(), D(9999, 12, 31))
    assert "intolerable_on" in problems(exc)


def test_unknown_request_fields_are_errors() -> None:
    with pytest.raises(ValidationError, match="targt"):
        PlanRequest.model_validate({"protocol": "standard", "start": START, "targt": 3})


# Adjustments


def test_moving_to_the_morning_splits_the_step_on_that_day() -> None:
    original = plan_of()
    moved = move_to_morning(original, D(2026, 12, 1))
    assert rows(moved) == [
        (D(2026, 11, 23), D(2026, 11, 30), 1.5, "bedtime"),
        (D(2026, 12, 1), D(2026, 12, 6), 1.5, "morning"),
        (D(2026, 12, 7), D(2026, 12, 20), 3.0, "morning"),
        (D(2026, 12, 21), None, 4.5, "morning"),
    ]
    assert moved.adjustments[0].kind == "move-to-morning"
    assert moved.adjustments[0].evidence == "L"
    assert "prescriber-dosing-sheets" in moved.sources
    assert original == plan_of()  # never mutated


def test_an_intolerable_step_goes_back_two_weeks_then_retries() -> None:
    plan = step_back(plan_of(), D(2026, 12, 10))
    assert rows(plan) == [
        (D(2026, 11, 23), D(2026, 12, 6), 1.5, "bedtime"),
        (D(2026, 12, 7), D(2026, 12, 9), 3.0, "bedtime"),
        (D(2026, 12, 10), D(2026, 12, 23), 1.5, "bedtime"),  # last tolerated, 14 days
        (D(2026, 12, 24), D(2027, 1, 6), 3.0, "bedtime"),  # retry for a full step
        (D(2027, 1, 7), None, 4.5, "bedtime"),
    ]
    assert plan.adjustments[-1].on == D(2026, 12, 10)


def test_stepping_back_on_the_first_day_of_a_step_drops_that_step() -> None:
    plan = step_back(plan_of(), D(2026, 12, 7))
    assert [s.dose_mg for s in plan.steps] == [1.5, 1.5, 3.0, 4.5]
    assert plan.steps[1].start == D(2026, 12, 7)


def test_stepping_back_from_the_target_retries_the_target_open_ended() -> None:
    plan = step_back(plan_of(), D(2027, 1, 5))
    assert rows(plan)[-2:] == [
        (D(2027, 1, 5), D(2027, 1, 18), 3.0, "bedtime"),
        (D(2027, 1, 19), None, 4.5, "bedtime"),
    ]


def test_the_starting_dose_has_nothing_to_step_back_to() -> None:
    with pytest.raises(InputError) as exc:
        step_back(plan_of(), D(2026, 11, 25))
    assert "no lower tolerated dose" in problems(exc)["intolerable_on"]


def test_stepping_back_before_the_plan_starts_is_refused() -> None:
    with pytest.raises(InputError) as exc:
        step_back(plan_of(), D(2026, 11, 1))
    assert "a dosing day of the plan" in problems(exc)["intolerable_on"]


def test_procedure_hold_stops_three_days_before_and_restarts_at_the_starting_dose() -> None:
    plan = hold_for_procedure(plan_of(), D(2026, 12, 10), opioids_stop=D(2026, 12, 12))
    washout = limits().washout.short_acting.days
    restart = D(2026, 12, 12) + dt.timedelta(days=washout)
    assert rows(plan) == [
        (D(2026, 11, 23), D(2026, 12, 6), 1.5, "bedtime"),
        (D(2026, 12, 7), D(2026, 12, 7), 3.0, "bedtime"),  # last dose 3 days before
        (restart, restart + dt.timedelta(days=13), 1.5, "bedtime"),
        (restart + dt.timedelta(days=14), restart + dt.timedelta(days=27), 3.0, "bedtime"),
        (restart + dt.timedelta(days=28), None, 4.5, "bedtime"),
    ]
    hold = plan.adjustments[-1]
    assert (hold.on, hold.resumes_on) == (D(2026, 12, 8), restart)
    assert {"seed-003", "whately-stead-2023"} <= set(hold.sources)
    assert plan.dose_on(D(2026, 12, 9)) is None
    assert plan.dose_on(D(2026, 12, 10)) is None


def test_two_day_hold_is_the_shortest_allowed() -> None:
    plan = hold_for_procedure(plan_of(), D(2026, 12, 10), None, hold_days=2)
    assert plan.steps[-1].end == D(2026, 12, 8)
    with pytest.raises(InputError) as exc:
        hold_for_procedure(plan_of(), D(2026, 12, 10), None, hold_days=1)
    assert "nothing supports 24 hours" in problems(exc)["hold_days"]


def test_hold_without_an_opioid_stop_date_leaves_the_restart_open() -> None:
    plan = hold_for_procedure(plan_of(), D(2027, 1, 20), None)
    assert plan.steps[-1].end == D(2027, 1, 17)
    assert plan.steps[-1].dose_mg == 4.5
    assert plan.adjustments[-1].resumes_on is None


def test_dating_the_restart_later_replaces_the_open_hold() -> None:
    waiting = hold_for_procedure(plan_of(), D(2027, 1, 20), None)
    dated = hold_for_procedure(waiting, D(2027, 1, 20), D(2027, 1, 22))
    assert [(a.kind, a.resumes_on) for a in dated.adjustments] == [
        ("procedure-hold", D(2027, 1, 29))
    ]
    assert dated.steps[-1].end is None
    assert dated == hold_for_procedure(plan_of(), D(2027, 1, 20), D(2027, 1, 22))


def test_hold_keeps_morning_dosing_on_the_restart() -> None:
    plan = move_to_morning(plan_of(), START)
    plan = hold_for_procedure(plan, D(2026, 12, 10), D(2026, 12, 11))
    assert {s.time for s in plan.steps} == {"morning"}


def test_hold_refuses_opioids_stopping_before_the_procedure() -> None:
    with pytest.raises(InputError) as exc:
        hold_for_procedure(plan_of(), D(2026, 12, 10), D(2026, 12, 9))
    assert "opioids_stop" in problems(exc)


def test_hold_for_a_procedure_before_the_plan_can_start_is_refused() -> None:
    with pytest.raises(InputError) as exc:
        hold_for_procedure(plan_of(), D(2026, 11, 24), D(2026, 11, 25))
    assert "procedure_date" in problems(exc)


def test_every_cited_source_id_resolves() -> None:
    known = {entry["id"] for entry in read_data("sources.yaml")}
    assert cited_source_ids() - known == set()
    assert limits().cited_source_ids() - known == set()
    assert product_book().capsules.strengths_mg  # the product file loads too
