"""What the rules produce and how one is declared: findings, the screen's answer, `Rule`.

A rule is a small function with a stable id (its words, severity and sources are the id's
record in `knowledge/data/rules.yaml`) that reads the facts recognised once per patient and
appends what it finds. `@rule(id, needs=...)` declares one; the screen is a list of them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal, NamedTuple

from ldnkit.domain.drugs import DrugFacts, Recognition
from ldnkit.domain.profile import Medication, PatientProfile
from ldnkit.knowledge import Condition
from ldnkit.knowledge.rules import RuleText, Severity, rule_texts

Verdict = Literal["eligible", "caution", "wait", "contraindicated"]

SEVERITY_RANK: dict[str, int] = {"info": 0, "caution": 1, "wait": 2, "contraindicated": 3}
VERDICT_OF: dict[str, Verdict] = {
    "info": "eligible",
    "caution": "caution",
    "wait": "wait",
    "contraindicated": "contraindicated",
}


# Results are plain frozen dataclasses rather than pydantic models: the screen builds them for
# every patient of a population run, and they are never parsed from untrusted input.
@dataclass(frozen=True, slots=True)
class Finding:
    """One thing the clinician should know, with the rule that found it and its sources.

    `resolves_on`, `blocks` and `undated` are the finding's say on the start date (internal:
    left out of the contract's JSON): no start before `resolves_on`, none in the half-open
    window `blocks`, and no date at all while `undated`.
    """

    rule: str
    severity: Severity
    subject: str
    message: str
    sources: tuple[str, ...]
    resolves_on: dt.date | None = None
    blocks: tuple[dt.date, dt.date] | None = None
    undated: bool = False
    rank: int = 0  # SEVERITY_RANK of the severity, kept for sorting many findings fast

    def model_dump(self, mode: Literal["python", "json"] = "python") -> dict[str, Any]:
        """The contract's finding object (the start-date fields are internal and left out)."""
        sources: Any = list(self.sources) if mode == "json" else self.sources
        return {
            "rule": self.rule,
            "severity": self.severity,
            "subject": self.subject,
            "message": self.message,
            "sources": sources,
        }


# A NamedTuple: immutable like a frozen dataclass, at a third of the cost to build, which
# matters when a population run screens every patient of a health system.
class Screening(NamedTuple):
    """The screen's answer: verdict, first possible start day, and every finding."""

    verdict: Verdict
    earliest_start: dt.date | None
    findings: tuple[Finding, ...]

    def model_dump(self, mode: Literal["python", "json"] = "python") -> dict[str, Any]:
        """The contract's JSON shape (`ldnkit screen --json`)."""
        start: Any = self.earliest_start
        if mode == "json" and start is not None:
            start = start.isoformat()
        return {
            "verdict": self.verdict,
            "earliest_start": start,
            "findings": [f.model_dump(mode) for f in self.findings],
        }


def finding(
    rule_id: str,
    subject: str,
    *,
    extra_sources: tuple[str, ...] = (),
    resolves_on: dt.date | None = None,
    blocks: tuple[dt.date, dt.date] | None = None,
    undated: bool = False,
    **values: object,
) -> Finding:
    """A finding of `rule_id` about `subject`, its message rendered from the rule's text."""
    return _cached_finding(
        rule_id, subject, extra_sources, resolves_on, blocks, undated, tuple(values.items())
    )


# Findings are immutable and repeat across patients (the same drug names, the same
# conditions); building and rendering each only once keeps population screening fast.
@lru_cache(maxsize=65536)
def _cached_finding(
    rule_id: str,
    subject: str,
    extra_sources: tuple[str, ...],
    resolves_on: dt.date | None,
    blocks: tuple[dt.date, dt.date] | None,
    undated: bool,
    values: tuple[tuple[str, object], ...],
) -> Finding:
    text = rule_texts()[rule_id]
    assert text.severity is not None, f"{rule_id} is a fragment, not a rule"
    message, sources = render_with_fragments(text, subject=subject, **dict(values))
    return Finding(
        rule=rule_id,
        severity=text.severity,
        subject=subject,
        message=message,
        sources=tuple(dict.fromkeys(sources + extra_sources)),
        resolves_on=resolves_on,
        blocks=blocks,
        undated=undated,
        rank=SEVERITY_RANK[text.severity],
    )


def render_with_fragments(text: RuleText, **values: object) -> tuple[str, tuple[str, ...]]:
    """A rule's message with its shared paragraphs ({perioperative}), and all their sources."""
    texts = rule_texts()
    fragments = [texts[fid] for fid in text.fragments]
    rendered = {f.id.replace("-", "_"): f.render(**values).strip() for f in fragments}
    sources = text.sources + tuple(s for f in fragments for s in f.sources)
    return text.render(**rendered, **values), sources


@dataclass(slots=True)  # not frozen: built per patient, and frozen init costs a microsecond
class Facts:
    """What the rules read: the profile plus what was recognised in it, once."""

    profile: PatientProfile
    # Medications grouped for the rules: DrugFacts.groups for active ones, and "stopped_opioid"
    # and "stopped_unknown" for stopped ones.
    medications: Mapping[str, list[tuple[Medication, DrugFacts]]]
    allergies: tuple[tuple[str, Recognition], ...]
    # Recognised conditions by screen role, each with the label it arrived under.
    by_role: Mapping[str, Sequence[tuple[str, Condition]]]
    # Conditions given as text that the knowledge base does not know.
    unknown_conditions: tuple[str, ...]


NO_CONDITIONS: tuple[tuple[str, Condition], ...] = ()
NO_MEDICATIONS: tuple[tuple[Medication, DrugFacts], ...] = ()


def per_condition(rule_id: str, role: str, facts: Facts, out: list[Finding]) -> None:
    """A finding of `rule_id` for each recorded condition of `role`, named as it arrived."""
    for label, _ in facts.by_role.get(role, NO_CONDITIONS):
        out.append(finding(rule_id, label))


# A check appends what it finds; plain calls cost less than generators at population scale.
Check = Callable[[Facts, list[Finding]], None]


@dataclass(frozen=True, slots=True)
class Rule:
    """One clinical decision of the screen: its stable id, what it reads, and its check.

    `needs`: what must be present for the rule to have anything to say, any one of: medication
    groups (`DrugFacts.groups`, "stopped_opioid", "stopped_unknown"), condition roles, "allergies",
    "procedures", "unknown_conditions", and the profile's own statuses ("liver:<status>",
    "kidney:<status>", "alcohol:<use>", "pregnant", "pregnancy:unknown", "breastfeeding",
    "no_medications"; see `screen.present`). None: run for every patient.
    """

    id: str
    check: Check
    needs: frozenset[str] | None

    @property
    def text(self) -> RuleText:
        return rule_texts()[self.id]

    @property
    def severity(self) -> Severity:
        severity = self.text.severity
        assert severity is not None, f"{self.id} is a fragment, not a rule"
        return severity

    @property
    def sources(self) -> tuple[str, ...]:
        return self.text.sources

    def __call__(self, facts: Facts, out: list[Finding]) -> None:
        self.check(facts, out)


def rule(rule_id: str, *, needs: Iterable[str] | None = None) -> Callable[[Check], Rule]:
    """Declare a screen rule: `@rule("opioid-active", needs={"opioid"})` over its check."""

    def declare(check: Check) -> Rule:
        return Rule(rule_id, check, None if needs is None else frozenset(needs))

    return declare
