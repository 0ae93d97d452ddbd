"""The patient diary: one row per day, every version a later change replaced, and who entered it.

How a second entry for a day is merged with the first is the domain's decision
(`ldnkit.domain.diary`), taken by the caller; the store only keeps the day locked while the
decision is made, so concurrent changes of one day are applied one after another.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ldnkit.domain.diary import DiaryEntry
from ldnkit.store.access import Access
from ldnkit.store.database import aware
from ldnkit.store.models import AccountRow, DiaryRow, DiaryVersionRow, PlanRow, utcnow
from ldnkit.store.records import Actor, Author, DiaryRecord, DiaryVersion, Role

# What a day becomes, given what it holds now (None for a day without an entry yet).
Settle = Callable[[DiaryEntry | None], DiaryEntry]
# The same, given the stored day with who entered it and its version.
Revise = Callable[[DiaryRecord | None], DiaryEntry]


class DayChanged(Exception):
    """The day is no longer the version the caller saw: someone changed or deleted it since."""

    def __init__(self, day: dt.date, current: DiaryRecord | None) -> None:
        self.day = day
        self.current = current
        super().__init__(f"the diary day {day} changed since it was opened")


def entry_of(row: DiaryRow) -> DiaryEntry:
    return DiaryEntry.model_validate(
        {
            "day": row.day,
            "dose_mg": row.dose_mg,
            "dose_time": row.dose_time,
            "pain": row.pain,
            "fatigue": row.fatigue,
            "sleep_quality": row.sleep_quality,
            "mood": row.mood,
            "side_effects": row.side_effects,
            "note": row.note,
        }
    )


def _author(account_id: int | None, role: str | None, email: str | None = None) -> Author:
    known: Role | None = "clinician" if role == "clinician" else "patient" if role else None
    return Author(account_id, known, email)


def _fill(row: DiaryRow, entry: DiaryEntry, author: Actor) -> None:
    data = entry.model_dump(mode="json")
    row.day = entry.day
    row.dose_mg = entry.dose_mg
    row.dose_time = entry.dose_time
    row.pain = entry.pain
    row.fatigue = entry.fatigue
    row.sleep_quality = entry.sleep_quality
    row.mood = entry.mood
    row.side_effects = data["side_effects"]
    row.note = entry.note
    row.updated_at = utcnow()
    row.entered_by = author.account_id
    row.entered_role = author.role


def _locked_day(s: Session, patient_id: int, day: dt.date) -> DiaryRow | None:
    """The day's row, locked until the transaction ends (SELECT ... FOR UPDATE).

    SQLite has no row locks and needs none: its write transactions start IMMEDIATE, so they
    never overlap.
    """
    return s.scalar(
        select(DiaryRow)
        .where(DiaryRow.patient_id == patient_id, DiaryRow.day == day)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


def _insert_day(s: Session, patient_id: int, entry: DiaryEntry, actor: Actor) -> bool:
    """Insert the day's first entry; False when another client's insert won the race.

    The unique (patient, day) index decides; the savepoint keeps the transaction usable.
    """
    row = DiaryRow(patient_id=patient_id)
    _fill(row, entry, actor)
    try:
        with s.begin_nested():
            s.add(row)
            s.flush()
    except IntegrityError:
        return False
    return True


def _record(s: Session, row: DiaryRow) -> DiaryRecord:
    email = s.scalar(select(AccountRow.email).where(AccountRow.id == row.entered_by))
    return DiaryRecord(
        entry_of(row), _author(row.entered_by, row.entered_role, email), aware(row.updated_at)
    )


def _keep_version(s: Session, row: DiaryRow, actor: Actor, change: str | None = None) -> None:
    """Keep the day's stored version before it is replaced (or deleted: `change`)."""
    s.add(
        DiaryVersionRow(
            patient_id=row.patient_id,
            day=row.day,
            entry=entry_of(row).model_dump(mode="json"),
            entered_by=row.entered_by,
            entered_role=row.entered_role,
            entered_at=row.updated_at,
            replaced_by=actor.account_id,
            change=change,
        )
    )


def _same_day(entry: DiaryEntry, day: dt.date) -> DiaryEntry:
    if entry.day != day:
        # A settle that moved the entry to another day would overwrite that day's row unseen.
        raise ValueError(f"an entry for {day} was settled as one for {entry.day}")
    return entry


class Diary(Access):
    """Diary days, their versions and authors."""

    def diary(self, actor: Actor, patient_id: int) -> list[DiaryEntry]:
        """The patient's diary, oldest day first."""
        return [record.entry for record in self.diary_records(actor, patient_id)]

    def diary_records(self, actor: Actor, patient_id: int) -> list[DiaryRecord]:
        """The diary with who entered each day and how many earlier versions it has."""
        with self._patient_tx(actor, patient_id, "read", "diary") as (s, _):
            versions = dict(
                s.execute(
                    select(DiaryVersionRow.day, func.count())
                    .where(DiaryVersionRow.patient_id == patient_id)
                    .group_by(DiaryVersionRow.day)
                ).all()
            )
            query = (
                select(DiaryRow, AccountRow.email)
                .outerjoin(AccountRow, AccountRow.id == DiaryRow.entered_by)
                .where(DiaryRow.patient_id == patient_id)
                .order_by(DiaryRow.day)
            )
            return [
                DiaryRecord(
                    entry_of(row),
                    _author(row.entered_by, row.entered_role, email),
                    aware(row.updated_at),
                    versions.get(row.day, 0),
                )
                for row, email in s.execute(query)
            ]

    def diary_versions(self, actor: Actor, patient_id: int, day: dt.date) -> list[DiaryVersion]:
        """The earlier versions of one diary day, oldest first (the current one is not here)."""
        with self._patient_tx(actor, patient_id, "read", f"diary {day} versions") as (s, _):
            rows = s.scalars(
                select(DiaryVersionRow)
                .where(DiaryVersionRow.patient_id == patient_id, DiaryVersionRow.day == day)
                .order_by(DiaryVersionRow.id)
            ).all()
            ids = {r.entered_by for r in rows} | {r.replaced_by for r in rows}
            emails: dict[int | None, str] = dict(
                s.execute(
                    select(AccountRow.id, AccountRow.email).where(AccountRow.id.in_(ids))
                ).all()
            )
            return [
                DiaryVersion(
                    DiaryEntry.model_validate(r.entry),
                    _author(r.entered_by, r.entered_role, emails.get(r.entered_by)),
                    aware(r.entered_at),
                    _author(r.replaced_by, None, emails.get(r.replaced_by)),
                    aware(r.replaced_at),
                    deleted=r.change == "deleted",
                )
                for r in rows
            ]

    def diary_day(self, actor: Actor, patient_id: int, day: dt.date) -> DiaryRecord | None:
        """One stored day with who entered it and its version (None when it has no entry)."""
        with self._patient_tx(actor, patient_id, "read", f"diary {day}") as (s, _):
            row = s.scalar(
                select(DiaryRow).where(DiaryRow.patient_id == patient_id, DiaryRow.day == day)
            )
            return _record(s, row) if row else None

    def treatment_start(self, actor: Actor, patient_id: int) -> dt.date | None:
        """The start of the patient's first plan: days before it are the time before LDN."""
        with self._patient_tx(actor, patient_id, "read", "plan") as (s, _):
            start: dt.date | None = s.scalar(
                select(func.min(PlanRow.start)).where(PlanRow.patient_id == patient_id)
            )
            return start

    def save_diary_day(
        self, actor: Actor, patient_id: int, day: dt.date, settle: Settle
    ) -> DiaryEntry:
        """Store what `settle` makes of the day, with the day locked from the read to the write.

        `settle` gets the day's stored entry (None when there is none yet) and returns the entry
        to keep (the stored one unchanged, or a new one); whatever it raises is raised here and
        nothing is written. Concurrent saves of one day are applied one after another and none
        is lost; the version a change replaces is kept with its author, and the actor is
        recorded as the author of what is stored.
        """
        return self.revise_diary_day(
            actor, patient_id, day, lambda stored: settle(stored.entry if stored else None)
        )

    def revise_diary_day(
        self, actor: Actor, patient_id: int, day: dt.date, revise: Revise
    ) -> DiaryEntry:
        """`save_diary_day`, with `revise` given the stored day's record (its version too)."""
        with self._patient_tx(actor, patient_id, "write", f"diary {day}") as (s, _):
            row = _locked_day(s, patient_id, day)
            if row is None:
                first = _same_day(revise(None), day)
                if _insert_day(s, patient_id, first, actor):
                    return first
                # Another client saved this day first: settle with theirs, under the lock.
                row = _locked_day(s, patient_id, day)
                assert row is not None  # the insert failed on this very row
            existing = entry_of(row)
            settled = _same_day(revise(_record(s, row)), day)
            if settled != existing:
                _keep_version(s, row, actor)
                _fill(row, settled, actor)
            return settled

    def delete_diary_day(
        self, actor: Actor, patient_id: int, day: dt.date, version: str | None = None
    ) -> DiaryEntry | None:
        """Delete a day's entry, keeping it as an earlier version marked deleted (nothing is
        lost); returns it, or None when the day had no entry. With `version`, only that
        version is deleted: DayChanged when the day is another one now."""
        with self._patient_tx(actor, patient_id, "write", f"diary {day} deleted") as (s, _):
            row = _locked_day(s, patient_id, day)
            current = _record(s, row) if row else None
            if version is not None and (current is None or current.version != version):
                raise DayChanged(day, current)
            if row is None:
                return None
            _keep_version(s, row, actor, change="deleted")
            s.delete(row)
            return entry_of(row)
