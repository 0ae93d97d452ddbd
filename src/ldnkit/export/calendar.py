"""Calendars (RFC 5545) written with the `icalendar` library: a titration plan (one daily
reminder event per step, holds as all-day events) and the daily diary check-in.

Times are floating local times (no time zone): a bedtime reminder at 21:30 should ring at
21:30 wherever the patient is, including after a daylight-saving change or a journey. The
library escapes text (commas, semicolons, backslashes, every kind of line break) and folds
lines at 75 octets, so no text can start a calendar line of its own.
"""

from __future__ import annotations

import datetime as dt
import hashlib

from icalendar import Alarm, Calendar, Event, vText

from ldnkit.domain.titration import Plan, Step
from ldnkit.knowledge.protocols import DoseTime

DEFAULT_TIMES: dict[DoseTime, dt.time] = {"bedtime": dt.time(21, 30), "morning": dt.time(8, 0)}
PRODID = "-//ldnkit//LDN titration plan//EN"
CHECKIN_PRODID = "-//ldnkit//LDN diary check-in//EN"
CHECKIN_DEFAULT = dt.time(20, 0)


def _calendar(prodid: str, name: str) -> Calendar:
    calendar = Calendar()
    calendar.add("prodid", prodid)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    # Typed as text explicitly: an X- property is not, and its line breaks would go raw.
    calendar.add("x-wr-calname", vText(name))
    return calendar


def _reminder(text: str) -> Alarm:
    alarm = Alarm()
    alarm.add("action", "DISPLAY")
    alarm.add("description", text)
    alarm.add("trigger", dt.timedelta(0))
    return alarm


def _dose(mg: float) -> str:
    return f"{mg:g} mg"


def _uid(plan: Plan, kind: str, index: int) -> str:
    # The same plan exported twice gives the same UIDs, so re-importing updates, not duplicates.
    digest = hashlib.sha256(plan.model_dump_json().encode()).hexdigest()[:16]
    return f"{digest}-{kind}-{index}@ldnkit"


def _step_event(
    plan: Plan,
    index: int,
    step: Step,
    stamp: dt.datetime,
    times: dict[DoseTime, dt.time],
    patient_label: str | None,
) -> Event:
    at = times[step.time]
    if step.end == step.start:
        when = f"on {step.start}"
    elif step.end:
        when = f"every day from {step.start} to {step.end}"
    else:
        when = f"every day from {step.start} on"
    what = f"Take {_dose(step.dose_mg)} of low-dose naltrexone ({step.time}), {when}."
    details = [what, f"Step {index + 1} of {len(plan.steps)} ({plan.protocol} protocol)."]
    if step.note:
        details.append(step.note + ".")
    if patient_label:
        details.append(f"For {patient_label}.")
    rule: dict[str, object] = {"freq": "daily"}
    if step.end:
        rule["until"] = dt.datetime.combine(step.end, at)
    event = Event()
    event.add("uid", _uid(plan, "step", index))
    event.add("dtstamp", stamp)
    event.add("dtstart", dt.datetime.combine(step.start, at))
    event.add("duration", dt.timedelta(minutes=15))
    event.add("rrule", rule)
    event.add("summary", f"LDN {_dose(step.dose_mg)} at {step.time}")
    event.add("description", " ".join(details))
    event.add("transp", "TRANSPARENT")
    event.add_component(_reminder(f"LDN {_dose(step.dose_mg)} now ({step.time})"))
    return event


def _hold_events(plan: Plan, stamp: dt.datetime) -> list[Event]:
    events = []
    holds = [a for a in plan.adjustments if a.kind == "procedure-hold"]
    for index, hold in enumerate(holds):
        # An all-day event; DTEND is exclusive, so it ends on the restart day itself.
        end = hold.resumes_on or hold.on + dt.timedelta(days=1)
        restart = f"Restart on {hold.resumes_on}." if hold.resumes_on else "Restart date to be set."
        event = Event()
        event.add("uid", _uid(plan, "hold", index))
        event.add("dtstamp", stamp)
        event.add("dtstart", hold.on)
        event.add("dtend", end)
        event.add("summary", "No LDN: hold for a procedure")
        event.add("description", f"{hold.message} {restart}")
        event.add("transp", "TRANSPARENT")
        events.append(event)
    return events


def _text(calendar: Calendar) -> str:
    ical: bytes = calendar.to_ical()
    return ical.decode("utf-8")


def plan_to_ics(
    plan: Plan,
    patient_label: str | None = None,
    *,
    stamp: dt.datetime | None = None,
    times: dict[DoseTime, dt.time] | None = None,
) -> str:
    """The plan as an RFC 5545 calendar: a daily reminder per step, holds as all-day events.

    `stamp` (UTC, default now) is the DTSTAMP; `times` overrides the 21:30 bedtime and 08:00
    morning reminder times.
    """
    moment = (stamp or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    chosen = {**DEFAULT_TIMES, **(times or {})}
    calendar = _calendar(PRODID, "LDN plan" + (f" - {patient_label}" if patient_label else ""))
    for index, step in enumerate(plan.steps):
        calendar.add_component(_step_event(plan, index, step, moment, chosen, patient_label))
    for event in _hold_events(plan, moment):
        calendar.add_component(event)
    return _text(calendar)


def checkin_ics(
    remind_at: dt.time,
    since: dt.date,
    link: str,
    uid: str,
    *,
    stamp: dt.datetime | None = None,
) -> str:
    """A daily diary check-in reminder from `since`, at `remind_at` (floating local time).

    It holds no health data (no name, dose or score), since calendar apps keep and sync it:
    only the reminder and the link to the diary.
    """
    moment = (stamp or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    calendar = _calendar(CHECKIN_PRODID, "Diary check-in")
    calendar.add("refresh-interval", dt.timedelta(hours=12), parameters={"VALUE": "DURATION"})
    event = Event()
    event.add("uid", uid)
    event.add("dtstamp", moment)
    event.add("dtstart", dt.datetime.combine(since, remind_at))
    event.add("duration", dt.timedelta(minutes=5))
    event.add("rrule", {"freq": "daily"})
    event.add("summary", "Diary check-in")
    event.add("description", f"How was today? Three taps and Save: {link}")
    event.add("url", link)
    event.add("transp", "TRANSPARENT")
    event.add_component(_reminder("Diary check-in: how was today?"))
    calendar.add_component(event)
    return _text(calendar)
