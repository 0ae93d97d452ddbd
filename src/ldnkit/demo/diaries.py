"""Deterministic demo diaries: a responder, a non-responder and a patient with sleep effects.

Each diary has 14 baseline days before `start` (no LDN) and then `days` days on the standard
titration plan (1.5 mg, +1.5 mg every 14 days, 4.5 mg at bedtime). Scores follow a level that
changes with treatment plus AR(1) noise, so good and bad days come in runs as in real diaries;
a few doses are missed. The same kind, start, days and seed always give the same diary.

- responder: pain falls by about 55% over the first six weeks; fatigue and sleep improve.
- non_responder: no real change in any measure.
- sleep_side_effects: vivid dreams and insomnia start with the first dose and persist with
  bedtime dosing; pain improves by about 20% only, sleep quality falls.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from dataclasses import dataclass
from typing import Literal

from ldnkit.domain.diary import DiaryEntry, Severity, SideEffectReport
from ldnkit.domain.titration import PlanRequest, build_plan

DemoKind = Literal["responder", "non_responder", "sleep_side_effects"]
DEMO_KINDS: tuple[DemoKind, ...] = ("responder", "non_responder", "sleep_side_effects")
BASELINE_DAYS = 14
AR_COEFFICIENT = 0.5  # day-to-day carry-over of how a patient feels
NOISE_SD = 0.55

StepTuple = tuple[dt.date, dt.date | None, float]


@dataclass(frozen=True)
class _Profile:
    pain: float
    fatigue: float
    sleep: float
    mood: float
    pain_gain: float  # fraction of pain gone at full effect
    fatigue_gain: float
    sleep_gain: float  # points of sleep quality gained at full effect
    half_effect_day: float
    missed_dose_rate: float


_PROFILES: dict[str, _Profile] = {
    "responder": _Profile(6.6, 6.8, 4.0, 4.5, 0.55, 0.40, 2.5, 24, 0.03),
    "non_responder": _Profile(6.2, 6.5, 4.5, 5.0, 0.02, 0.0, 0.0, 30, 0.05),
    "sleep_side_effects": _Profile(6.4, 6.6, 4.8, 5.0, 0.20, 0.10, 0.0, 30, 0.04),
}

_NOTES = (
    "Walked 20 min & felt OK",
    "Bad flare after shopping",
    "Slept through the night",
    "Busy day at work",
    "Stiff in the morning, better by noon",
)


def demo_steps(start: dt.date) -> list[StepTuple]:
    """The standard plan's steps from `start`, as `assess` and the charts take them."""
    plan = build_plan(PlanRequest(protocol="standard", start=start))
    return [(s.start, s.end, s.dose_mg) for s in plan.steps]


def _side_effect_ids() -> dict[str, str]:
    """Knowledge-base ids of the side effects the demo uses, found by name."""
    from ldnkit.knowledge import knowledge_base

    wanted = {"vivid": "vivid dreams", "insomnia": "insomnia", "headache": "headache"}
    found: dict[str, str] = {}
    for effect in knowledge_base().side_effects:
        for key, name in wanted.items():
            if key not in found and name in effect.name.lower():
                found[key] = effect.id
    missing = sorted(set(wanted) - set(found))
    if missing:
        raise LookupError("the knowledge base lacks side effects: " + ", ".join(missing))
    return found


def _clamp_score(value: float) -> int:
    return max(0, min(10, math.floor(value + 0.5)))


def _effect(profile: _Profile, day_on: int) -> float:
    """Fraction of the full effect reached on treatment day `day_on` (0 before treatment)."""
    if day_on < 0:
        return 0.0
    return 1 / (1 + math.exp(-(day_on - profile.half_effect_day) / 6))


def demo_diary(kind: DemoKind, start: dt.date, days: int = 90, seed: int = 0) -> list[DiaryEntry]:
    """A realistic, reproducible diary of the given kind (14 baseline days, then `days`)."""
    if kind not in _PROFILES:
        raise ValueError("kind must be one of " + ", ".join(DEMO_KINDS))
    profile = _PROFILES[kind]
    rng = random.Random(f"{kind}:{seed}")  # noqa: S311  (demo data, reproducible on purpose)
    plan = build_plan(PlanRequest(protocol="standard", start=start))
    ids = _side_effect_ids()
    noise = {"pain": 0.0, "fatigue": 0.0, "sleep": 0.0, "mood": 0.0}
    entries = []
    for offset in range(-BASELINE_DAYS, days):
        day = start + dt.timedelta(offset)
        for key in noise:
            noise[key] = AR_COEFFICIENT * noise[key] + rng.gauss(0, NOISE_SD)
        effect = _effect(profile, offset)
        side: list[SideEffectReport] = []
        sleep_penalty = 0.0
        if kind == "sleep_side_effects" and offset >= 0:
            # Reported on most nights, not all: patients skip a report on a better night.
            if rng.random() < 0.8:
                severity: Severity = "moderate" if offset < 21 else "mild"
                side.append(SideEffectReport(id=ids["insomnia"], severity=severity))
                sleep_penalty = 1.8
            else:
                sleep_penalty = 0.6
            if rng.random() < 0.6:
                side.append(SideEffectReport(id=ids["vivid"], severity="mild"))
        elif kind == "responder" and 0 <= offset < 5:
            side.append(SideEffectReport(id=ids["vivid"], severity="mild"))  # first week only
        elif kind == "non_responder" and offset in (3, 4, 17):
            side.append(SideEffectReport(id=ids["headache"], severity="mild"))
        dose = plan.dose_on(day)
        if dose is not None and rng.random() < profile.missed_dose_rate:
            dose = None
        minutes = 22 * 60 + rng.randint(-45, 45)
        pain = profile.pain * (1 - profile.pain_gain * effect) + noise["pain"]
        entries.append(
            DiaryEntry(
                day=day,
                dose_mg=dose,
                dose_time=dt.time(minutes // 60, minutes % 60) if dose is not None else None,
                pain=_clamp_score(pain),
                fatigue=_clamp_score(
                    profile.fatigue * (1 - profile.fatigue_gain * effect) + noise["fatigue"]
                ),
                sleep_quality=_clamp_score(
                    profile.sleep + profile.sleep_gain * effect - sleep_penalty + noise["sleep"]
                ),
                mood=_clamp_score(profile.mood + 0.4 * (profile.pain - pain) + noise["mood"]),
                side_effects=tuple(sorted(side, key=lambda r: r.id)),
                note=rng.choice(_NOTES) if rng.random() < 0.1 else "",
            )
        )
    return entries
