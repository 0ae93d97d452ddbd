"""Work in worker processes: screening engine rows, tallying clinic outcomes.

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
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any, TypeVar

from ldnkit.population.rows import RowScreener, batch_rows, paused_gc
from ldnkit.population.run import Screened, screened

# Below this many patients starting processes costs more than it saves.
PARALLEL_FROM = 20_000

# What forked workers run: set in the parent just before the pool starts.
_work: Callable[[int], Any] | None = None
T = TypeVar("T")


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
    if workers <= 1 or len(batches) <= 1:
        # One by one, so that the caller can write and count each batch as it comes.
        for batch in batches:
            yield _screen(screener, batch)
        return
    screener.warm_up()
    yield from fork_map(lambda number: _screen(screener, batches[number]), len(batches), workers)


def fork_map(work: Callable[[int], T], jobs: int, workers: int) -> list[T]:
    """[work(0), ..., work(jobs - 1)], in forked worker processes when there are several.

    The workers are forked, so `work` and everything it reads are inherited, not sent: only the
    job number goes out and each result comes back. Fork before anything starts threads of its
    own (close DuckDB connections first). Without fork (Windows) the jobs run here.
    """
    if workers <= 1 or jobs <= 1 or "fork" not in multiprocessing.get_all_start_methods():
        return [work(number) for number in range(jobs)]
    global _work
    _work = work
    context = multiprocessing.get_context("fork")
    try:
        with (
            ProcessPoolExecutor(
                min(workers, jobs), mp_context=context, initializer=_worker_started
            ) as pool,
            warnings.catch_warnings(),
        ):
            # Python 3.12+ warns on fork (done at the first submit) when the process has
            # other threads, such as a progress bar's refresh. The workers only compute on
            # memory they inherited and take fresh terminal streams (see _worker_started),
            # so they never wait on a lock those threads held.
            warnings.filterwarnings("ignore", ".*fork.*", DeprecationWarning)
            return list(pool.map(_run_job, range(jobs)))
    finally:
        _work = None


def _worker_started() -> None:
    # Another thread of the parent may have held a terminal stream's lock at the moment of
    # the fork; a worker writes nothing, so it gets streams of its own instead of risking a
    # wait on that lock when it flushes them at exit.
    sys.stdout = sys.stderr = open(os.devnull, "w")  # noqa: SIM115 (lives as long as the worker)


def _run_job(number: int) -> Any:
    assert _work is not None, "workers are forked after the work is set"
    return _work(number)


def _screen(screener: RowScreener, batch: Any) -> Screened:
    # The whole batch with the cycle collector paused: turning Arrow into rows allocates as
    # much as screening them does (see paused_gc).
    with paused_gc():
        return screened(screener.screen_rows(batch_rows(batch)))
