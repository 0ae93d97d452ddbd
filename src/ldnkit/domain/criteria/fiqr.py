"""Revised Fibromyalgia Impact Questionnaire (FIQR): domain scores, total and severity.

Function = sum / 3 (0-30), overall impact = sum (0-20), symptoms = sum / 2 (0-50); the total
is their sum (0-100). Arithmetic is exact (fractions); each reported score is rounded half up
to one decimal from the exact value, so the total can differ by 0.1 from the sum of the
rounded domain scores.

Unanswered items (null) follow one policy: a domain with at most one unanswered item is
prorated (myalgia.com); more leaves that domain and the total unscored. `valid` reports
fiqr.info's stricter rule so that users see where the two sources part.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from fractions import Fraction
from types import MappingProxyType
from typing import ClassVar

from pydantic import ValidationInfo, field_validator

from ldnkit.domain.criteria.common import Item010, Note, Output, StrictInput, notes, sources_of
from ldnkit.domain.criteria.texts import FiqrDomainId, criteria_data

FIQR_ITEMS: Mapping[FiqrDomainId, tuple[str, ...]] = MappingProxyType(
    {domain: text.items for domain, text in criteria_data().fiqr.domains.items()}
)
"""The 21 FIQR item texts by domain: 9 function, 2 overall impact, 10 symptoms."""


class FiqrInput(StrictInput):
    """The 21 answers, 0-10 each, null where the item was not answered."""

    function: list[Item010 | None]
    overall: list[Item010 | None]
    symptoms: list[Item010 | None]

    _sizes: ClassVar[dict[str, int]] = {d: len(items) for d, items in FIQR_ITEMS.items()}

    @field_validator("function", "overall", "symptoms")
    @classmethod
    def _all_items_present(
        cls, answers: list[float | None], info: ValidationInfo
    ) -> list[float | None]:
        size = cls._sizes[str(info.field_name)]
        if len(answers) != size:
            raise ValueError(
                f"{size} answers, each 0-10 or null when unanswered (got {len(answers)})"
            )
        return answers


class FiqrDomain(Output):
    """One domain as scored: how many items were answered and whether it was prorated."""

    id: FiqrDomainId
    label: str
    items: int
    answered: int
    unanswered: tuple[int, ...]
    prorated: bool
    sum: float | None
    score: float | None
    max: int


class FiqrSeverity(Output):
    """The total placed in one published band scheme."""

    scheme: str
    label: str
    band: str | None
    range: str | None
    sources: tuple[str, ...]


class FiqrResult(Output):
    name: str
    title: str
    function: float | None
    overall: float | None
    symptoms: float | None
    total: float | None
    valid: bool
    prorated: bool
    missing: tuple[str, ...]
    severity: tuple[FiqrSeverity, ...]
    domains: tuple[FiqrDomain, ...]
    notes: tuple[Note, ...]
    sources: tuple[str, ...]


def round1(value: Fraction) -> float:
    """Round half up to one decimal (exact: 47.25 -> 47.3, never a binary-float surprise)."""
    return math.floor(value * 10 + Fraction(1, 2)) / 10


def _exact(answer: float) -> Fraction:
    # Via the decimal text, so an answer of 0.1 means one tenth, not its binary neighbour.
    return Fraction(repr(answer))


def _domain(
    domain: FiqrDomainId, answers: list[float | None]
) -> tuple[FiqrDomain, Fraction | None]:
    spec = criteria_data().fiqr
    text = spec.domains[domain]
    given = [_exact(a) for a in answers if a is not None]
    unanswered = tuple(i for i, a in enumerate(answers) if a is None)
    limit = spec.missing.prorate_max_missing_per_domain
    if len(unanswered) > limit or not given:
        raw: Fraction | None = None
    else:
        raw = sum(given, Fraction(0)) * len(answers) / len(given)
    score = raw / text.divisor if raw is not None else None
    summary = FiqrDomain(
        id=domain,
        label=text.label,
        items=len(answers),
        answered=len(given),
        unanswered=unanswered,
        prorated=bool(unanswered) and raw is not None,
        sum=round1(raw) if raw is not None else None,
        score=round1(score) if score is not None else None,
        max=text.max,
    )
    return summary, score


def _severity(total: float | None) -> tuple[FiqrSeverity, ...]:
    placed = []
    for scheme in criteria_data().fiqr.severity:
        band = None
        if total is not None:
            band = next(b for b in scheme.bands if b.upto is None or total <= b.upto)
        placed.append(
            FiqrSeverity(
                scheme=scheme.scheme,
                label=scheme.label,
                band=band.name if band else None,
                range=band.range if band else None,
                sources=scheme.sources,
            )
        )
    return tuple(placed)


def fiqr(data: FiqrInput) -> FiqrResult:
    """Score the FIQR: domain scores, total, both severity band schemes, missing-item flags."""
    spec = criteria_data().fiqr
    answers: dict[FiqrDomainId, list[float | None]] = {
        "function": data.function,
        "overall": data.overall,
        "symptoms": data.symptoms,
    }
    scored = {d: _domain(d, a) for d, a in answers.items()}
    known = [score for _, score in scored.values() if score is not None]
    total = round1(sum(known, Fraction(0))) if len(known) == len(scored) else None
    missing = tuple(f"{d}[{i}]" for d, (summary, _) in scored.items() for i in summary.unanswered)
    unanswered = {d: len(summary.unanswered) for d, (summary, _) in scored.items()}
    # fiqr.info: invalid with 2+ function items or any overall/symptom item unanswered.
    valid = unanswered["function"] <= 1 and not unanswered["overall"] and not unanswered["symptoms"]
    policy = spec.missing
    found = (
        Note(id="fiqr-missing-prorate", text=policy.prorate.text, sources=policy.prorate.sources),
        Note(id="fiqr-missing-invalid", text=policy.invalid.text, sources=policy.invalid.sources),
        *notes(["fiqr-severity-conflict"]),
    )
    severity = _severity(total)
    return FiqrResult(
        name="fiqr",
        title=spec.title,
        function=scored["function"][0].score,
        overall=scored["overall"][0].score,
        symptoms=scored["symptoms"][0].score,
        total=total,
        valid=valid,
        prorated=any(summary.prorated for summary, _ in scored.values()),
        missing=missing,
        severity=severity,
        domains=tuple(summary for summary, _ in scored.values()),
        notes=found,
        sources=sources_of(spec.sources, *(s.sources for s in severity), extra=found),
    )
