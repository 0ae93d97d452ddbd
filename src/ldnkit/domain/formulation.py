"""Formulation: capsules to dispense for a plan, and oral liquid made from a tablet.

Arithmetic is exact (whole micrograms for capsules, Decimal for liquids); figures are rounded
only when they are reported.
"""

from __future__ import annotations

import datetime as dt
import math
from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ldnkit.domain.dispensing import MAX_SUPPLY_DAYS, Dispensing, Recipe
from ldnkit.domain.titration import CalendarDate, Plan, Step, dose_problems
from ldnkit.knowledge.protocols import SourcedNote, product_book, ug_to_mg
from ldnkit.validation import InputError, Problem, input_error, show


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class CapsuleCount(_Frozen):
    strength_mg: float
    count: int


class StepSupply(_Frozen):
    """The capsules for one step of the plan, within the supply period."""

    start: dt.date
    end: dt.date
    days: int
    dose_mg: float
    time: str
    per_dose: tuple[CapsuleCount, ...]
    capsules: tuple[CapsuleCount, ...]


class CapsuleSupply(_Frozen):
    """Capsules per step and per strength for a prescription period starting with the plan."""

    start: dt.date
    end: dt.date
    days: int
    steps: tuple[StepSupply, ...]
    totals: tuple[CapsuleCount, ...]
    notes: tuple[SourcedNote, ...]
    sources: tuple[str, ...]


def capsules_for_dose(dose_ug: int) -> dict[int, int]:
    """The fewest capsules that make a dose exactly: {strength in µg: count}.

    Among equally few, larger strengths come first (4.5 mg + 0.5 mg rather than 3 + 2 x 1).
    """
    strengths = product_book().capsules.strengths_ug
    unit = math.gcd(*strengths)
    if dose_ug <= 0 or dose_ug % unit:
        raise ValueError(f"{dose_ug} µg cannot be made from capsules of {strengths} µg")
    # Coin change over multiples of the smallest common unit: at most a few dozen entries.
    best: list[tuple[int, ...] | None] = [()] + [None] * (dose_ug // unit)
    for amount in range(1, dose_ug // unit + 1):
        for strength in strengths:
            rest = amount - strength // unit
            previous = best[rest] if rest >= 0 else None
            if previous is None:
                continue
            candidate = (*previous, strength)
            current = best[amount]
            if current is None or len(candidate) < len(current):
                best[amount] = candidate
    chosen = best[dose_ug // unit]
    if chosen is None:
        raise ValueError(f"{dose_ug} µg cannot be made from capsules of {strengths} µg")
    counts: dict[int, int] = {}
    for strength in sorted(chosen, reverse=True):
        counts[strength] = counts.get(strength, 0) + 1
    return counts


def _counted(counts: dict[int, int]) -> tuple[CapsuleCount, ...]:
    return tuple(
        CapsuleCount(strength_mg=ug_to_mg(s), count=n)
        for s, n in sorted(counts.items(), reverse=True)
        if n
    )


def capsules(plan: Plan, days: int) -> CapsuleSupply:
    """Capsules needed for the first `days` days of a plan, per step and per strength."""
    period_start, period_end = _period(plan, days)
    book = product_book().capsules
    supplies: list[StepSupply] = []
    totals: dict[int, int] = {}
    for step, end in _steps_within(plan, period_end):
        step_days = (end - step.start).days + 1
        per_dose = capsules_for_dose(step.dose_ug)
        step_counts = {s: n * step_days for s, n in per_dose.items()}
        for strength, count in step_counts.items():
            totals[strength] = totals.get(strength, 0) + count
        supplies.append(
            StepSupply(
                start=step.start,
                end=end,
                days=step_days,
                dose_mg=step.dose_mg,
                time=step.time,
                per_dose=_counted(per_dose),
                capsules=_counted(step_counts),
            )
        )
    sources = dict.fromkeys(book.strengths_sources)
    for note in book.notes:
        sources.update(dict.fromkeys(note.sources))
    return CapsuleSupply(
        start=period_start,
        end=period_end,
        days=days,
        steps=tuple(supplies),
        totals=_counted(totals),
        notes=book.notes,
        sources=tuple(sources),
    )


class LiquidRequest(_Frozen):
    """Tablet, water volume and dose for a home or compounded liquid."""

    tablet_mg: Annotated[float, Field(gt=0, le=100)]
    # A tablet dissolves in a measurable volume: 1 mL at the least (1e-300 mL is a typo).
    volume_ml: Annotated[float, Field(ge=1, le=1000)]
    dose_mg: float  # limits checked with the plan's dose rules, in the same words
    recipe: Recipe = "water"
    made_on: CalendarDate
    allow_above_5mg: bool = False


class BeyondUseDate(_Frozen):
    storage: Literal["refrigerated", "room_temperature"]
    label: str
    days: int
    date: dt.date
    usable_doses: int


class LiquidResult(_Frozen):
    """How to measure a dose of liquid LDN, how long a tablet lasts, and when to discard."""

    tablet_mg: float
    volume_ml: float
    dose_mg: float
    recipe: Recipe
    recipe_name: str
    recipe_text: str
    container: str
    concentration_mg_per_ml: float
    dose_ml: float
    days_per_tablet: float
    doses_per_tablet: int
    made_on: dt.date
    stability_data: bool
    beyond_use: tuple[BeyondUseDate, ...]
    warnings: tuple[str, ...]
    sources: tuple[str, ...]


def _recipe_warnings(recipe: Recipe, concentration: Decimal) -> list[str]:
    """The recipe's own caveats, and whether this concentration is the one studied."""
    info = product_book().recipe(recipe)
    warnings = list(info.warnings)
    studied = info.studied_concentration_mg_per_ml
    if studied is not None and concentration != Decimal(str(studied)):
        warnings.append(
            f"Stability was studied at {Decimal(str(studied)).normalize():f} mg/mL only; "
            "this concentration is untested."
        )
    return warnings


def _round(value: Decimal, places: str) -> float:
    return float(value.quantize(Decimal(places), rounding=ROUND_HALF_UP))


def liquid(
    tablet_mg: float,
    volume_ml: float,
    dose_mg: float,
    recipe: Recipe = "water",
    made_on: dt.date | None = None,
    *,
    allow_above_5mg: bool = False,
) -> LiquidResult:
    """Concentration, mL per dose, days per tablet and beyond-use dates for a liquid.

    `made_on` defaults to today. The tablet is assumed to be dissolved in `volume_ml` in all.
    """
    try:
        req = LiquidRequest(
            tablet_mg=tablet_mg,
            volume_ml=volume_ml,
            dose_mg=dose_mg,
            recipe=recipe,
            made_on=made_on or dt.date.today(),
            allow_above_5mg=allow_above_5mg,
        )
    except ValidationError as exc:
        raise input_error(exc) from None
    return make_liquid(req)


def make_liquid(req: LiquidRequest) -> LiquidResult:
    """`liquid` for an already validated request (as the CLI and web forms build one)."""
    problems = dose_problems("dose_mg", req.dose_mg, allow_above_5mg=req.allow_above_5mg)
    if not problems and req.dose_mg > req.tablet_mg:
        problems.append(Problem("dose_mg", show(req.dose_mg), "at most the tablet's strength"))
    if not problems and (Decimal(str(req.dose_mg)) * 1000) % 1 != 0:
        # Doses are measured in micrograms; 1e-300 mg cannot be measured (or divided into).
        problems.append(
            Problem("dose_mg", show(req.dose_mg), "a dose in whole micrograms (0.001 mg steps)")
        )
    if problems:
        raise InputError(problems)

    tablet, volume, dose = (Decimal(str(x)) for x in (req.tablet_mg, req.volume_ml, req.dose_mg))
    concentration = tablet / volume
    dose_ml = dose / concentration
    doses = int(tablet // dose)
    info = product_book().recipe(req.recipe)
    warnings = _recipe_warnings(req.recipe, concentration)
    beyond = tuple(
        BeyondUseDate(
            storage=b.storage,
            label=b.label,
            days=b.days,
            # As compounders date it: made on the 1st with 30 days, not used after the 31st.
            date=req.made_on + dt.timedelta(days=b.days),
            usable_doses=min(doses, b.days),
        )
        for b in info.beyond_use
    )
    for b in beyond:
        if b.usable_doses < doses:
            warnings.append(
                f"Stored at {b.label}, only {b.usable_doses} of the {doses} doses in a tablet "
                "can be used before the beyond-use date."
            )
    return LiquidResult(
        tablet_mg=req.tablet_mg,
        volume_ml=req.volume_ml,
        dose_mg=req.dose_mg,
        recipe=req.recipe,
        recipe_name=info.name,
        recipe_text=info.recipe,
        container=info.container,
        concentration_mg_per_ml=_round(concentration, "0.0001"),
        dose_ml=_round(dose_ml, "0.01"),
        days_per_tablet=_round(tablet / dose, "0.1"),
        doses_per_tablet=doses,
        made_on=req.made_on,
        stability_data=info.stability_data,
        beyond_use=beyond,
        warnings=tuple(warnings),
        sources=info.sources,
    )


class LiquidStep(_Frozen):
    """One step of the plan measured from the liquid, within the supply period."""

    start: dt.date
    end: dt.date
    days: int
    dose_mg: float
    time: str
    dose_ml: float
    days_per_tablet: float


class LiquidSupply(_Frozen):
    """A plan given as a liquid: mL per dose each step, and the tablets the period needs.

    A tablet's liquid is used until it runs short of a dose or passes its beyond-use date
    (stored as the recipe allows longest), whichever comes first; then a fresh one is made.
    """

    start: dt.date
    end: dt.date
    days: int
    recipe: Recipe
    recipe_name: str
    recipe_text: str
    container: str
    tablet_mg: float
    volume_ml: float
    concentration_mg_per_ml: float
    stability_data: bool
    steps: tuple[LiquidStep, ...]
    tablets: int
    storage: str
    beyond_use: tuple[BeyondUseDate, ...]
    warnings: tuple[str, ...]
    sources: tuple[str, ...]


def _period(plan: Plan, days: int) -> tuple[dt.date, dt.date]:
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_SUPPLY_DAYS:
        raise InputError.single("days", days, f"a whole number of days from 1 to {MAX_SUPPLY_DAYS}")
    start = plan.steps[0].start
    return start, start + dt.timedelta(days=days - 1)


def _steps_within(plan: Plan, end: dt.date) -> list[tuple[Step, dt.date]]:
    """Each step that starts by `end`, with its last day within the period."""
    return [
        (step, end if step.end is None else min(step.end, end))
        for step in plan.steps
        if step.start <= end
    ]


def liquid_supply(
    plan: Plan,
    days: int,
    tablet_mg: float,
    volume_ml: float,
    recipe: Recipe = "water",
    *,
    allow_above_5mg: bool = False,
) -> LiquidSupply:
    """The plan's first `days` days as a liquid: each step's mL per dose, and tablets to make it.

    Every dose is checked as `liquid` checks one (the LDN band, at most the tablet, whole
    micrograms); the beyond-use dates count from the plan's first day.
    """
    start, end = _period(plan, days)
    within = _steps_within(plan, end)
    measured = {
        s.dose_mg: liquid(
            tablet_mg, volume_ml, s.dose_mg, recipe, start, allow_above_5mg=allow_above_5mg
        )
        for s, _ in within
    }
    first = measured[within[0][0].dose_mg]
    steps = tuple(
        LiquidStep(
            start=s.start,
            end=last,
            days=(last - s.start).days + 1,
            dose_mg=s.dose_mg,
            time=s.time,
            dose_ml=measured[s.dose_mg].dose_ml,
            days_per_tablet=measured[s.dose_mg].days_per_tablet,
        )
        for s, last in within
    )
    longest = max(first.beyond_use, key=lambda b: b.days)
    tablets, left_ug, made = 0, 0, start
    tablet_ug = round(Decimal(str(tablet_mg)) * 1000)
    for s, last in within:
        day = s.start
        while day <= last:
            if left_ug < s.dose_ug or (day - made).days > longest.days:
                tablets, left_ug, made = tablets + 1, tablet_ug, day
            left_ug -= s.dose_ug
            day += dt.timedelta(days=1)
    # The recipe's caveats; how many doses a tablet's liquid keeps for is in the tablet count.
    warnings = _recipe_warnings(recipe, Decimal(str(tablet_mg)) / Decimal(str(volume_ml)))
    return LiquidSupply(
        start=start,
        end=end,
        days=days,
        recipe=first.recipe,
        recipe_name=first.recipe_name,
        recipe_text=first.recipe_text,
        container=first.container,
        tablet_mg=first.tablet_mg,
        volume_ml=first.volume_ml,
        concentration_mg_per_ml=first.concentration_mg_per_ml,
        stability_data=first.stability_data,
        steps=steps,
        tablets=tablets,
        storage=longest.label,
        beyond_use=first.beyond_use,
        warnings=tuple(warnings),
        sources=first.sources,
    )


def dispense(
    plan: Plan, dispensing: Dispensing, *, allow_above_5mg: bool = False
) -> CapsuleSupply | LiquidSupply:
    """The quantities to dispense a plan as asked: capsule counts, or a liquid's measures."""
    if dispensing.form == "capsules":
        return capsules(plan, dispensing.days)
    # A liquid always has its tablet, volume and recipe (the model checks it).
    assert dispensing.tablet_mg is not None
    assert dispensing.volume_ml is not None
    assert dispensing.recipe is not None
    return liquid_supply(
        plan,
        dispensing.days,
        dispensing.tablet_mg,
        dispensing.volume_ml,
        dispensing.recipe,
        allow_above_5mg=allow_above_5mg,
    )
