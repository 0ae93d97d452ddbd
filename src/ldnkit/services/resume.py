"""A form sent after its browser session ended: kept, and sent again once its owner signs in.

A patient who fills in the diary slowly (tired, in pain) may press Save after the session has
ended through idleness. The form is not lost: when its CSRF token is the one of the session the
browser still names (a session ended by idleness is kept, unusable, until its expiry), the
form is kept for that account under a one-time token the browser holds in a cookie. After
signing in again as the same account, the form is taken back (once) and saved as if just sent.
A form that cannot be shown to come from its session is refused as any stale form is: CSRF
protection is never relaxed.
"""

from __future__ import annotations

import datetime as dt
import hmac
import secrets
from collections.abc import Mapping
from dataclasses import dataclass

from ldnkit.store.records import Actor
from ldnkit.store.repository import Store

# As long as a browser session lasts: a form filled in the evening is still saved next morning
# only if its session cookie was still alive when it was sent.
KEPT_FOR = dt.timedelta(hours=12)


@dataclass(frozen=True)
class KeptForm:
    path: str
    fields: dict[str, list[str]]
    sent_at: dt.datetime


def keep_form(
    store: Store,
    session_token: str | None,
    csrf_sent: str,
    fields: Mapping[str, list[str]],
    path: str,
) -> str | None:
    """Keep a form (its `fields`, the CSRF token left out) whose session has ended, for that
    session's account; returns the one-time token for the browser, or None when the form's
    CSRF token is not the one of the ended session the browser names."""
    ended = store.ended_session(session_token) if session_token else None
    if ended is None or not csrf_sent or not hmac.compare_digest(ended[1], csrf_sent):
        return None
    kept = {k: list(v) for k, v in fields.items()}
    resume_token = secrets.token_urlsafe(32)
    store.keep_pending_form(ended[0].account_id, resume_token, path, kept, KEPT_FOR)
    return resume_token


def take_form(store: Store, token: str, actor: Actor) -> KeptForm | None:
    """The form kept under `token` for this account (forgotten as it is taken), or None."""
    found = store.take_pending_form(token, actor.account_id)
    if found is None:
        return None
    path, fields, sent_at = found
    return KeptForm(path, {str(k): [str(x) for x in v] for k, v in fields.items()}, sent_at)
