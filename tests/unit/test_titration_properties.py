"""Titration invariants, checked on generated plans and generated adjustment sequences.

A plan never goes above its target; its dose never goes down, and dosing never pauses, except
where an explicit adjustment recorded in the plan says so.
"""

from __future__ import annotations

import contextlib
import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from ldnkit.domain.titration import (
    Plan,
    PlanRequest,
    build_plan,
    hold_for_procedure,
    move_to_morning,
    step_back,
)
from ldnkit.validation import InputError

DAY = dt.timedelta(days=1)
halves = st.integers(min_value=1, max_value=24).map(lambda n: n * 0.5)  # 0.5 .. 12 mg
starts = st.dates(min_value=dt.date(2020, 1, 1), max_value=dt.date(2035, 12, 31))


@st.composite
def requests(draw: st.DrawFn) -> PlanRequest:
    target = draw(halves)
    start_dose = draw(halves.filter(lambda d: d <= target))
    return PlanRequest(
        protocol="custom",
        start=draw(starts),
        start_dose_mg=start_dose,
        step_mg=draw(halves),
        interval_days=draw(st.integers(min_value=1, max_value=42)),
        target_mg=target,
        allow_above_5mg=target > 5,
    )


any_request = st.one_of(
    requests(),
    st.builds(PlanRequest, protocol=st.sampled_from(["standard", "gentle"]), start=starts),
)


def assert_well_formed(plan: Plan) -> None:
    """Ordered, non-overlapping steps; one open step at most, and only at the end."""
    for step in plan.steps:
        assert step.end is None or step.start <= step.end
        assert 0 < step.dose_mg <= plan.target_mg
    for before, after in zip(plan.steps, plan.steps[1:], strict=False):
        assert before.end is not None
        assert after.start > before.end


@given(any_request)
@settings(max_examples=150, deadline=None)
def test_unadjusted_plan_rises_in_equal_steps_to_its_target(req: PlanRequest) -> None:
    plan = build_plan(req)
    assert_well_formed(plan)
    assert plan.steps[0].start == req.start
    assert plan.steps[-1].end is None
    assert plan.steps[-1].dose_mg == plan.target_mg
    doses = [s.dose_mg for s in plan.steps]
    assert doses == sorted(doses)
    assert len(set(doses)) == len(doses)
    for before, after in zip(plan.steps, plan.steps[1:], strict=False):
        assert before.end is not None
        assert after.start == before.end + DAY  # contiguous: no day without a dose
        assert (before.end - before.start).days + 1 == plan.interval_days
        # Each rise is one step, except the last, which may be cut short by the target.
        assert round(after.dose_mg - before.dose_mg, 6) <= plan.step_mg


@given(any_request, st.integers(min_value=0, max_value=400))
@settings(max_examples=100, deadline=None)
def test_dose_on_agrees_with_the_steps(req: PlanRequest, offset: int) -> None:
    plan = build_plan(req)
    day = req.start + dt.timedelta(days=offset)
    step = next(s for s in plan.steps if s.start <= day and (s.end is None or day <= s.end))
    assert plan.dose_on(day) == step.dose_mg
    assert plan.dose_on(req.start - DAY) is None


adjustment = st.tuples(
    st.sampled_from(["morning", "step_back", "hold"]),
    st.integers(min_value=0, max_value=200),
    st.integers(min_value=0, max_value=30),
    st.integers(min_value=2, max_value=3),
)


RECORDED_AS = {"morning": "move-to-morning", "step_back": "step-back", "hold": "procedure-hold"}


def _apply(plan: Plan, kind: str, offset: int, opioid_days: int, hold: int) -> Plan:
    day = plan.steps[0].start + dt.timedelta(days=offset)
    if kind == "morning":
        return move_to_morning(plan, day)
    if kind == "step_back":
        return step_back(plan, day)
    return hold_for_procedure(plan, day, day + dt.timedelta(days=opioid_days), hold)


@given(any_request, st.lists(adjustment, max_size=4))
@settings(max_examples=150, deadline=None)
def test_doses_fall_or_pause_only_where_an_adjustment_says_so(
    req: PlanRequest, changes: list[tuple[str, int, int, int]]
) -> None:
    plan = build_plan(req)
    for change in changes:
        before = plan
        try:
            plan = _apply(plan, *change)
        except InputError:
            assert plan == before  # a refused adjustment leaves the plan as it was
            continue
        # Recorded; a hold dated again (same first day without LDN) replaces its record.
        assert plan.adjustments[-1].kind == RECORDED_AS[change[0]]
        assert len(before.adjustments) <= len(plan.adjustments) <= len(before.adjustments) + 1
    assert_well_formed(plan)
    allowed = {a.on for a in plan.adjustments} | {
        a.resumes_on for a in plan.adjustments if a.resumes_on
    }
    for step, following in zip(plan.steps, plan.steps[1:], strict=False):
        assert step.end is not None
        paused = following.start > step.end + DAY
        if following.dose_mg < step.dose_mg or paused:
            assert following.start in allowed


@given(any_request, st.integers(min_value=0, max_value=200))
@settings(max_examples=60, deadline=None)
def test_adjustments_return_a_new_plan_and_leave_the_old_one_intact(
    req: PlanRequest, offset: int
) -> None:
    plan = build_plan(req)
    snapshot = plan.model_dump()
    move_to_morning(plan, req.start + dt.timedelta(days=offset))
    with contextlib.suppress(InputError):
        step_back(plan, req.start + dt.timedelta(days=offset))
    assert plan.model_dump() == snapshot
