"""Screening engine rows in worker processes.

The screen is pure Python, so one process screens on one core while DuckDB's read used them
all. Large exports are split by batch over one process per CPU (forked, so each worker starts
with the screener's caches and the rows already in memory: nothing but the batch number goes
to a worker, and an Arrow table of output rows comes back).
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import warnings
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from ldnkit.population.rows import RowScreener, batch_rows, paused_gc
from ldnkit.population.run import Screened, screened

# Below this many patients starting processes costs more than it saves.
PARALLEL_FROM = 20_000

# What forked workers screen: set in the parent just before the pool starts.
_job: tuple[RowScreener, Sequence[Any]] | None = None


def default_workers(patients: int) -> int:
    """One process per CPU this process may use, for exports large enough to gain from it."""
    if patients < PARALLEL_FROM:
        return 1
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def screen_batches(
    screener: RowScreener, batches: Sequence[Any], workers: int | None = None
) -> Iterator[Screened]:
    """Screened output of each Arrow batch of engine rows, in batch order."""
    if workers is None:
        workers = default_workers(sum(b.num_rows for b in batches))
    # Without fork (Windows), workers would have to be sent the screener and its rows: the
    # batches are screened here instead.
    if workers <= 1 or len(batches) <= 1 or "fork" not in multiprocessing.get_all_start_methods():
        for batch in batches:
            yield _screen(screener, batch)
        return
    screener.warm_up()
    global _job
    _job = screener, batches
    context = multiprocessing.get_context("fork")
    count = min(workers, len(batches))
    try:
        with ProcessPoolExecutor(count, mp_context=context, initializer=_worker_started) as pool:
            with warnings.catch_warnings():
                # Python 3.12+ warns on fork (done at the first submit) when the process has
                # other threads, such as a progress bar's refresh. The workers only run the
                # screen on memory they inherited and take fresh terminal streams (see
                # _worker_started), so they never wait on a lock those threads held.
                warnings.filterwarnings("ignore", ".*fork.*", DeprecationWarning)
                screened_batches = pool.map(_screen_batch, range(len(batches)))
            yield from screened_batches
    finally:
        _job = None


def _worker_started() -> None:
    # Another thread of the parent may have held a terminal stream's lock at the moment of
    # the fork; a worker writes nothing, so it gets streams of its own instead of risking a
    # wait on that lock when it flushes them at exit.
    sys.stdout = sys.stderr = open(os.devnull, "w")  # noqa: SIM115 (lives as long as the worker)


def _screen_batch(number: int) -> Screened:
    assert _job is not None, "workers are forked after the job is set"
    screener, batches = _job
    return _screen(screener, batches[number])


def _screen(screener: RowScreener, batch: Any) -> Screened:
    # The whole batch with the cycle collector paused: turning Arrow into rows allocates as
    # much as screening them does (see paused_gc).
    with paused_gc():
        return screened(screener.screen_rows(batch_rows(batch)))
