"""How much each measure changed: baseline against the latest days, with its interval.

- Change per measure, absolute and percent, with a 95% interval from a circular block bootstrap
  (see `bootstrap.py`), seeded so the same diary always gives the same interval.
- IMMPACT category of the improvement (Dworkin 2008). The published bands leave a gap: 10-20%
  is "minimally important", >= 30% "moderately important", and 20-30% has no name. We call the
  whole range from the minimal threshold up to the moderate one "minimal": it has passed the
  minimal threshold but not the moderate one, and Dworkin's bands are thresholds (at least this
  much), not closed ranges. IMMPACT was set for pain intensity; fatigue, sleep and mood use the
  same bands by analogy. The thresholds are limits.yaml's (response.*_improvement).
- Direction: pain and fatigue are better lower; sleep quality and mood are better higher.
  `improvement_pct` is always positive when the patient is better.
- The first sustained moderate improvement: the first day whose rolling mean pain passes the
  moderate threshold and stays past it (limits.yaml: rolling_window, sustained).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict

from ldnkit.domain.bootstrap import change_samples, interval
from ldnkit.knowledge.limits import limits

Measure = Literal["pain", "fatigue", "sleep_quality", "mood"]
MEASURES: tuple[Measure, ...] = ("pain", "fatigue", "sleep_quality", "mood")
HIGHER_IS_BETTER: frozenset[str] = frozenset({"sleep_quality", "mood"})

Category = Literal["worse", "no_change", "minimal", "moderate", "substantial"]

EPS = 1e-9


class Out(BaseModel):
    """A result of the assessment: immutable, and its own JSON."""

    model_config = ConfigDict(frozen=True)


class MeasureChange(Out):
    """Baseline against the latest days for one measure."""

    measure: Measure
    better: Literal["lower", "higher"]
    baseline: float
    latest: float
    absolute_change: float
    percent_change: float | None
    improvement_pct: float | None
    ci_absolute: tuple[float, float]
    ci_percent: tuple[float, float] | None
    category: Category | None
    clear: bool  # the interval of the change excludes zero


def mean(values: Iterable[float]) -> float | None:
    items = list(values)
    return math.fsum(items) / len(items) if items else None


def rounded(value: float) -> float:
    return round(value + 0.0, 2)


def rounded_or_none(value: float | None) -> float | None:
    return None if value is None else rounded(value)


def improvement(measure: str, baseline: float, latest: float) -> float | None:
    """Percent improvement, positive when better, None when the baseline is 0."""
    if abs(baseline) < EPS:
        return None
    change = (latest - baseline) / baseline * 100
    return change if measure in HIGHER_IS_BETTER else -change


def moderate_pct() -> float:
    """The improvement IMMPACT calls moderately important (limits.yaml)."""
    return limits().response.moderate_improvement.percent


def at_least_moderate(improvement_pct: float) -> bool:
    return improvement_pct >= moderate_pct() - EPS


def immpact_category(improvement_pct: float) -> Category:
    """IMMPACT band of a percent improvement (the unnamed gap counted as minimal; see above)."""
    bands = limits().response
    if improvement_pct >= bands.substantial_improvement.percent - EPS:
        return "substantial"
    if at_least_moderate(improvement_pct):
        return "moderate"
    minimal = bands.minimal_improvement.percent
    if improvement_pct >= minimal - EPS:
        return "minimal"
    if improvement_pct <= -minimal + EPS:
        return "worse"
    return "no_change"


def measure_change(
    measure: Measure,
    baseline: Sequence[float] | float,
    latest: Sequence[float],
    resamples: int,
    seed: int,
) -> MeasureChange:
    """The change of one measure, with its bootstrap intervals and IMMPACT category."""
    base = baseline if isinstance(baseline, int | float) else math.fsum(baseline) / len(baseline)
    late = math.fsum(latest) / len(latest)
    samples = change_samples(baseline, latest, resamples=resamples, seed=f"{seed}:{measure}")
    diffs = [lt - b for b, lt in zip(samples.baseline, samples.latest, strict=True)]
    ci_abs = interval(diffs)
    percent = (late - base) / base * 100 if abs(base) > EPS else None
    ci_pct: tuple[float, float] | None = None
    if percent is not None:
        ratios = [
            (lt - b) / b * 100
            for b, lt in zip(samples.baseline, samples.latest, strict=True)
            if abs(b) > EPS
        ]
        if len(ratios) == len(diffs):
            got = interval(ratios)
            ci_pct = (rounded(got.low), rounded(got.high))
    better = improvement(measure, base, late)
    return MeasureChange(
        measure=measure,
        better="higher" if measure in HIGHER_IS_BETTER else "lower",
        baseline=rounded(base),
        latest=rounded(late),
        absolute_change=rounded(late - base),
        percent_change=rounded_or_none(percent),
        improvement_pct=rounded_or_none(better),
        ci_absolute=(rounded(ci_abs.low), rounded(ci_abs.high)),
        ci_percent=ci_pct,
        category=None if better is None else immpact_category(better),
        clear=ci_abs.low > EPS or ci_abs.high < -EPS,
    )


def days_between(first: dt.date, last: dt.date) -> list[dt.date]:
    """Every day from `first` to `last`, both included."""
    return [first + dt.timedelta(i) for i in range((last - first).days + 1)]


def first_sustained(
    treated: dict[dt.date, int], baseline_pain: float, start: dt.date, as_of: dt.date
) -> dt.date | None:
    """First day whose rolling mean pain is a moderate improvement on baseline and stays so.

    A single good week can be chance; a run of rolling means past the moderate threshold, as
    long as limits.yaml's `sustained`, is what we call sustained. Days with fewer entries than
    `min_rolling_entries` in their window do not count.
    """
    if baseline_pain <= EPS:
        return None
    windows = limits().response
    rolling, least = windows.rolling_window.days, windows.min_rolling_entries.entries

    def improved(day: dt.date) -> bool:
        window = [
            treated[d]
            for d in days_between(day - dt.timedelta(rolling - 1), day)
            if d in treated and d >= start
        ]
        if len(window) < least:
            return False
        fall = (baseline_pain - math.fsum(window) / len(window)) / baseline_pain * 100
        return at_least_moderate(fall)

    flags = {day: improved(day) for day in days_between(start, as_of)}
    run_start: dt.date | None = None
    for day in days_between(start, as_of):
        if not flags[day]:
            run_start = None
            continue
        run_start = run_start or day
        if (day - run_start).days + 1 >= windows.sustained.days:
            return run_start
    return None
