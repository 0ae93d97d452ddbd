"""The patient's daily check-in reminder: the page that makes (once shown) and revokes its secret
calendar address, and the feed itself, which calendar apps fetch without signing in."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from ldnkit.services.reminders import (
    CHECKIN_DEFAULT,
    FeedGone,
    NewFeed,
    feed_calendar,
    new_feed,
    reminder_time,
    revoke_feed,
)
from ldnkit.store.access import NotFound
from ldnkit.validation import InputError
from ldnkit.web.deps import CheckedForm, PatientSession, StoreDep
from ldnkit.web.render import page
from ldnkit.web.words import said_by_field

router = APIRouter(include_in_schema=False)
FEED_PATH = "/feeds/checkin/{secret}.ics"


def _base(request: Request) -> str:
    public: str | None = request.app.state.settings.public_url
    return public or str(request.base_url).rstrip("/")


def _reminders_page(
    request: Request,
    store: StoreDep,
    session: PatientSession,
    *,
    made: NewFeed | None = None,
    message: str | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    assert session.actor.patient_id is not None
    feed = store.reminder_feed(session.actor, session.actor.patient_id)
    address = None
    if made is not None:
        address = _base(request) + FEED_PATH.format(secret=made.secret)
    context = {
        "feed": feed,
        "address": address,
        "webcal": address.replace("https://", "webcal://").replace("http://", "webcal://")
        if address
        else None,
        "default_time": CHECKIN_DEFAULT.strftime("%H:%M"),
        "message": message,
        "errors": errors or {},
    }
    return page(request, "reminders.html", context, status_code=status_code)


@router.get("/me/reminders")
def reminders_page(request: Request, store: StoreDep, session: PatientSession) -> Response:
    return _reminders_page(request, store, session)


@router.post("/me/reminders")
def change_reminders(
    request: Request, store: StoreDep, session: PatientSession, form: CheckedForm
) -> Response:
    """Make a new reminder address (the old one stops working), or stop reminders."""
    assert session.actor.patient_id is not None
    pid = session.actor.patient_id
    if form.get("action") == "stop":
        stopped = revoke_feed(store, session.actor, pid)
        text = "Reminders stopped: the old address no longer works." if stopped else None
        return _reminders_page(request, store, session, message=text or "There were no reminders.")
    try:
        made = new_feed(store, session.actor, pid, reminder_time(form.get("remind_at")))
    except InputError as exc:
        return _reminders_page(request, store, session, errors=said_by_field(exc.problems),
                               status_code=422)  # fmt: skip
    return _reminders_page(request, store, session, made=made)


@router.get(FEED_PATH)
def checkin_feed(request: Request, store: StoreDep, secret: str) -> Response:
    """The check-in calendar (no sign-in: the address is the secret); 410 once revoked."""
    try:
        ics = feed_calendar(store, secret, _base(request) + "/me/today")
    except FeedGone:
        return Response("This reminder address was stopped.", status_code=410,
                        media_type="text/plain")  # fmt: skip
    except NotFound:
        return Response("No such reminder address.", status_code=404, media_type="text/plain")
    return Response(ics, media_type="text/calendar; charset=utf-8")
