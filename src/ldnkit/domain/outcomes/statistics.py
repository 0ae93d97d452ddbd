"""The statistics of clinic outcomes, each one library call (scipy) with its edge cases named.

- Wilson score interval of a proportion: `scipy.stats.binomtest(...).proportion_ci(method=
  "wilson")`, whose z is the 0.975 normal quantile for 95%.
- t interval of a mean: mean +/- t(0.975, n - 1) x standard error (`scipy.stats.t.ppf`,
  `scipy.stats.sem`).
- Kaplan-Meier product-limit estimate: `scipy.stats.ecdf` on right-censored data; S(t) is the
  probability of persisting beyond t.
- Fisher's exact test, two-sided, and the sample odds ratio ad/bc: `scipy.stats.fisher_exact`.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from types import ModuleType

import numpy as np


@cache
def _scipy_stats() -> ModuleType:
    """scipy.stats, imported on first use: it takes most of a second to import, and every
    command line start (`ldnkit --help` included) would pay for it otherwise."""
    import scipy.stats  # type: ignore[import-untyped]

    module: ModuleType = scipy.stats
    return module


def load() -> None:
    """Import the statistics library now (a caller may do it while it waits on other work)."""
    _scipy_stats()


CONFIDENCE = 0.95

Interval = tuple[float, float]


def wilson_interval(successes: int, n: int) -> Interval | None:
    """The Wilson 95% interval of successes / n (None when n is 0)."""
    if n == 0:
        return None
    stats = _scipy_stats()
    ci = stats.binomtest(successes, n).proportion_ci(confidence_level=CONFIDENCE, method="wilson")
    return float(ci.low), float(ci.high)


def mean_with_t_interval(values: Sequence[float]) -> tuple[float | None, Interval | None]:
    """The mean and its t 95% interval with n - 1 degrees of freedom.

    No mean without values; no interval from one value (its spread is unknown). Equal values
    give an interval of width 0.
    """
    if not values:
        return None, None
    data = np.asarray(values, dtype=float)
    mean = float(data.mean())
    if len(data) < 2:
        return mean, None
    stats = _scipy_stats()
    half = float(stats.t.ppf(0.5 + CONFIDENCE / 2, len(data) - 1) * stats.sem(data))
    return mean, (mean - half, mean + half)


@dataclass(frozen=True)
class SurvivalCurve:
    """A Kaplan-Meier curve: S(t), the probability of persisting beyond t days."""

    times: tuple[float, ...]  # every distinct observed time, ascending
    survival: tuple[float, ...]  # S(t) from each of those times until the next
    longest: float  # the longest time any patient was followed
    # Each patient's time followed, ascending: how many were still at risk at any day.
    followed: tuple[float, ...] = ()

    def at_risk(self, day: float) -> int:
        """Patients still followed on `day` (their time is `day` or longer)."""
        return len(self.followed) - bisect.bisect_left(self.followed, day)

    def at(self, day: float) -> float | None:
        """S(day); None beyond the longest follow-up unless the curve has already reached 0.

        Past the last time anyone was followed the product-limit value only repeats its last
        step; it says nothing about that period, so it is not reported.
        """
        step = int(np.searchsorted(self.times, day, side="right"))
        value = 1.0 if step == 0 else self.survival[step - 1]
        if day > self.longest and value > 0:
            return None
        return value

    def median(self) -> float | None:
        """The smallest t with S(t) <= 0.5 (None when the curve never gets there)."""
        for time, survival in zip(self.times, self.survival, strict=True):
            if survival <= 0.5:
                return time
        return None


def kaplan_meier(durations: Sequence[float], ended: Sequence[bool]) -> SurvivalCurve | None:
    """The product-limit estimate from durations and whether each one ended (else censored)."""
    if not durations:
        return None
    events = [d for d, e in zip(durations, ended, strict=True) if e]
    censored = [d for d, e in zip(durations, ended, strict=True) if not e]
    stats = _scipy_stats()
    fit = stats.ecdf(stats.CensoredData(uncensored=events, right=censored)).sf
    return SurvivalCurve(
        tuple(float(t) for t in fit.quantiles),
        tuple(float(p) for p in fit.probabilities),
        float(max(durations)),
        tuple(sorted(float(d) for d in durations)),
    )


@dataclass(frozen=True)
class FisherResult:
    """Fisher's exact test of a 2 x 2 table [[a, b], [c, d]]."""

    odds_ratio: float | None  # ad / bc; None when infinite or undefined
    p_value: float


def fisher_test(a: int, b: int, c: int, d: int) -> FisherResult:
    """Two-sided Fisher's exact test and the sample odds ratio ad/bc."""
    stats = _scipy_stats()
    result = stats.fisher_exact([[a, b], [c, d]], alternative="two-sided")
    odds = float(result.statistic)
    return FisherResult(
        odds_ratio=odds if math.isfinite(odds) else None,
        # Summed probabilities can come out a hair above 1.
        p_value=min(1.0, float(result.pvalue)),
    )
