"""Titration plans: a protocol and a start date become dated dosing steps.

Doses are handled in whole micrograms inside this module so that repeated steps never pick up
floating-point error (0.5 mg added nine times is exactly 4.5 mg). Steps run from `start` to
`end` inclusive: a 14-day step starting on the 23rd ends on the 6th of the next month, and the
next step starts the day after. The last step of a plan is open (`end` is None).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from ldnkit.domain.dispensing import Dispensing, DoseForm
from ldnkit.knowledge.limits import limits, render
from ldnkit.knowledge.protocols import DoseTime, mg_to_ug, protocol_book, ug_to_mg
from ldnkit.validation import InputError, Problem, show

ProtocolName = Literal["standard", "gentle", "custom"]
AdjustmentKind = Literal["move-to-morning", "step-back", "procedure-hold"]

STANDARD_DOSE_MESSAGE = "standard-dose naltrexone, not LDN"
# Plans are dated arithmetic; bounding dates keeps it clear of the calendar's end.
EARLIEST, LATEST = dt.date(1900, 1, 1), dt.date(2199, 12, 31)


def _within_calendar(value: dt.date) -> dt.date:
    if not EARLIEST <= value <= LATEST:
        raise ValueError(f"a date from {EARLIEST} to {LATEST}")
    return value


# A date that dated arithmetic (beyond-use dates, plan steps) cannot push off the calendar.
CalendarDate = Annotated[dt.date, AfterValidator(_within_calendar)]
_CUSTOM_FIELDS = ("start_dose_mg", "step_mg", "interval_days", "target_mg")


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class ProcedureHold(_Frozen):
    """A procedure with opioids expected: its day, the last day of opioids after it (when
    known) and the days from the last LDN dose to the procedure (default: limits.yaml)."""

    date: dt.date
    opioids_stop: dt.date | None = None
    hold_days: Annotated[int, Field(ge=0, le=366)] | None = None


class PlanChanges(_Frozen):
    """Adjustments asked for with a plan, applied in this order: step back, morning, hold."""

    step_back_on: dt.date | None = None
    morning_from: dt.date | None = None
    procedure: ProcedureHold | None = None


class PlanRequest(_Frozen):
    """What a prescriber asks for: a protocol, a start date and, for `custom`, its numbers;
    optionally the adjustments to make and how the plan is dispensed."""

    protocol: ProtocolName
    start: dt.date
    # Dose limits are checked by build_plan, which reports them in the words of LDN dosing.
    start_dose_mg: float | None = None
    step_mg: float | None = None
    interval_days: Annotated[int, Field(ge=1, le=365)] | None = None
    target_mg: float | None = None
    time: DoseTime | None = None
    allow_above_5mg: bool = False
    changes: PlanChanges | None = None
    # A liquid measures doses that capsules cannot make (0.75 mg); without it, capsules.
    dispensing: Dispensing | None = None

    @property
    def form(self) -> DoseForm:
        return self.dispensing.form if self.dispensing else "capsules"


class Step(_Frozen):
    """One dose taken every day from `start` to `end` inclusive (`end` None: continue)."""

    start: dt.date
    end: dt.date | None
    dose_mg: float
    time: DoseTime
    note: str | None = None

    def covers(self, day: dt.date) -> bool:
        return self.start <= day and (self.end is None or day <= self.end)

    @property
    def dose_ug(self) -> int:
        return mg_to_ug(self.dose_mg)


class Adjustment(_Frozen):
    """A change made to a plan on purpose, with its reason and sources.

    `on` is the first day the plan changed; `resumes_on` is, for a hold, the day dosing restarts
    (None while it is not yet known).
    """

    kind: AdjustmentKind
    on: dt.date
    resumes_on: dt.date | None = None
    message: str
    sources: tuple[str, ...]
    evidence: Literal["H", "M", "L"]


class Plan(_Frozen):
    """A titration plan: dated steps plus the protocol numbers used to (re)build them."""

    protocol: ProtocolName
    start_dose_mg: float
    step_mg: float
    interval_days: int
    target_mg: float
    steps: tuple[Step, ...]
    adjustments: tuple[Adjustment, ...] = ()
    sources: tuple[str, ...]

    def dose_on(self, day: dt.date) -> float | None:
        """The dose to take on `day`, or None before the plan and on days without LDN."""
        for step in self.steps:
            if step.covers(day):
                return step.dose_mg
        return None

    def contract(self) -> dict[str, object]:
        """The `ldnkit plan --json` contract: steps with ISO dates, the last one open."""
        return {
            "protocol": self.protocol,
            "target_mg": self.target_mg,
            "steps": [
                {
                    "start": s.start.isoformat(),
                    "end": s.end.isoformat() if s.end else None,
                    "dose_mg": s.dose_mg,
                    "time": s.time,
                    "note": s.note,
                }
                for s in self.steps
            ],
            "adjustments": [a.model_dump(mode="json") for a in self.adjustments],
            "sources": list(self.sources),
        }


def _fmt(mg: float | Decimal) -> str:
    return f"{Decimal(str(mg)).normalize():f} mg"


# How the dose limit's override is named where the contract names it (the plan request's field
# and the CLI flag); pages name it by the box a person ticks instead.
ABOVE_USUAL_OVERRIDE = "allow_above_5mg (--allow-above-5mg)"


def dose_problems(field: str, mg: float, *, allow_above_5mg: bool) -> list[Problem]:
    """Why a dose cannot be part of an LDN plan or liquid (empty when it can)."""
    band = limits().ldn_dose
    try:
        value = Decimal(str(mg))
    except InvalidOperation:
        return [Problem(field, show(mg), "a number of milligrams")]
    if not value.is_finite() or value <= 0:
        return [Problem(field, show(mg), "a dose above 0 mg")]
    if value >= Decimal(str(band.standard.mg)):
        return [
            Problem(
                field,
                f"{show(mg)} ({STANDARD_DOSE_MESSAGE})",
                f"an LDN dose of at most {_fmt(band.hard_max.mg)}",
            )
        ]
    if value > Decimal(str(band.hard_max.mg)):
        return [
            Problem(
                field,
                show(mg),
                f"at most {_fmt(band.hard_max.mg)}, the highest LDN dose reported "
                f"(case reports, sources: {', '.join(band.hard_max.sources)})",
            )
        ]
    if value > Decimal(str(band.usual_max.mg)) and not allow_above_5mg:
        return [
            Problem(
                field,
                show(mg),
                f"at most {_fmt(band.usual_max.mg)}, the LDN range (sources: "
                f"{', '.join(band.usual_max.sources)}); above it only with the override "
                + ABOVE_USUAL_OVERRIDE,
            )
        ]
    return []


def _multiple_problem(field: str, mg: float, form: DoseForm) -> Problem | None:
    """Why a dose cannot be dispensed in `form` (capsule strengths, or whole micrograms)."""
    step = limits().ldn_dose.dose_multiple.mg if form == "capsules" else 0.001
    try:
        fits = (Decimal(str(mg)) * 1000) % mg_to_ug(step) == 0
    except InvalidOperation:  # 1e308 mg: too many digits to divide, and no multiple anyway
        fits = False
    if fits:
        return None
    if form == "liquid":
        return Problem(field, show(mg), "a dose in whole micrograms (0.001 mg steps)")
    return Problem(
        field,
        show(mg),
        f"a multiple of {_fmt(step)} so each step can be filled with "
        "capsules (use a liquid for other doses)",
    )


def _day_problems(field: str, day: dt.date | None) -> list[Problem]:
    if day is None or EARLIEST <= day <= LATEST:
        return []
    return [Problem(field, show(day.isoformat()), f"a date from {EARLIEST} to {LATEST}")]


def _resolve(req: PlanRequest) -> tuple[int, int, int, int, DoseTime, tuple[str, ...]]:
    """The request's numbers in micrograms, or every problem with them at once."""
    protocol = protocol_book().protocol(req.protocol)
    problems: list[Problem] = _day_problems("start", req.start)
    given = {name: getattr(req, name) for name in _CUSTOM_FIELDS}
    if req.protocol == "custom":
        for name, value in given.items():
            if value is None:
                problems.append(Problem(name, "nothing", "a value (required for protocol custom)"))
        if problems:
            raise InputError(problems)
        start_mg, step_mg = float(given["start_dose_mg"]), float(given["step_mg"])
        interval, target_mg = int(given["interval_days"]), float(given["target_mg"])
    else:
        for name, value in given.items():
            if value is not None:
                problems.append(
                    Problem(name, show(value), f"nothing (protocol {req.protocol} sets it)")
                )
        if problems:
            raise InputError(problems)
        # The loader guarantees that every named protocol has all four numbers.
        start_mg, step_mg = float(protocol.start_dose_mg or 0), float(protocol.step_mg or 0)
        interval, target_mg = int(protocol.interval_days or 0), float(protocol.target_mg or 0)
    for name, mg in (("start_dose_mg", start_mg), ("target_mg", target_mg)):
        problems += dose_problems(name, mg, allow_above_5mg=req.allow_above_5mg)
    if step_mg <= 0:
        problems.append(Problem("step_mg", show(step_mg), "an increase above 0 mg"))
    if not problems:
        named = (("start_dose_mg", start_mg), ("step_mg", step_mg), ("target_mg", target_mg))
        for name, mg in named:
            multiple = _multiple_problem(name, mg, req.form)
            if multiple:
                problems.append(multiple)
    if not problems and mg_to_ug(start_mg) > mg_to_ug(target_mg):
        problems.append(
            Problem("start_dose_mg", show(start_mg), f"at most the target ({_fmt(target_mg)})")
        )
    if problems:
        raise InputError(problems)
    return (
        mg_to_ug(start_mg),
        mg_to_ug(step_mg),
        interval,
        mg_to_ug(target_mg),
        req.time or protocol.time,
        protocol.sources,
    )


def titrate(
    start: dt.date,
    start_ug: int,
    step_ug: int,
    interval_days: int,
    target_ug: int,
    time: DoseTime,
    first_note: str | None = None,
) -> list[Step]:
    """Steps from `start`: start dose, then + step every interval, capped at the target."""
    steps: list[Step] = []
    dose, day = start_ug, start
    while True:
        dose = min(dose, target_ug)
        last = dose == target_ug
        end = None if last else day + dt.timedelta(days=interval_days - 1)
        steps.append(
            Step(
                start=day,
                end=end,
                dose_mg=ug_to_mg(dose),
                time=time,
                note=first_note if not steps else None,
            )
        )
        if end is None:
            return steps
        dose, day = dose + step_ug, end + dt.timedelta(days=1)


def build_plan(req: PlanRequest) -> Plan:
    """Build the dated steps of a protocol, then make the changes it asks for; bad numbers
    raise InputError naming each field."""
    start_ug, step_ug, interval, target_ug, time, sources = _resolve(req)
    plan = Plan(
        protocol=req.protocol,
        start_dose_mg=ug_to_mg(start_ug),
        step_mg=ug_to_mg(step_ug),
        interval_days=interval,
        target_mg=ug_to_mg(target_ug),
        steps=tuple(titrate(req.start, start_ug, step_ug, interval, target_ug, time)),
        sources=sources,
    )
    return apply_changes(plan, req.changes) if req.changes else plan


# The adjustments' own argument names, as the plan request's fields name them.
_CHANGE_FIELDS = {
    "intolerable_on": "changes.step_back_on",
    "from_day": "changes.morning_from",
    "procedure_date": "changes.procedure.date",
    "opioids_stop": "changes.procedure.opioids_stop",
    "hold_days": "changes.procedure.hold_days",
}


def apply_changes(plan: Plan, changes: PlanChanges) -> Plan:
    """Step back, move to the morning, hold for a procedure: each that is asked for, in this
    order (the order of `ldnkit plan`), every problem named by the request's own fields."""
    try:
        if changes.step_back_on is not None:
            plan = step_back(plan, changes.step_back_on)
        if changes.morning_from is not None:
            plan = move_to_morning(plan, changes.morning_from)
        if changes.procedure is not None:
            hold = changes.procedure
            plan = hold_for_procedure(plan, hold.date, hold.opioids_stop, hold.hold_days)
    except InputError as exc:
        raise InputError(
            Problem(_CHANGE_FIELDS.get(p.field, p.field), p.received, p.expected)
            for p in exc.problems
        ) from None
    return plan


# Adjustments. Each returns a new Plan and records itself in `Plan.adjustments`, so that every
# lower dose or pause in a plan can be traced to a deliberate, cited decision.

_DAY = dt.timedelta(days=1)


def _adjusted(plan: Plan, steps: list[Step], adjustment: Adjustment) -> Plan:
    sources = tuple(dict.fromkeys((*plan.sources, *adjustment.sources)))
    return plan.model_copy(
        update={
            "steps": tuple(steps),
            "adjustments": (*plan.adjustments, adjustment),
            "sources": sources,
        }
    )


def _split(step: Step, day: dt.date) -> tuple[Step | None, Step]:
    """The part of a step before `day` (None if empty) and the part from `day` on."""
    if day <= step.start:
        return None, step
    before = step.model_copy(update={"end": day - _DAY})
    after = step.model_copy(update={"start": day, "note": None})
    return before, after


def move_to_morning(plan: Plan, from_day: dt.date) -> Plan:
    """Take every dose from `from_day` on in the morning (for insomnia or vivid dreams)."""
    rule = protocol_book().adjustments.move_to_morning
    steps: list[Step] = []
    for step in plan.steps:
        if step.end is not None and step.end < from_day:
            steps.append(step)
            continue
        before, after = _split(step, from_day)
        if before:
            steps.append(before)
        steps.append(after.model_copy(update={"time": "morning"}))
    adjustment = Adjustment(
        kind="move-to-morning",
        on=from_day,
        message=rule.message,
        sources=rule.sources,
        evidence=rule.evidence,
    )
    return _adjusted(plan, steps, adjustment)


def _covering(plan: Plan, field: str, day: dt.date) -> int:
    for index, step in enumerate(plan.steps):
        if step.covers(day):
            return index
    first = plan.steps[0].start.isoformat() if plan.steps else "the plan's start"
    raise InputError.single(field, day.isoformat(), f"a dosing day of the plan (from {first})")


def step_back(plan: Plan, intolerable_on: dt.date) -> Plan:
    """From `intolerable_on`, go back to the last tolerated dose for 2 weeks, then retry.

    The step that was not tolerated is retried for its full length and the rest of the plan
    follows it, later by as many days as the step-back took.
    """
    rule = protocol_book().adjustments.step_back
    if problems := _day_problems("intolerable_on", intolerable_on):
        raise InputError(problems)
    index = _covering(plan, "intolerable_on", intolerable_on)
    failed = plan.steps[index]
    tolerated = next((s for s in reversed(plan.steps[:index]) if s.dose_ug < failed.dose_ug), None)
    if tolerated is None:
        raise InputError.single(
            "intolerable_on",
            intolerable_on.isoformat(),
            f"a day after the first {_fmt(failed.dose_mg)} step: there is no lower tolerated "
            "dose to go back to (consider a gentler start)",
        )
    # Stepping back moves the rest of the plan later; a change already dated after this day
    # would move with it and no longer match its record, so changes are made in date order.
    later = [a for a in plan.adjustments if a.on > intolerable_on]
    if later:
        raise InputError.single(
            "intolerable_on",
            intolerable_on.isoformat(),
            f"a day on or after the plan's latest change ({later[-1].kind} on "
            f"{later[-1].on.isoformat()}); changes are made in date order",
        )
    before, _ = _split(failed, intolerable_on)
    retry_on = intolerable_on + dt.timedelta(days=rule.days)
    back = Step(
        start=intolerable_on,
        end=retry_on - _DAY,
        dose_mg=tolerated.dose_mg,
        time=failed.time,
        note=f"Back to the last tolerated dose; retry {_fmt(failed.dose_mg)} on {retry_on}",
    )
    delay = retry_on - failed.start
    moved = [
        s.model_copy(update={"start": s.start + delay, "end": s.end + delay if s.end else None})
        for s in plan.steps[index:]
    ]
    moved[0] = moved[0].model_copy(update={"note": "Retry after stepping back"})
    steps = [*plan.steps[:index], *([before] if before else []), back, *moved]
    adjustment = Adjustment(
        kind="step-back",
        on=intolerable_on,
        message=rule.message,
        sources=rule.sources,
        evidence=rule.evidence,
    )
    return _adjusted(plan, steps, adjustment)


def hold_for_procedure(
    plan: Plan,
    procedure_date: dt.date,
    opioids_stop: dt.date | None,
    hold_days: int | None = None,
    *,
    washout_days: int | None = None,
) -> Plan:
    """Stop before a procedure where opioids are expected; restart at the starting dose after.

    The last dose is taken `hold_days` (default: the usual hold of limits.yaml, never less than
    its minimum) days before the procedure. Dosing restarts `washout_days` (default: the
    short-acting opioid-free interval) after the last opioid dose `opioids_stop`, at the
    protocol's starting dose, and the titration runs again. Without `opioids_stop` the plan
    ends before the procedure until the restart can be dated.
    """
    rule = protocol_book().adjustments.procedure_hold
    numbers = limits()
    least_hold, least_washout = numbers.hold.minimum.days, numbers.washout.short_acting.days
    hold = numbers.hold.usual.days if hold_days is None else hold_days
    washout = least_washout if washout_days is None else washout_days
    problems = _day_problems("procedure_date", procedure_date)
    problems += _day_problems("opioids_stop", opioids_stop)
    if not least_hold <= hold <= rule.max_hold_days:
        problems.append(
            Problem(
                "hold_days",
                show(hold),
                f"{least_hold} to {rule.max_hold_days} days ({rule.hold_range_note})",
            )
        )
    if washout < least_washout:
        problems.append(
            Problem(
                "washout_days",
                show(washout),
                f"at least {least_washout} opioid-free days before restarting",
            )
        )
    if opioids_stop is not None and opioids_stop < procedure_date:
        problems.append(
            Problem(
                "opioids_stop",
                show(opioids_stop.isoformat()),
                f"the procedure day ({procedure_date}) or later",
            )
        )
    if problems:  # a hold out of range may not even be a day count the calendar can take
        raise InputError(problems)
    last_dose = procedure_date - dt.timedelta(days=hold)
    if not plan.steps or last_dose < plan.steps[0].start:
        first = plan.steps[0].start if plan.steps else None
        problems.append(
            Problem(
                "procedure_date",
                show(procedure_date.isoformat()),
                f"a date at least {hold} days after the plan starts ({first}); for an "
                "earlier procedure, start the plan after opioids have stopped",
            )
        )
    if problems:
        raise InputError(problems)

    kept: list[Step] = []
    for step in plan.steps:
        if step.start > last_dose:
            break
        if step.end is None or step.end > last_dose:
            step = step.model_copy(update={"end": last_dose})
        kept.append(step)
    note = f"Last dose before the procedure on {procedure_date}"
    kept[-1] = kept[-1].model_copy(update={"note": note})
    restart = opioids_stop + dt.timedelta(days=washout) if opioids_stop else None
    if restart is not None:
        kept += titrate(
            restart,
            mg_to_ug(plan.start_dose_mg),
            mg_to_ug(plan.step_mg),
            plan.interval_days,
            mg_to_ug(plan.target_mg),
            kept[-1].time,
            first_note=f"Restart at the starting dose after the procedure on {procedure_date}",
        )
    adjustment = Adjustment(
        kind="procedure-hold",
        on=last_dose + _DAY,
        resumes_on=restart,
        message=render(rule.message, hold_days=hold, washout_days=washout),
        sources=tuple(dict.fromkeys((*rule.hold_sources, *rule.restart_sources))),
        evidence=rule.evidence,
    )
    # Dating the restart of a hold already planned (opioids have now stopped) replaces it.
    earlier = tuple(
        a for a in plan.adjustments if not (a.kind == "procedure-hold" and a.on == adjustment.on)
    )
    return _adjusted(plan.model_copy(update={"adjustments": earlier}), kept, adjustment)
