"""Is LDN helping: the response status from pain, and the recommendation at day 90.

- Status comes from pain, the outcome IMMPACT and Farrar 2001 describe: a moderate improvement
  is responding, a minimal one partial, less is not responding; a moderate gain in another
  measure alone makes a non-responder "partial" (fatigue may be the main complaint in ME/CFS).
- On the recommendation day (limits.yaml; LDN takes 1-3 months to work, seed-000) a
  recommendation: continue, reassess or consider stopping, with its reasons and sources.

Every sentence is `knowledge/data/response.yaml`'s; this module only chooses which.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Literal

from ldnkit.domain.diary import SEVERITY_RANK
from ldnkit.domain.response.change import EPS, MeasureChange, Out, at_least_moderate
from ldnkit.domain.response.course import Adherence
from ldnkit.domain.side_effect_course import SideEffectCourse
from ldnkit.knowledge.limits import limits
from ldnkit.knowledge.response import CitedText, response_texts, say

Status = Literal["too_few_entries", "responding", "partial", "not_responding"]
Action = Literal["continue", "reassess", "consider_stopping", "too_early"]


class Reason(Out):
    """One reason behind a recommendation, with the sources for any clinical claim in it."""

    text: str
    sources: tuple[str, ...] = ()


class Recommendation(Out):
    action: Action
    due: dt.date
    reasons: tuple[Reason, ...]
    sources: tuple[str, ...]


def cited(text: CitedText, **values: object) -> Reason:
    """A reason from response.yaml, with its sources."""
    return Reason(text=text.render(**values), sources=text.sources)


def describe(change: MeasureChange) -> str:
    """One measure's change in words: "pain: 6 -> 4, 33% better (moderate); change ..."."""
    name = change.measure.replace("_", " ")
    if change.improvement_pct is None:
        return f"{name}: {change.baseline:g} -> {change.latest:g} (no percent change from 0)"
    # measure_change sets a category whenever it sets an improvement.
    assert change.category is not None
    direction = "better" if change.improvement_pct >= 0 else "worse"
    low, high = change.ci_absolute
    return (
        f"{name}: {change.baseline:g} -> {change.latest:g}, {abs(change.improvement_pct):g}% "
        f"{direction} ({change.category.replace('_', ' ')}); change "
        f"{change.absolute_change:+g} points, "
        f"95% interval {low:+g} to {high:+g}"
    )


def status_of(measures: dict[str, MeasureChange]) -> tuple[Status, list[Reason]]:
    """The response status from pain (and the other measures), with the reasons."""
    texts = response_texts().reasons
    pain = measures["pain"]
    reasons = [cited(texts.pain, change=describe(pain).split(": ", 1)[1])]
    better = pain.improvement_pct if pain.improvement_pct is not None else 0.0
    if at_least_moderate(better):
        return "responding", reasons
    if better >= limits().response.minimal_improvement.percent - EPS:
        return "partial", reasons
    others = [
        m
        for name, m in measures.items()
        if name != "pain" and m.improvement_pct is not None and at_least_moderate(m.improvement_pct)
    ]
    if others:
        names = ", ".join(m.measure.replace("_", " ") for m in others)
        reasons.append(cited(texts.other_measure_improved, names=names))
        return "partial", reasons
    return "not_responding", reasons


def recommend(
    status: Status,
    status_reasons: list[Reason],
    start: dt.date,
    days_on: int,
    adherence: Adherence,
    courses: Sequence[SideEffectCourse],
    missing: Sequence[str],
) -> Recommendation:
    """What to do on the recommendation day, and why (too early before it)."""
    texts = response_texts()
    day = limits().response.recommendation_day.days
    due = start + dt.timedelta(day - 1)
    reasons = list(status_reasons)
    if days_on < day:
        reasons.append(cited(texts.reasons.too_early, day=max(days_on, 0), due=due.isoformat()))
        return _recommendation("too_early", due, reasons)
    severe_now = [c for c in courses if c.ongoing and SEVERITY_RANK[c.worst_severity] >= 3]
    low_adherence = (
        adherence.adherence_pct is not None
        and adherence.adherence_pct < limits().response.low_adherence.percent
    )
    if status == "too_few_entries":
        reasons.extend(Reason(text=say(texts.wording.too_few, missing=m)) for m in missing)
        return _recommendation("reassess", due, reasons)
    if low_adherence:
        pct = f"{adherence.adherence_pct:g}"
        reasons.append(Reason(text=say(texts.wording.low_adherence, adherence_pct=pct)))
    for course in severe_now:
        reasons.append(
            Reason(
                text=say(texts.wording.severe_side_effect, name=course.name),
                sources=course.sources,
            )
        )
    if status == "responding":
        reasons.append(cited(texts.reasons.responding))
        return _recommendation("reassess" if severe_now else "continue", due, reasons)
    if status == "partial":
        reasons.append(cited(texts.reasons.partial))
        return _recommendation("reassess", due, reasons)
    reasons.append(cited(texts.reasons.not_responding))
    return _recommendation("reassess" if low_adherence else "consider_stopping", due, reasons)


def _recommendation(action: Action, due: dt.date, reasons: Sequence[Reason]) -> Recommendation:
    return Recommendation(
        action=action, due=due, reasons=tuple(reasons), sources=sources_of(reasons)
    )


def sources_of(reasons: Iterable[Reason]) -> tuple[str, ...]:
    """Every source the reasons cite, once, in order."""
    seen: dict[str, None] = {}
    for reason in reasons:
        seen.update(dict.fromkeys(reason.sources))
    return tuple(seen)
