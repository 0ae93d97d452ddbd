"""Small helpers the rules share: dates that cannot overflow, and days and lists in words."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence


def shift(day: dt.date, days: int) -> dt.date:
    """`day` moved by `days`, held at the calendar's ends instead of overflowing.

    EHR data carries placeholder dates (0001-01-01, 9999-12-31); they must not crash the screen.
    """
    try:
        return day + dt.timedelta(days=days)
    except OverflowError:
        return dt.date.max if days > 0 else dt.date.min


def days(n: int) -> str:
    return "1 day" if n == 1 else f"{n} days"


def relative(day: dt.date, as_of: dt.date) -> str:
    """How far `day` is from the screening day, in words that read right for any date."""
    n = (day - as_of).days
    if n == 0:
        return "today"
    if n == 1:
        return "tomorrow"
    if n == -1:
        return "yesterday"
    return f"in {days(n)}" if n > 0 else f"{days(-n)} ago"


def since(last_dose: dt.date, as_of: dt.date) -> str:
    n = (as_of - last_dose).days
    return f"the day of this screen ({as_of})" if n == 0 else f"{days(n)} before {as_of}"


def quoted_words(items: Sequence[str]) -> str:
    quoted = [f'"{w}"' for w in items]
    if len(quoted) == 1:
        return f"the word {quoted[0]}"
    return "the words " + ", ".join(quoted[:-1]) + " and " + quoted[-1]


def either(names: Sequence[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]
