"""The circular block bootstrap behind the response intervals."""

from __future__ import annotations

import random
import statistics

import pytest

from ldnkit.domain.bootstrap import block_means, change_samples, interval


def test_constant_series_resamples_to_its_own_mean() -> None:
    assert set(block_means([4.0] * 14, 200, random.Random("x"))) == {4.0}


def test_same_seed_same_resamples() -> None:
    values = [float(v) for v in (3, 5, 4, 6, 7, 5, 4, 3, 2, 4, 5, 6, 5, 4)]
    assert block_means(values, 300, random.Random("s")) == block_means(
        values, 300, random.Random("s")
    )


@pytest.mark.parametrize("n", [14, 300])
def test_resampled_means_centre_on_the_sample_mean(n: int) -> None:
    # Circular blocks give every day the same chance, so the resamples are unbiased.
    rng = random.Random(n)
    values = [float(rng.randint(0, 10)) for _ in range(n)]
    means = block_means(values, 1000, random.Random("c"))
    assert abs(statistics.fmean(means) - statistics.fmean(values)) < 0.1


def test_runs_of_bad_days_widen_the_interval_compared_with_shuffled_days() -> None:
    # Same values, once in runs (autocorrelated) and once alternating: blocks keep runs
    # together, so the runs give the wider interval, as they should.
    runs = [2.0] * 7 + [8.0] * 7
    alternating = [2.0, 8.0] * 7
    wide = interval(block_means(runs, 1000, random.Random("r")))
    narrow = interval(block_means(alternating, 1000, random.Random("r")))
    assert wide.high - wide.low > narrow.high - narrow.low


def test_fixed_intake_baseline_does_not_vary() -> None:
    samples = change_samples(6.0, [3.0, 4.0] * 7, resamples=100, seed="0:pain")
    assert set(samples.baseline) == {6.0}
    assert len(samples.latest) == 100


def test_empty_series_cannot_be_resampled() -> None:
    with pytest.raises(ValueError, match="empty"):
        block_means([], 10, random.Random(0))
