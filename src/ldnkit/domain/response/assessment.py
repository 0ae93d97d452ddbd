"""The response assessment: the diary's baseline against its latest days, in one result.

Pure: diary entries in, one `ResponseAssessment` out. The windows are limits.yaml's
(`response`): the baseline is the diary days in the look-back before the start date (at least
`min_baseline_entries`), else the intake values, since those weeks reflect the state just
before treatment and older backdated entries do not; the latest window ends at `as_of` (at
least `min_latest_entries` entries, all on or after the start date).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from ldnkit.domain.bootstrap import CONFIDENCE, DEFAULT_RESAMPLES, block_length
from ldnkit.domain.diary import DiaryEntry
from ldnkit.domain.response.change import (
    MEASURES,
    MeasureChange,
    Out,
    first_sustained,
    measure_change,
)
from ldnkit.domain.response.course import (
    Adherence,
    DoseStep,
    StepSummary,
    WhoEntered,
    adherence,
    inferred_steps,
    step_summaries,
    who_entered,
)
from ldnkit.domain.response.recommend import (
    Reason,
    Recommendation,
    Status,
    cited,
    recommend,
    status_of,
)
from ldnkit.domain.side_effect_course import (
    MorningDoseSuggestion,
    SideEffectCourse,
    morning_dose_suggestion,
    side_effect_timeline,
)
from ldnkit.knowledge.limits import limits
from ldnkit.knowledge.response import response_texts, say

# Intake scores on the diary's scales (limits.yaml, diary.score); halves allowed.
_SCALE = limits().diary.score
IntakeScore = Annotated[float, Field(ge=_SCALE.min, le=_SCALE.max)]


class Intake(BaseModel):
    """Symptom scores given at intake, used as the baseline when the diary has too few days."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    pain: IntakeScore
    fatigue: IntakeScore | None = None
    sleep_quality: IntakeScore | None = None
    mood: IntakeScore | None = None


class BootstrapMethod(Out):
    method: str = "circular block bootstrap of daily means (Politis & Romano 1992)"
    block_length_days: int
    resamples: int
    confidence: float
    seed: int


class ResponseAssessment(Out):
    """Everything `assess` found; `model_dump(mode="json")` is the API's JSON."""

    status: Status
    start: dt.date
    as_of: dt.date
    days_on_treatment: int
    baseline_source: Literal["diary", "intake"] | None
    baseline_entries: int
    latest_from: dt.date
    latest_entries: int
    missing: tuple[str, ...]
    measures: dict[str, MeasureChange]
    first_sustained_30pct_day: dt.date | None
    days_to_sustained_30pct: int | None
    steps: tuple[StepSummary, ...]
    adherence: Adherence
    side_effect_timeline: tuple[SideEffectCourse, ...]
    morning_dose_suggestion: MorningDoseSuggestion | None
    recommendation: Recommendation
    bootstrap: BootstrapMethod | None
    notes: tuple[Reason, ...]
    sources: tuple[str, ...]
    entered_by: WhoEntered | None = None


def _score(entry: DiaryEntry, measure: str) -> int | None:
    value: int | None = getattr(entry, measure)
    return value


def assess(
    entries: Sequence[DiaryEntry],
    start: dt.date,
    as_of: dt.date,
    intake: Intake | None = None,
    steps: Sequence[DoseStep] = (),
    *,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
    entered_by: Mapping[dt.date, str | None] | None = None,
) -> ResponseAssessment:
    """Assess the response to LDN from the diary (pure and deterministic for a given seed).

    `entered_by` maps a diary day to the role of whoever entered it ("patient", "clinician",
    None when not recorded); when given, the result counts the days it used by who entered them.
    """
    windows = limits().response
    wording = response_texts().wording
    lookback, least_before = windows.baseline_lookback.days, windows.min_baseline_entries.entries
    latest_days, least_latest = windows.latest_window.days, windows.min_latest_entries.entries
    diary = sorted((e for e in entries if e.day <= as_of), key=lambda e: e.day)
    before = [e for e in diary if start - dt.timedelta(lookback) <= e.day < start]
    treated = [e for e in diary if e.day >= start]
    latest_from = max(start, as_of - dt.timedelta(latest_days - 1))
    latest = [e for e in treated if e.day >= latest_from]
    days_on = (as_of - start).days + 1

    missing: list[str] = []
    baseline_source: Literal["diary", "intake"] | None = None
    if len(before) >= least_before:
        baseline_source = "diary"
    elif intake is not None:
        baseline_source = "intake"
    else:
        missing.append(
            say(wording.missing_baseline, entries=least_before, days=lookback, have=len(before))
        )
    if len(latest) < least_latest:
        missing.append(
            say(
                wording.missing_latest,
                entries=least_latest,
                days=latest_days,
                first=latest_from.isoformat(),
                last=as_of.isoformat(),
                have=len(latest),
            )
        )

    measures: dict[str, MeasureChange] = {}
    if not missing:
        for measure in MEASURES:
            later = [float(v) for e in latest if (v := _score(e, measure)) is not None]
            base: Sequence[float] | float | None
            if baseline_source == "diary":
                base = [float(v) for e in before if (v := _score(e, measure)) is not None]
                base = base if len(base) >= least_before else None
            else:
                base = getattr(intake, measure)
            if base is None or len(later) < least_latest:
                continue  # mood is optional; a measure without enough values is left out
            measures[measure] = measure_change(measure, base, later, resamples, seed)

    status: Status = "too_few_entries"
    status_reasons: list[Reason] = []
    if "pain" in measures:
        status, status_reasons = status_of(measures)

    baseline_pain = measures["pain"].baseline if "pain" in measures else None
    first_day = (
        first_sustained({e.day: e.pain for e in treated}, baseline_pain, start, as_of)
        if baseline_pain is not None
        else None
    )
    plan_steps = list(steps) or inferred_steps(treated)
    courses = side_effect_timeline(diary, start, as_of)
    taken = adherence(treated, start, as_of)
    recommendation = recommend(status, status_reasons, start, days_on, taken, courses, missing)
    suggestion = morning_dose_suggestion(diary, courses, as_of)
    notes = (cited(response_texts().reasons.immpact_bands),)
    sources: dict[str, None] = dict.fromkeys(notes[0].sources)
    sources.update(dict.fromkeys(recommendation.sources))
    for course in courses:
        sources.update(dict.fromkeys(course.sources))
    if suggestion is not None:
        sources.update(dict.fromkeys(suggestion.sources))
    return ResponseAssessment(
        status=status,
        start=start,
        as_of=as_of,
        days_on_treatment=days_on,
        baseline_source=baseline_source,
        baseline_entries=len(before),
        latest_from=latest_from,
        latest_entries=len(latest),
        missing=tuple(missing),
        measures=measures,
        first_sustained_30pct_day=first_day,
        days_to_sustained_30pct=None if first_day is None else (first_day - start).days,
        steps=step_summaries(plan_steps, treated, as_of, baseline_pain, inferred=not steps),
        adherence=taken,
        side_effect_timeline=courses,
        morning_dose_suggestion=suggestion,
        recommendation=recommendation,
        bootstrap=BootstrapMethod(
            block_length_days=block_length(len(latest)),
            resamples=resamples,
            confidence=CONFIDENCE,
            seed=seed,
        )
        if measures
        else None,
        notes=notes,
        sources=tuple(sources),
        entered_by=None
        if entered_by is None
        else who_entered((before if baseline_source == "diary" else []) + latest, entered_by),
    )
