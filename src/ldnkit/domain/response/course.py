"""The course of treatment in the diary: dose steps, adherence, and who entered the days."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

from ldnkit.domain.diary import DiaryEntry
from ldnkit.domain.response.change import EPS, Out, improvement, mean, rounded, rounded_or_none

# A dose step: first day, last day (None: continuing) and the dose in mg.
DoseStep = tuple[dt.date, dt.date | None, float]


class StepSummary(Out):
    """The diary during one dose step."""

    start: dt.date
    end: dt.date | None
    dose_mg: float
    inferred: bool  # from the doses recorded, when no plan steps were given
    days: int
    entries: int
    doses_taken: int
    doses_as_planned: int
    pain: float | None
    fatigue: float | None
    sleep_quality: float | None
    pain_improvement_pct: float | None


class Adherence(Out):
    """Doses recorded from the start date to `as_of`."""

    days_in_period: int
    days_with_entry: int
    days_dose_taken: int
    adherence_pct: float | None  # doses taken per diary day
    completeness_pct: float  # diary days per day of treatment


class WhoEntered(Out):
    """Who entered the diary days an assessment rests on: a response is patient-reported, so a
    day entered or changed by a clinician is counted apart (and days from before authors were
    kept as not recorded)."""

    patient: int
    clinician: int
    not_recorded: int


def inferred_steps(treated: Sequence[DiaryEntry]) -> list[DoseStep]:
    """Dose steps read from the diary: a new step where the recorded dose changes."""
    steps: list[DoseStep] = []
    for entry in treated:
        if entry.dose_mg is None:
            continue
        if steps and steps[-1][2] == entry.dose_mg:
            continue
        if steps:
            first, _, dose = steps[-1]
            steps[-1] = (first, entry.day - dt.timedelta(1), dose)
        steps.append((entry.day, None, entry.dose_mg))
    return steps


def step_summaries(
    steps: Sequence[DoseStep],
    treated: Sequence[DiaryEntry],
    as_of: dt.date,
    baseline_pain: float | None,
    inferred: bool,
) -> tuple[StepSummary, ...]:
    """Each step up to `as_of`, with its diary days, doses and scores."""
    summaries = []
    for first, last, dose in sorted(steps, key=lambda s: s[0]):
        if first > as_of:
            continue
        until = min(last, as_of) if last is not None else as_of
        inside = [e for e in treated if first <= e.day <= until]
        pain = mean(e.pain for e in inside)
        better = (
            improvement("pain", baseline_pain, pain)
            if pain is not None and baseline_pain is not None
            else None
        )
        summaries.append(
            StepSummary(
                start=first,
                end=last,
                dose_mg=dose,
                inferred=inferred,
                days=(until - first).days + 1,
                entries=len(inside),
                doses_taken=sum(e.dose_taken for e in inside),
                doses_as_planned=sum(
                    e.dose_mg is not None and abs(e.dose_mg - dose) < EPS for e in inside
                ),
                pain=rounded_or_none(pain),
                fatigue=rounded_or_none(mean(e.fatigue for e in inside)),
                sleep_quality=rounded_or_none(mean(e.sleep_quality for e in inside)),
                pain_improvement_pct=rounded_or_none(better),
            )
        )
    return tuple(summaries)


def adherence(treated: Sequence[DiaryEntry], start: dt.date, as_of: dt.date) -> Adherence:
    period = max(0, (as_of - start).days + 1)
    with_entry = len(treated)
    taken = sum(e.dose_taken for e in treated)
    return Adherence(
        days_in_period=period,
        days_with_entry=with_entry,
        days_dose_taken=taken,
        adherence_pct=rounded(taken / with_entry * 100) if with_entry else None,
        completeness_pct=rounded(with_entry / period * 100) if period else 0.0,
    )


def who_entered(used: Sequence[DiaryEntry], roles: Mapping[dt.date, str | None]) -> WhoEntered:
    counted = [roles.get(e.day) for e in used]
    return WhoEntered(
        patient=counted.count("patient"),
        clinician=counted.count("clinician"),
        not_recorded=sum(1 for role in counted if role not in ("patient", "clinician")),
    )
