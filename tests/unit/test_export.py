"""Plan exports: the iCalendar file (parsed back with the icalendar package) and printable text."""

from __future__ import annotations

import datetime as dt
from typing import TypeVar

import icalendar
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ldnkit.domain.titration import (
    Plan,
    PlanRequest,
    build_plan,
    hold_for_procedure,
    move_to_morning,
)
from ldnkit.export.calendar import checkin_ics, plan_to_ics
from ldnkit.export.printable import plan_to_text

START = dt.date(2026, 11, 23)
STAMP = dt.datetime(2026, 11, 20, 9, 0, tzinfo=dt.UTC)
Value = TypeVar("Value")


def standard() -> Plan:
    return build_plan(PlanRequest(protocol="standard", start=START))


def events(ics: str) -> list[icalendar.Component]:
    calendar = icalendar.Calendar.from_ical(ics)
    return calendar.walk("VEVENT")


def dosing(ics: str) -> list[icalendar.Component]:
    return [e for e in events(ics) if "VALARM" in {c.name for c in e.subcomponents}]


def prop(component: icalendar.Component, name: str, kind: type[Value]) -> Value:
    """The property `name`, which must have been read back as `kind` (a date, a text, a rule)."""
    value = component[name]
    assert isinstance(value, kind)
    return value


def test_calendar_uses_crlf_and_folds_every_line_to_75_octets() -> None:
    ics = plan_to_ics(standard(), patient_label="Ann Smith-Ødegård, ward 3; bed 7" * 3)
    assert ics.endswith("\r\n")
    assert "\n" not in ics.replace("\r\n", "")
    lines = ics.split("\r\n")[:-1]
    assert all(len(line.encode("utf-8")) <= 75 for line in lines)
    assert any(line.startswith(" ") for line in lines)  # the long name was folded
    calendar = icalendar.Calendar.from_ical(ics)
    assert (str(calendar["VERSION"]), str(calendar["PRODID"])) == (
        "2.0",
        "-//ldnkit//LDN titration plan//EN",
    )


def test_one_daily_reminder_event_per_step_until_the_step_ends() -> None:
    plan = standard()
    found = dosing(plan_to_ics(plan, stamp=STAMP))
    assert len(found) == len(plan.steps)
    for event, step in zip(found, plan.steps, strict=True):
        assert event.decoded("DTSTART") == dt.datetime.combine(step.start, dt.time(21, 30))
        assert prop(event, "DTSTAMP", icalendar.vDDDTypes).dt == STAMP
        assert prop(event, "UID", icalendar.vText).endswith("@ldnkit")
        rule = prop(event, "RRULE", icalendar.vRecur)
        assert rule["FREQ"] == ["DAILY"]
        if step.end is None:
            assert "UNTIL" not in rule
        else:
            assert rule["UNTIL"] == [dt.datetime.combine(step.end, dt.time(21, 30))]
        assert f"{step.dose_mg:g} mg" in str(event["SUMMARY"])


def test_each_reminder_rings_at_bedtime() -> None:
    for event in dosing(plan_to_ics(standard())):
        (alarm,) = event.subcomponents
        assert alarm["ACTION"] == "DISPLAY"
        assert alarm.decoded("TRIGGER") == dt.timedelta(0)
        assert event.decoded("DTSTART").time() == dt.time(21, 30)


def test_morning_doses_ring_in_the_morning() -> None:
    plan = move_to_morning(standard(), dt.date(2026, 12, 7))
    times = [e.decoded("DTSTART").time() for e in dosing(plan_to_ics(plan))]
    assert times == [dt.time(21, 30), dt.time(8, 0), dt.time(8, 0)]


def test_uids_are_unique_and_stable_across_exports() -> None:
    plan = hold_for_procedure(standard(), dt.date(2026, 12, 10), dt.date(2026, 12, 12))
    first = [str(e["UID"]) for e in events(plan_to_ics(plan, stamp=STAMP))]
    again = [str(e["UID"]) for e in events(plan_to_ics(plan))]
    assert len(set(first)) == len(first)
    assert first == again


def test_a_procedure_hold_is_an_all_day_event_until_the_restart() -> None:
    plan = hold_for_procedure(standard(), dt.date(2026, 12, 10), dt.date(2026, 12, 12))
    (hold,) = [e for e in events(plan_to_ics(plan)) if "hold" in str(e["SUMMARY"])]
    assert hold.decoded("DTSTART") == dt.date(2026, 12, 8)
    assert hold.decoded("DTEND") == plan.adjustments[-1].resumes_on


def test_commas_and_semicolons_survive_the_round_trip() -> None:
    label = "Doe, Jane; room 4\\5"
    for event in dosing(plan_to_ics(standard(), patient_label=label)):
        assert str(event["DESCRIPTION"]).endswith(f"For {label}.")


@pytest.mark.parametrize("label", ["Ana\rX-EVIL:1", "Ana\r\nX-EVIL:1", "Ana\nX-EVIL:1"])
def test_a_line_break_in_text_never_starts_a_calendar_line_of_its_own(label: str) -> None:
    calendar = plan_to_ics(standard(), label)
    lines = calendar.replace("\r\n ", "").split("\r\n")  # unfolded content lines
    assert all("\r" not in line and "\n" not in line for line in lines)
    assert not any(line.startswith("X-EVIL") for line in lines)
    assert "X-WR-CALNAME:LDN plan - Ana\\nX-EVIL:1" in lines
    summaries = [str(e["DESCRIPTION"]) for e in dosing(calendar)]
    assert all(text.endswith("For Ana\nX-EVIL:1.") for text in summaries)


@given(st.text(min_size=0, max_size=300))
def test_any_label_folds_to_75_octets_and_reads_back_as_written(label: str) -> None:
    ics = plan_to_ics(standard(), patient_label=label)
    assert all(len(line.encode("utf-8")) <= 75 for line in ics.split("\r\n"))
    lines = ics.replace("\r\n ", "").split("\r\n")
    assert all("\r" not in line and "\n" not in line for line in lines)
    written = label.replace("\r\n", "\n").replace("\r", "\n")
    for event in dosing(ics):
        assert str(event["DESCRIPTION"]).endswith(f"For {written}." if label else ").")


def test_the_check_in_reminder_rings_daily_and_holds_no_health_data() -> None:
    ics = checkin_ics(dt.time(19, 45), START, "https://ldn.example/me/today", "feed-1@ldnkit")
    calendar = icalendar.Calendar.from_ical(ics)
    (event,) = calendar.walk("VEVENT")
    assert event.decoded("DTSTART") == dt.datetime(2026, 11, 23, 19, 45)  # floating local time
    rule = prop(event, "RRULE", icalendar.vRecur)
    assert rule["FREQ"] == ["DAILY"]
    assert "UNTIL" not in rule
    assert str(event["URL"]) == "https://ldn.example/me/today"
    (alarm,) = event.subcomponents
    assert alarm.decoded("TRIGGER") == dt.timedelta(0)
    assert "mg" not in ics


def test_printable_text_lists_steps_changes_notes_and_full_citations() -> None:
    plan = hold_for_procedure(standard(), dt.date(2026, 12, 10), dt.date(2026, 12, 12))
    text = plan_to_text(plan, patient_label="Jane Doe")
    assert "For: Jane Doe" in text
    assert "2026-11-23  2026-12-06  1.5 mg   bedtime" in text
    assert "ongoing     4.5 mg   bedtime" in text
    assert "No LDN from 2026-12-08: procedure hold, restart on 2026-12-19." in text
    assert "procedure-hold" in text
    assert "opioid" in text.lower()
    assert "[whately-stead-2023] Whately Y, Stead M." in text
    # Lines fit 78 columns, except a link, which is never split.
    assert all(len(line) <= 78 or "://" in line for line in text.splitlines())


@pytest.mark.parametrize("protocol", ["standard", "gentle"])
def test_printable_text_has_one_row_per_step(protocol: str) -> None:
    plan = build_plan(PlanRequest(protocol=protocol, start=START))
    text = plan_to_text(plan)
    assert sum(1 for s in plan.steps if s.start.isoformat() in text) == len(plan.steps)
