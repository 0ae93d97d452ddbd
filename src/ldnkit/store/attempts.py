"""Sign-in attempt limits: a growing wait after a few failures, never a lockout.

A key (an email, or a client address) may try `free` times without waiting. After that each
further attempt must wait `first_wait`, then twice that, and so on up to `max_wait`. An attacker
can therefore slow a real user down to one try every `max_wait` at worst, never lock them out,
and a key left quiet for `forget_after` starts again from zero.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass


class TooManyAttempts(Exception):
    """A sign-in refused before the password was looked at: the key must wait first."""

    def __init__(self, retry_after: int) -> None:
        self.retry_after = retry_after
        super().__init__(f"too many failed sign-ins; try again in {retry_after} s")


@dataclass(frozen=True)
class AttemptLimit:
    free: int
    first_wait: dt.timedelta
    max_wait: dt.timedelta
    forget_after: dt.timedelta = dt.timedelta(hours=24)

    def wait_after(self, failures: int) -> dt.timedelta:
        """How long after the latest attempt the next one may come, given `failures` so far."""
        if failures < self.free:
            return dt.timedelta(0)
        doublings = failures - self.free
        # Compared before multiplying, so a huge count cannot overflow the timedelta.
        if doublings >= math.log2(self.max_wait / self.first_wait):
            return self.max_wait
        wait: dt.timedelta = min(self.max_wait, self.first_wait * 2**doublings)
        return wait


def retry_after_seconds(wait: dt.timedelta) -> int:
    """A wait as the whole seconds a Retry-After header gives (never 0 while waiting)."""
    return max(1, math.ceil(wait.total_seconds()))
