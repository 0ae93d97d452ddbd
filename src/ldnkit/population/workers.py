"""Work in worker processes: screening engine rows, tallying clinic outcomes.

The screen is pure Python, so one process screens on one core while DuckDB's read used them
all. Large exports are screened by one process per CPU. The workers are forked before DuckDB
starts (a process must not fork while another library's threads may hold its locks), with the
knowledge base already loaded; each batch of patient rows then goes to a worker as Arrow IPC
bytes, with the run's kinds, and its output rows come back as an Arrow table. At most a few
batches are in flight, so memory does not grow with the export.
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
import sys
import uuid
import warnings
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from types import TracebackType
from typing import Any, TypeVar

import pyarrow as pa

from ldnkit.population.output import Screened
from ldnkit.population.rows import RowScreener

# Below this many patients starting processes costs more than it saves.
PARALLEL_FROM = 20_000

# What forked workers run: set in the parent just before the pool starts.
_work: Callable[[int], Any] | None = None
# In a worker: the screener of the current run (built from the first batch's state).
_screener: tuple[str, RowScreener] | None = None
T = TypeVar("T")


def cpus() -> int:
    """The CPUs this process may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def default_workers(patients: int) -> int:
    """One process per CPU this process may use, for exports large enough to gain from it."""
    return 1 if patients < PARALLEL_FROM else cpus()


def _can_fork() -> bool:
    return "fork" in multiprocessing.get_all_start_methods()


class ScreeningPool:
    """Worker processes that screen Arrow batches of engine rows, in the order given.

    Enter it before the engine starts (the workers fork then); with one worker, or where fork
    does not exist (Windows), batches are screened in this process.
    """

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self.pool: Any = None

    def __enter__(self) -> ScreeningPool:
        if self.workers > 1 and _can_fork():
            with _quiet_fork():
                self.pool = multiprocessing.get_context("fork").Pool(
                    self.workers, initializer=_worker_started
                )
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self.pool is not None:
            if error is None:
                self.pool.close()
            else:
                self.pool.terminate()
            self.pool.join()
            self.pool = None

    def screen(self, screener: RowScreener, batches: Iterable[Any]) -> Iterator[Screened]:
        """The screened output of each batch, in batch order."""
        if self.pool is None:
            for batch in batches:
                yield screener.screen_batch(batch)
            return
        # The run's state goes with every batch (a few hundred kinds: small next to a batch);
        # a worker builds its screener from it once per run.
        token = str(uuid.uuid4())
        state = pickle.dumps(
            (screener.as_of, screener.medications, screener.condition_fragments,
             screener.order_kinds)
        )  # fmt: skip
        pending: deque[Any] = deque()
        for batch in batches:
            work = (token, state, _ipc(batch))
            pending.append(self.pool.apply_async(_screen_in_worker, work))
            if len(pending) > self.workers:
                yield pending.popleft().get()
        while pending:
            yield pending.popleft().get()


def _ipc(batch: Any) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, batch.schema) as writer:
        writer.write_batch(batch)
    return bytes(sink.getvalue())


def _screen_in_worker(token: str, state: bytes, payload: bytes) -> Screened:
    global _screener
    if _screener is None or _screener[0] != token:
        # From the parent, through the pool's own pipe.
        _screener = (token, RowScreener(*pickle.loads(state)))  # noqa: S301
    with pa.ipc.open_stream(payload) as reader:
        batch = reader.read_next_batch()
    return _screener[1].screen_batch(batch)


def fork_map(work: Callable[[int], T], jobs: int, workers: int) -> list[T]:
    """[work(0), ..., work(jobs - 1)], in `workers` processes when there are several.

    This process runs job 0 itself while forked workers run the others: it would only wait
    otherwise. The workers are forked, so `work` and everything it reads are inherited, not
    sent: only the job number goes out and each result comes back. Fork before anything starts
    threads of its own (close DuckDB connections first). Without fork (Windows) the jobs run
    here.
    """
    if workers <= 1 or jobs <= 1 or not _can_fork():
        return [work(number) for number in range(jobs)]
    global _work
    _work = work
    context = multiprocessing.get_context("fork")
    try:
        with (
            ProcessPoolExecutor(
                min(workers, jobs) - 1, mp_context=context, initializer=_worker_started
            ) as pool,
            _quiet_fork(),
        ):
            others = [pool.submit(_run_job, number) for number in range(1, jobs)]
            first = work(0)
            return [first, *(job.result() for job in others)]
    finally:
        _work = None


@contextmanager
def _quiet_fork() -> Iterator[None]:
    # Python 3.12+ warns on fork when the process has other threads, such as a progress bar's
    # refresh. The workers only compute on memory they inherited and take fresh terminal
    # streams (see _worker_started), so they never wait on a lock those threads held.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", ".*fork.*", DeprecationWarning)
        yield


def _worker_started() -> None:
    # Another thread of the parent may have held a terminal stream's lock at the moment of
    # the fork; a worker writes nothing, so it gets streams of its own instead of risking a
    # wait on that lock when it flushes them at exit.
    sys.stdout = sys.stderr = open(os.devnull, "w")  # noqa: SIM115 (lives as long as the worker)


def _run_job(number: int) -> Any:
    assert _work is not None, "workers are forked after the work is set"
    return _work(number)
