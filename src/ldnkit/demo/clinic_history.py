"""Clinics with a history of LDN courses, entered through the same services a clinic uses.

`add_course` enters one patient's course as described by a `CourseSpec` (profile, a plan written
on a given day, dispenses, a stop, diary pain scores); `history_specs` makes up a clinic's worth
of them with the shapes a published case series reports (many prescriptions never filled, some
relief in about two thirds of those who take it, stops over the months, responses that differ by
diagnosis). Tests and the browser tests build clinics with them; the figures they give are
whatever the definitions make of the records, never set by hand.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ldnkit.domain.diary import DiaryEntry
from ldnkit.domain.profile import PatientProfile
from ldnkit.domain.titration import PlanRequest
from ldnkit.services import courses, plans
from ldnkit.services.demo import reviewed_profile
from ldnkit.services.diary import record_entry
from ldnkit.services.screening import admit
from ldnkit.store.records import Actor, StopReason
from ldnkit.store.repository import Store


@dataclass(frozen=True)
class CourseSpec:
    """One patient's course as a clinic would have recorded it."""

    name: str
    conditions: tuple[Any, ...]  # as a profile lists them: names, codes, {system, code}
    profile_as_of: dt.date
    plan_written: dt.date | None = None  # None: no plan
    plan: PlanRequest | None = None
    # A later plan that replaces the first (a changed dose or protocol): written on that day.
    replaced_by: tuple[dt.date, PlanRequest] | None = None
    dispenses: tuple[tuple[dt.date, int], ...] = ()  # (day, days' supply)
    in_error: tuple[int, ...] = ()  # dispenses (by position) later marked entered in error
    stop: tuple[dt.date, StopReason, str] | None = None
    pain: tuple[tuple[dt.date, int], ...] = ()  # diary days (day, pain 0-10)
    changed: tuple[tuple[dt.date, int], ...] = field(default=())  # days entered again later


def profile_of(spec: CourseSpec) -> PatientProfile:
    """A reviewed profile the screen lets start (no opioid, organs normal)."""
    return reviewed_profile(spec.profile_as_of, 50, spec.conditions)


def _entry(day: dt.date, pain: int) -> DiaryEntry:
    return DiaryEntry(day=day, pain=pain, fatigue=5, sleep_quality=5)


def add_course(store: Store, clinician: Actor, spec: CourseSpec, today: dt.date) -> int:
    """Enter the course through the clinic's services; returns the patient's record id."""
    record, _ = admit(store, clinician, spec.name, profile_of(spec))
    written: list[tuple[dt.date, PlanRequest]] = []
    if spec.plan is not None and spec.plan_written is not None:
        written.append((spec.plan_written, spec.plan))
        if spec.replaced_by is not None:
            written.append(spec.replaced_by)
    for day, request in written:
        plans.save_plan(
            store,
            clinician,
            record.id,
            request,
            today=day,
            written_at=dt.datetime.combine(day, dt.time(12), tzinfo=dt.UTC),
        )
    recorded = [
        courses.record_dispense(
            store, clinician, record.id, {"dispensed_on": day, "days_supply": supply}, today
        )
        for day, supply in spec.dispenses
    ]
    for index in spec.in_error:
        courses.mark_in_error(store, clinician, record.id, recorded[index].id)
    if spec.stop is not None:
        day, reason, note = spec.stop
        courses.stop_ldn(
            store, clinician, record.id, {"stopped_on": day, "reason": reason, "note": note}, today
        )
    for day, pain in (*spec.pain, *spec.changed):
        record_entry(store, clinician, record.id, _entry(day, pain), how="replace")
    return record.id


# Conditions as clinicians write them, with a made-up chance of a 30% fall in pain for each
# (higher in neuropathic pain, lower in spondylosis, as the case series found), and two that
# outcomes cannot place in a group (a name with several codes, a name it does not know).
_CONDITIONS: tuple[tuple[Any, float], ...] = (
    ("fibromyalgia", 0.45),
    ("M79.7", 0.45),
    ("neuropathic pain", 0.7),
    ({"system": "icd10cm", "code": "M47.816"}, 0.2),
    ("chronic low back pain", 0.35),
    ("chronic fatigue syndrome", 0.4),
    ("CRPS", 0.65),
    ("gout", 0.4),
)
_REASONS: tuple[StopReason, ...] = ("side_effects", "no_benefit", "cost", "patient_choice")


def history_specs(seed: int, patients: int, as_of: dt.date) -> list[CourseSpec]:
    """A made-up clinic history ending on `as_of` (the same seed gives the same clinic)."""
    rng = random.Random(seed)  # noqa: S311 (made-up records, not secrets)
    specs = []
    for number in range(patients):
        condition, chance = rng.choice(_CONDITIONS)
        extra = [rng.choice(_CONDITIONS)[0]] if rng.random() < 0.3 else []
        written = as_of - dt.timedelta(days=rng.randint(30, 400))
        listed = written - dt.timedelta(days=rng.randint(0, 60))
        start = written + dt.timedelta(days=rng.randint(0, 14))
        plan = PlanRequest(protocol=rng.choice(("standard", "gentle")), start=start)
        baseline = rng.randint(5, 9)
        pain = [(start - dt.timedelta(days=rng.randint(0, 20)), baseline)]
        fills: list[tuple[dt.date, int]] = []
        stop = None
        if rng.random() >= 0.44:  # the case series: 44% never filled
            months = rng.choice((1, 1, 2, 3, 4, 6, 9, 12))
            day = start
            for _ in range(months):
                if day > as_of:
                    break
                fills.append((day, 30))
                day += dt.timedelta(days=30 + rng.randint(-3, 20))
            responder = rng.random() < chance
            fall = rng.uniform(0.3, 0.7) if responder else rng.uniform(-0.1, 0.25)
            follow_up = start + dt.timedelta(days=rng.randint(28, 150))
            if follow_up <= as_of and rng.random() < 0.85:
                pain.append((follow_up, max(0, min(10, round(baseline * (1 - fall))))))
            ended = fills[-1][0] + dt.timedelta(days=30) if fills else start
            if rng.random() < 0.35 and ended <= as_of:
                note = "" if rng.random() < 0.7 else "told at a visit"
                stop = (ended, rng.choice(_REASONS), note)
        specs.append(
            CourseSpec(
                name=f"Patient {number + 1:03d}",
                conditions=(condition, *extra),
                profile_as_of=listed,
                plan_written=written,
                plan=plan,
                dispenses=tuple(fills),
                stop=stop,
                pain=tuple(sorted(dict(pain).items())),
            )
        )
    return specs


def add_history(
    store: Store, clinician: Actor, specs: Sequence[CourseSpec], today: dt.date
) -> list[int]:
    """Enter every course; returns the patients' record ids."""
    return [add_course(store, clinician, spec, today) for spec in specs]
