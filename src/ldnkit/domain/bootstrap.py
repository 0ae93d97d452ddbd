"""Uncertainty of a change between two short daily series: a circular block bootstrap.

Diary scores are autocorrelated (a bad week is a run of bad days), so resampling single days
would pretend there are more independent observations than there are and give too narrow an
interval. Resampling blocks of consecutive days keeps that day-to-day dependence. The circular
version (Politis & Romano 1992) wraps the series so every day is equally likely to be drawn.

Block length: ceil(n ** (1/3)), the classic order for the variance of a mean (Hall, Horowitz &
Jing 1995): 3 days for a 14-day window, 4 for 28 days. Diary autocorrelation in the demo and in
published daily-pain data fades over a few days, which that length covers, while a 14-day window
still holds enough blocks (5) to resample.

Pure Python and fast: a resample of the mean is the sum of k pre-computed block sums, so 1000
resamples of a 14-day window cost about 5000 random block picks and additions.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass

DEFAULT_RESAMPLES = 1000
CONFIDENCE = 0.95


def block_length(n: int) -> int:
    """Block length for a series of n days: ceil(n^(1/3)), at least 1."""
    if n <= 1:
        return 1
    # A small epsilon keeps exact cubes (8, 27) from rounding up a whole block.
    return max(1, math.ceil(math.pow(n, 1 / 3) - 1e-9))


def block_means(values: Sequence[float], resamples: int, rng: random.Random) -> list[float]:
    """Means of `resamples` circular block-bootstrap resamples of `values`."""
    n = len(values)
    if n == 0:
        raise ValueError("cannot resample an empty series")
    length = block_length(n)
    blocks = math.ceil(n / length)
    wrapped = list(values) + list(values[: length - 1])
    sums = [math.fsum(wrapped[i : i + length]) for i in range(n)]
    drawn = blocks * length
    picks = [sums[i] for i in _indices(n, blocks * resamples, rng)]
    return [sum(picks[i : i + blocks]) / drawn for i in range(0, len(picks), blocks)]


def _indices(n: int, count: int, rng: random.Random) -> bytes | list[int]:
    """`count` uniform draws from range(n).

    For n <= 256, random bytes are mapped to indices in C (bytes.translate), rejecting the top
    bytes that would make some indices likelier than others: about ten times faster than
    calling `rng.choices` once per resample, which matters with 1000 resamples per measure.
    """
    if n > 256:
        return [math.floor(rng.random() * n) for _ in range(count)]
    accepted = 256 - 256 % n
    table = bytes(b % n for b in range(256))
    rejected = bytes(range(accepted, 256))
    out = b""
    while len(out) < count:
        out += rng.randbytes(count - len(out) + count // 8 + 8).translate(table, rejected)
    return out[:count]


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """The q-quantile (0..1) of already sorted values, linear between order statistics."""
    if not sorted_values:
        raise ValueError("no values")
    position = q * (len(sorted_values) - 1)
    low = math.floor(position)
    high = min(low + 1, len(sorted_values) - 1)
    weight = position - low
    return sorted_values[low] * (1 - weight) + sorted_values[high] * weight


@dataclass(frozen=True)
class Interval:
    low: float
    high: float


def interval(samples: Sequence[float], confidence: float = CONFIDENCE) -> Interval:
    """Percentile interval of bootstrap samples."""
    ordered = sorted(samples)
    tail = (1 - confidence) / 2
    return Interval(percentile(ordered, tail), percentile(ordered, 1 - tail))


@dataclass(frozen=True)
class ChangeSamples:
    """Paired bootstrap samples of a baseline mean and a later mean."""

    baseline: list[float]
    latest: list[float]


def change_samples(
    baseline: Sequence[float] | float,
    latest: Sequence[float],
    *,
    resamples: int = DEFAULT_RESAMPLES,
    seed: str,
) -> ChangeSamples:
    """Bootstrap both windows independently; a fixed baseline (intake value) does not vary.

    The seed is text (for example "0:pain") so each measure has its own stream and the result
    is the same on every run and machine.
    """
    rng = random.Random(seed)  # noqa: S311  (statistics, not secrets: reproducible on purpose)
    if isinstance(baseline, int | float):
        base = [float(baseline)] * resamples
    else:
        base = block_means(baseline, resamples, rng)
    return ChangeSamples(base, block_means(latest, resamples, rng))
