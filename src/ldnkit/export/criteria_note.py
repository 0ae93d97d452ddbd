"""A calculator's result in words: the verdict, what it means, and a plain text for the note.

The criteria page shows the summary above its form and offers the note text to copy into the
patient's record; both are made here from the domain's result, so the page and the note say
the same thing. Items and areas are named by their labels in the knowledge data, never by
their field ids.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ldnkit.domain.criteria import (
    FIQR_ITEMS,
    PAIN_AREAS,
    CriteriaResult,
    CriterionResult,
    FiqrResult,
    Iom2015Result,
)
from ldnkit.domain.criteria.common import number
from ldnkit.domain.criteria.texts import criteria_data
from ldnkit.knowledge import knowledge_base

CHECKLIST = ("headache", "lower_abdominal_pain", "depression")
SYMPTOM_SCORES = ("fatigue", "waking_unrefreshed", "cognitive")
IOM_ITEMS = (
    "fatigue_not_relieved_by_rest",
    "pem",
    "unrefreshing_sleep",
    "cognitive_impairment",
    "orthostatic_intolerance",
)


@dataclass(frozen=True)
class CriteriaSummary:
    """What a calculator found, in words."""

    title: str
    headline: str
    met: bool | None  # None for a score (the FIQR), which has no verdict
    lines: tuple[str, ...]
    criteria: tuple[CriterionResult, ...]
    note: str


def label(field: str) -> str:
    """A calculator field as its form names it."""
    return criteria_data().questions.labels.get(field, field.replace("_", " "))


def fiqr_item(path: str) -> str:
    """An FIQR item from its path (`symptoms[1]`) as people name it: "Symptoms item 2 (Energy)"."""
    domain, _, rest = path.partition("[")
    index = int(rest.rstrip("]")) if rest.rstrip("]").isdigit() else -1
    items = FIQR_ITEMS.get(domain)  # type: ignore[call-overload]
    if items is None or not 0 <= index < len(items):
        return path
    text = criteria_data().fiqr.domains[domain].label  # type: ignore[index]
    return f"{text} item {index + 1} ({items[index]})"


def _psd_range(band: str) -> str:
    for b in criteria_data().psd_bands.bands:
        if b.name == band:
            return f"{b.low}-{b.high}"
    return ""


def _score_lines(result: CriteriaResult) -> list[str]:
    if isinstance(result, FiqrResult) and result.total is None:
        # Not scored yet: what is left to answer, domain by domain; no bands without a total.
        most = criteria_data().fiqr.missing.prorate_max_missing_per_domain
        return [
            f"{d.label}: {d.answered} of {d.items} answered"
            + (f" (at most {most} may stay empty)" if d.score is None else "")
            for d in result.domains
        ]
    if isinstance(result, FiqrResult):
        lines = [
            f"{d.label} {number(d.score)} of {d.max}"
            if d.score is not None
            else (f"{d.label} not scored ({len(d.unanswered)} of {d.items} items unanswered)")
            for d in result.domains
        ]
        for s in result.severity:
            band = f"{s.band} ({s.range})" if s.band else "not placed (no total)"
            lines.append(f"Severity, {s.label}: {band}")
        if result.missing:
            unanswered = ", ".join(fiqr_item(m) for m in result.missing)
            prorated = " (prorated within its domain)" if result.prorated else ""
            lines.append(f"Unanswered: {unanswered}{prorated}")
        if not result.valid:
            lines.append("Not valid by the fiqr.info rule (too many items unanswered)")
        return lines
    if isinstance(result, Iom2015Result):
        return []
    lines = [f"Widespread pain index (WPI) {result.wpi} of 19",
             f"Symptom severity {result.sss} of 12"]  # fmt: skip
    psd = getattr(result, "psd", None)
    if psd is not None:
        band = str(getattr(result, "psd_band", ""))
        lines.append(f"Polysymptomatic distress (FS/PSD) {psd} of 31: {band} ({_psd_range(band)})")
    if getattr(result, "fs_cutoff_met", None) is not None:
        lines.append("FS 13 or more: " + ("yes" if result.fs_cutoff_met else "no"))  # type: ignore[union-attr]
    regions = getattr(result, "regions", None)
    if regions is not None:
        lines.append(f"Regions with pain {regions} of 5")
    return lines


def _headline(result: CriteriaResult) -> tuple[str, bool | None]:
    if isinstance(result, FiqrResult):
        if result.total is None:
            left = sum(len(d.unanswered) for d in result.domains)
            items = sum(d.items for d in result.domains)
            return f"Not scored yet: {left} of {items} items are empty", None
        return f"FIQR total {number(result.total)} of 100", None
    if result.met:
        return "Criteria met", True
    return "Criteria not met", False


def _answers(name: str, answers: Mapping[str, Any]) -> list[str]:
    """The answers the result rests on, as the note records them."""
    if name == "fiqr":
        out = []
        for domain, items in FIQR_ITEMS.items():
            given = answers.get(domain) or []
            shown = ", ".join("-" if v is None else number(float(v)) for v in given)
            out.append(
                f"{criteria_data().fiqr.domains[domain].label} items ({len(items)}): {shown}"
            )
        return out
    if name == "iom2015":
        out = [f"{label('reduced_activity_months')}: {answers.get('reduced_activity_months')}"]
        out += [f"{label(k)}: {'yes' if answers.get(k) else 'no'}" for k in IOM_ITEMS]
        half = answers.get("symptoms_half_the_time")
        out.append(
            f"{label('symptoms_half_the_time')}: "
            + ("not assessed" if half is None else ("yes" if half else "no"))
        )
        return out
    areas = [PAIN_AREAS[a].label for a in answers.get("pain_areas", []) if a in PAIN_AREAS]
    levels = criteria_data().questions.symptom_levels.levels
    out = [f"{label('pain_areas')} ({len(areas)}): " + ("; ".join(areas) or "none")]
    for key in SYMPTOM_SCORES:
        value = int(answers.get(key) or 0)
        out.append(f"{label(key)}: {value} ({levels[value]})")
    if name == "acr2010":
        value = int(answers.get("somatic") or 0)
        somatic = criteria_data().questions.somatic_levels.levels[value]
        out.append(f"{label('somatic')}: {value} ({somatic})")
    else:
        out += [f"{label(k)}: {'yes' if answers.get(k) else 'no'}" for k in CHECKLIST]
    out.append(f"{label('duration_months')}: {answers.get('duration_months')}")
    if answers.get("other_explanation") is not None:
        out.append(
            f"{label('other_explanation')}: {'yes' if answers['other_explanation'] else 'no'}"
        )
    return out


def summarise(
    name: str, result: CriteriaResult, answers: Mapping[str, Any], day: dt.date
) -> CriteriaSummary:
    """The result in words, and the note text: headline, scores, criteria, answers, sources."""
    headline, met = _headline(result)
    criteria: tuple[CriterionResult, ...] = (
        () if isinstance(result, FiqrResult) else result.criteria
    )
    # What stands in the way comes first: each criterion not met, and why.
    lines = [f"Not met: {c.text.split(':')[0]} ({c.detail})" for c in criteria if not c.passed]
    lines += _score_lines(result)
    note = [f"{result.title}, {day.isoformat()}: {headline.lower()}."]
    note += lines
    for c in criteria:
        note.append(f"[{'met' if c.passed else 'not met'}] {c.text}: {c.detail}")
    note.append("Answers:")
    note += [f"  {a}" for a in _answers(name, answers)]
    sources = knowledge_base().sources
    cited = [sources[s].citation for s in result.sources if s in sources]
    note.append("Sources: " + " ".join(cited))
    return CriteriaSummary(result.title, headline, met, tuple(lines), criteria, "\n".join(note))
