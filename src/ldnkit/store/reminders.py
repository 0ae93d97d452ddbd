"""Each patient's calendar feed of daily check-in reminders, reached by a secret URL.

Only the SHA-256 of a feed's secret is kept, so a feed's address is shown once, when it is made.
A patient has at most one feed in use; making a new one revokes the old, and a revoked feed's
row stays, so its address answers "gone" rather than "never existed".
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ldnkit.store.access import Access, NotFound
from ldnkit.store.database import affected, aware, secret_hash
from ldnkit.store.models import ReminderFeedRow, utcnow
from ldnkit.store.records import Actor


@dataclass(frozen=True)
class ReminderFeed:
    patient_id: int
    remind_at: dt.time
    created_at: dt.datetime
    revoked_at: dt.datetime | None


def _feed(row: ReminderFeedRow) -> ReminderFeed:
    revoked = aware(row.revoked_at) if row.revoked_at else None
    return ReminderFeed(row.patient_id, row.remind_at, aware(row.created_at), revoked)


def _revoke_all(s: Session, patient_id: int) -> int:
    return affected(
        s.execute(
            update(ReminderFeedRow)
            .where(ReminderFeedRow.patient_id == patient_id, ReminderFeedRow.revoked_at.is_(None))
            .values(revoked_at=utcnow())
        )
    )


class ReminderFeeds(Access):
    """Check-in reminder feeds."""

    def reminder_feed(self, actor: Actor, patient_id: int) -> ReminderFeed | None:
        """The patient's feed in use, if any."""
        with self._patient_tx(actor, patient_id, "read", "reminder feed") as (s, _):
            row = s.scalar(
                select(ReminderFeedRow).where(
                    ReminderFeedRow.patient_id == patient_id, ReminderFeedRow.revoked_at.is_(None)
                )
            )
            return _feed(row) if row else None

    def new_reminder_feed(
        self, actor: Actor, patient_id: int, secret: str, remind_at: dt.time
    ) -> ReminderFeed:
        """A feed under `secret` (kept hashed); the patient's earlier feed stops working."""
        with self._patient_tx(actor, patient_id, "write", "reminder feed: new address") as (s, _):
            _revoke_all(s, patient_id)
            row = ReminderFeedRow(
                patient_id=patient_id,
                secret_hash=secret_hash(secret),
                remind_at=remind_at,
                created_at=utcnow(),
                created_by=actor.account_id,
            )
            s.add(row)
            s.flush()
            return _feed(row)

    def revoke_reminder_feed(self, actor: Actor, patient_id: int) -> int:
        """Stop the patient's feed; returns how many were in use (0 or 1)."""
        with self._patient_tx(actor, patient_id, "write", "reminder feed: revoked") as (s, _):
            return _revoke_all(s, patient_id)

    def feed_by_secret(self, secret: str) -> ReminderFeed:
        """The feed a secret address names, revoked or not (the caller says which is gone);
        NotFound for an address that never was one. Not audited: the feed holds no health
        data, and calendar apps fetch it many times a day."""
        with self._read() as s:
            row = s.scalar(
                select(ReminderFeedRow).where(ReminderFeedRow.secret_hash == secret_hash(secret))
            )
            if row is None:
                raise NotFound("reminder feed")
            return _feed(row)
