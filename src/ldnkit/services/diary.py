"""Recording, correcting and deleting a diary day: the patient's pages, the JSON API, the demo.

The merge policy is the domain's (`ldnkit.domain.diary.add_entry`): the very same entry sent
twice changes nothing, a different second entry for a day needs the caller's `how` (else
MergeConflict carrying the stored entry, so the user decides), and `how` merges as the domain
says. An edit of the version the user saw (`edit_of`) replaces it without asking. The store
applies every change with the day locked, so concurrent entries of one day all count, and keeps
the version a change replaces or a deletion removes, with its author: nothing entered is lost.

Rules every caller shares:
- a day after today is refused (a diary records days that have happened); "today" is the
  caller's, the clinic's date (`Settings.today`);
- a past day before the patient's first plan started is recorded only once the caller confirms
  it (`before_plan_confirmed`): such days are the time before LDN, and a mistyped year would
  otherwise land there unseen.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from ldnkit.domain.diary import DiaryEntry, MergeConflict, MergePolicy, add_entry
from ldnkit.store.diary import DayChanged
from ldnkit.store.records import Actor, DiaryRecord
from ldnkit.store.repository import Store
from ldnkit.validation import InputError

__all__ = [
    "BeforePlan",
    "DayChanged",
    "Saved",
    "delete_day",
    "future_day_problem",
    "record_entry",
    "save_day",
]


class BeforePlan(Exception):
    """A past day before the first plan started, not yet confirmed as the day meant."""

    def __init__(self, day: dt.date, start: dt.date) -> None:
        self.day = day
        self.start = start
        super().__init__(f"{day} is before the plan started on {start}")


@dataclass(frozen=True)
class Saved:
    """What the day holds after a save, and whether the save changed it."""

    entry: DiaryEntry
    changed: bool


def future_day_problem(day: dt.date, today: dt.date) -> InputError | None:
    """The refusal of a day after today, or None."""
    if day <= today:
        return None
    return InputError.single(
        "day",
        day.isoformat(),
        f"a day on or before today ({today.isoformat()}): the diary records days that have "
        "happened",
    )


def save_day(
    store: Store,
    actor: Actor,
    patient_id: int,
    entry: DiaryEntry,
    how: MergePolicy | None = None,
    *,
    today: dt.date | None = None,
    edit_of: str | None = None,
    before_plan_confirmed: bool = True,
) -> Saved:
    """Save a day's entry and say whether it changed what the day held.

    `edit_of` is the version (`DiaryRecord.version`) the entry was edited from: while the day
    is still that version, the entry replaces it. `today` defaults to the server's date.
    """
    today = today or dt.date.today()
    refusal = future_day_problem(entry.day, today)
    if refusal is not None:
        raise refusal
    if not before_plan_confirmed and entry.day < today:
        start = store.treatment_start(actor, patient_id)
        if start is not None and entry.day < start:
            raise BeforePlan(entry.day, start)
    before: list[DiaryEntry | None] = []

    def revise(stored: DiaryRecord | None) -> DiaryEntry:
        before.append(stored.entry if stored else None)
        if stored is None:
            return entry
        if edit_of is not None and stored.version == edit_of:
            return entry
        (settled,) = add_entry([stored.entry], entry, how)
        return settled

    saved = store.revise_diary_day(actor, patient_id, entry.day, revise)
    return Saved(saved, saved != before[-1])


def record_entry(
    store: Store,
    actor: Actor,
    patient_id: int,
    entry: DiaryEntry,
    how: MergePolicy | None = None,
    *,
    today: dt.date | None = None,
) -> DiaryEntry:
    """Save a day's entry (backdating allowed) and return what the day holds now."""
    return save_day(store, actor, patient_id, entry, how, today=today).entry


def delete_day(
    store: Store, actor: Actor, patient_id: int, day: dt.date, version: str | None = None
) -> DiaryEntry | None:
    """Delete a day's entry (kept as an earlier version, audited); None when it had none.

    With `version` (the one the user saw), DayChanged when the day has changed since.
    """
    return store.delete_diary_day(actor, patient_id, day, version)


def combined(existing: DiaryEntry, incoming: DiaryEntry) -> DiaryEntry | None:
    """What `combine` would store, shown before it is chosen; None when it cannot combine."""
    try:
        (settled,) = add_entry([existing], incoming, "combine")
    except MergeConflict:
        return None
    return settled
