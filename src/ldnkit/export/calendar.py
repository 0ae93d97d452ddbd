"""A titration plan as an iCalendar file (RFC 5545): one daily reminder event per step.

Times are floating local times (no time zone): a bedtime reminder at 21:30 should ring at
21:30 wherever the patient is, including after a daylight-saving change or a journey.
"""

from __future__ import annotations

import datetime as dt
import hashlib

from ldnkit.domain.titration import Plan, Step
from ldnkit.knowledge.protocols import DoseTime

DEFAULT_TIMES: dict[DoseTime, dt.time] = {"bedtime": dt.time(21, 30), "morning": dt.time(8, 0)}
PRODID = "-//ldnkit//LDN titration plan//EN"
_FOLD_OCTETS = 75


def escape_text(value: str) -> str:
    """Escape a TEXT value (RFC 5545 3.3.11): backslash, semicolon, comma, line breaks.

    A carriage return alone is a line break too (calendar readers end lines on it), so it is
    escaped like a newline: text can never start a content line of its own.
    """
    return (
        value.replace("\\", "\\\\")
        .replace(";", "\\;")
        .replace(",", "\\,")
        .replace("\r\n", "\\n")
        .replace("\r", "\\n")
        .replace("\n", "\\n")
    )


def fold(line: str) -> str:
    """Fold a content line at 75 octets (RFC 5545 3.1), never inside a UTF-8 character."""
    pieces: list[str] = []
    current, size, limit = "", 0, _FOLD_OCTETS
    for char in line:
        width = len(char.encode("utf-8"))
        if size + width > limit:
            pieces.append(current)
            # Continuation lines begin with a space, which counts toward their 75 octets.
            current, size, limit = "", 0, _FOLD_OCTETS - 1
        current += char
        size += width
    pieces.append(current)
    return "\r\n ".join(pieces)


def _local(day: dt.date, at: dt.time) -> str:
    return dt.datetime.combine(day, at).strftime("%Y%m%dT%H%M%S")


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
    stamp: str,
    times: dict[DoseTime, dt.time],
    patient_label: str | None,
) -> list[str]:
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
    rule = "FREQ=DAILY" + (f";UNTIL={_local(step.end, at)}" if step.end else "")
    reminder = f"LDN {_dose(step.dose_mg)} now ({step.time})"
    return [
        "BEGIN:VEVENT",
        f"UID:{_uid(plan, 'step', index)}",
        f"DTSTAMP:{stamp}",
        f"DTSTART:{_local(step.start, at)}",
        "DURATION:PT15M",
        f"RRULE:{rule}",
        f"SUMMARY:{escape_text(f'LDN {_dose(step.dose_mg)} at {step.time}')}",
        f"DESCRIPTION:{escape_text(' '.join(details))}",
        "TRANSP:TRANSPARENT",
        "BEGIN:VALARM",
        "ACTION:DISPLAY",
        f"DESCRIPTION:{escape_text(reminder)}",
        "TRIGGER:PT0S",
        "END:VALARM",
        "END:VEVENT",
    ]


def _hold_events(plan: Plan, stamp: str) -> list[str]:
    lines: list[str] = []
    holds = [a for a in plan.adjustments if a.kind == "procedure-hold"]
    for index, hold in enumerate(holds):
        # An all-day event; DTEND is exclusive, so it ends on the restart day itself.
        end = hold.resumes_on or hold.on + dt.timedelta(days=1)
        restart = f"Restart on {hold.resumes_on}." if hold.resumes_on else "Restart date to be set."
        lines += [
            "BEGIN:VEVENT",
            f"UID:{_uid(plan, 'hold', index)}",
            f"DTSTAMP:{stamp}",
            f"DTSTART;VALUE=DATE:{hold.on.strftime('%Y%m%d')}",
            f"DTEND;VALUE=DATE:{end.strftime('%Y%m%d')}",
            f"SUMMARY:{escape_text('No LDN: hold for a procedure')}",
            f"DESCRIPTION:{escape_text(f'{hold.message} {restart}')}",
            "TRANSP:TRANSPARENT",
            "END:VEVENT",
        ]
    return lines


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
    dtstamp = moment.strftime("%Y%m%dT%H%M%SZ")
    chosen = {**DEFAULT_TIMES, **(times or {})}
    name = "LDN plan" + (f" - {patient_label}" if patient_label else "")
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:{PRODID}",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        f"X-WR-CALNAME:{escape_text(name)}",
    ]
    for index, step in enumerate(plan.steps):
        lines += _step_event(plan, index, step, dtstamp, chosen, patient_label)
    lines += _hold_events(plan, dtstamp)
    lines.append("END:VCALENDAR")
    return "".join(fold(line) + "\r\n" for line in lines)
