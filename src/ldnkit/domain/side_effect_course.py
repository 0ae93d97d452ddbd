"""The course of each side effect over the diary, and the morning-dose suggestion.

Patients do not record a side effect every single day it bothers them, so reports separated by
up to the episode gap (limits.yaml, side_effects.episode_gap) without a report belong to one
episode. An episode is ongoing when its last report is that recent before `as_of`.

Sleep effects (vivid dreams, insomnia) are mostly a first-week effect (seed-001). When a sleep
effect has lasted longer than the first week and the dose is still taken in the evening,
prescriber dosing sheets suggest taking it in the morning instead. That advice rests on lay and
prescriber sources only, and the suggestion says so (its words: response.yaml, morning_dose).
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict

from ldnkit.domain.diary import SEVERITY_RANK, DiaryEntry, Severity
from ldnkit.knowledge.limits import limits
from ldnkit.knowledge.response import response_texts

MORNING_BEFORE = dt.time(12, 0)


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


class SideEffectCourse(_Out):
    """One side effect across the diary."""

    id: str
    name: str
    sleep_related: bool
    first_day: dt.date
    last_day: dt.date
    days_reported: int
    worst_severity: Severity
    days: tuple[dt.date, ...]
    ongoing: bool
    episode_start: dt.date  # start of the latest episode
    episode_days: int  # its length in days, first to last report
    sources: tuple[str, ...]


class MorningDoseSuggestion(_Out):
    """Suggest taking the dose in the morning: a lay-source suggestion to discuss, not a rule."""

    side_effects: tuple[str, ...]
    since: dt.date
    days: int
    evidence: Literal["lay sources only"] = "lay sources only"
    message: str
    sources: tuple[str, ...]


def _kb_side_effect(effect_id: str) -> tuple[str, bool, tuple[str, ...]]:
    from ldnkit.knowledge import knowledge_base

    effect = knowledge_base().side_effect(effect_id)
    return effect.name, bool(effect.sleep_related), tuple(effect.sources)


def side_effect_timeline(
    diary: Sequence[DiaryEntry], start: dt.date, as_of: dt.date
) -> tuple[SideEffectCourse, ...]:
    """Each side effect reported up to `as_of`, in order of first report."""
    gap = limits().side_effects.episode_gap.days
    reports: dict[str, list[tuple[dt.date, Severity]]] = {}
    for entry in sorted(diary, key=lambda e: e.day):
        if entry.day > as_of:
            continue
        for report in entry.side_effects:
            reports.setdefault(report.id, []).append((entry.day, report.severity))
    courses = []
    for effect_id, seen in reports.items():
        days = [d for d, _ in seen]
        episode_start = days[0]
        for previous, current in itertools.pairwise(days):
            if (current - previous).days > gap + 1:
                episode_start = current
        name, sleep_related, sources = _kb_side_effect(effect_id)
        courses.append(
            SideEffectCourse(
                id=effect_id,
                name=name,
                sleep_related=sleep_related,
                first_day=days[0],
                last_day=days[-1],
                days_reported=len(days),
                worst_severity=max((s for _, s in seen), key=SEVERITY_RANK.__getitem__),
                days=tuple(days),
                ongoing=(as_of - days[-1]).days <= gap,
                episode_start=episode_start,
                episode_days=(days[-1] - episode_start).days + 1,
                sources=sources,
            )
        )
    return tuple(sorted(courses, key=lambda c: (c.first_day, c.id)))


def _doses_in_evening(diary: Sequence[DiaryEntry], since: dt.date, as_of: dt.date) -> bool:
    """True unless the doses of the episode were all recorded as taken in the morning."""
    times = [e.dose_time for e in diary if since <= e.day <= as_of and e.dose_time is not None]
    return not times or any(t >= MORNING_BEFORE for t in times)


def morning_dose_suggestion(
    diary: Sequence[DiaryEntry], courses: Sequence[SideEffectCourse], as_of: dt.date
) -> MorningDoseSuggestion | None:
    """The suggestion when a sleep effect has persisted past the first week on evening doses."""
    first_week = limits().side_effects.first_week.days
    persistent = [
        c for c in courses if c.sleep_related and c.ongoing and c.episode_days > first_week
    ]
    if not persistent:
        return None
    since = min(c.episode_start for c in persistent)
    if not _doses_in_evening(diary, since, as_of):
        return None
    names = ", ".join(c.name for c in persistent)
    days = max(c.episode_days for c in persistent)
    text = response_texts().reasons.morning_dose
    return MorningDoseSuggestion(
        side_effects=tuple(c.id for c in persistent),
        since=since,
        days=days,
        message=text.render(names=names, days=days, since=since.isoformat()),
        sources=text.sources,
    )
