"""The patient's daily diary check-in, as a calendar feed any calendar app can subscribe to.

The feed's address holds a secret (only its hash is stored), so it needs no sign-in: calendar
apps fetch it on their own. The address is shown once, when made; a new one revokes the old,
and a revoked address answers "gone". The feed holds no health data, only the reminder and the
link to the diary, because calendar apps keep and sync what they fetch.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

from ldnkit.export.calendar import CHECKIN_DEFAULT, checkin_ics
from ldnkit.store.access import NotFound
from ldnkit.store.records import Actor
from ldnkit.store.reminders import ReminderFeed
from ldnkit.store.repository import Store
from ldnkit.validation import InputError

__all__ = ["CHECKIN_DEFAULT", "FeedGone", "NewFeed", "feed_calendar", "new_feed", "revoke_feed"]


class FeedGone(Exception):
    """The feed's address was revoked (a newer one may be in use)."""


@dataclass(frozen=True)
class NewFeed:
    secret: str  # the address's secret part, shown once
    feed: ReminderFeed


def reminder_time(text: str) -> dt.time:
    """The reminder time a form sent (HH:MM), the default when left empty."""
    if not text.strip():
        return CHECKIN_DEFAULT
    try:
        return dt.time.fromisoformat(text.strip()).replace(second=0, microsecond=0, tzinfo=None)
    except ValueError:
        raise InputError.single("remind_at", text[:20], "a time of day such as 20:00") from None


def new_feed(store: Store, actor: Actor, patient_id: int, remind_at: dt.time) -> NewFeed:
    """A new secret feed address for the patient; the earlier one stops working. Audited."""
    secret = secrets.token_urlsafe(32)
    return NewFeed(secret, store.new_reminder_feed(actor, patient_id, secret, remind_at))


def revoke_feed(store: Store, actor: Actor, patient_id: int) -> bool:
    """Stop the patient's feed; True when there was one. Audited."""
    return store.revoke_reminder_feed(actor, patient_id) > 0


def feed_calendar(store: Store, secret: str, diary_link: str) -> str:
    """The check-in calendar a feed address names; FeedGone once revoked, NotFound if never."""
    if not secret or len(secret) > 100:
        raise NotFound("reminder feed")
    feed = store.feed_by_secret(secret)
    if feed.revoked_at is not None:
        raise FeedGone
    # The UID stays the same for the life of the address, so calendars update, not duplicate.
    uid = f"checkin-{feed.patient_id}-{int(feed.created_at.timestamp())}@ldnkit"
    return checkin_ics(feed.remind_at, feed.created_at.date(), diary_link, uid)
