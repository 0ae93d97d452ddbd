"""Conditions and habits: thyroid, alcohol, opioid use disorder, guideline positions, and
conditions the knowledge base does not know (reported, never passed over)."""

from __future__ import annotations

from ldnkit.domain.rules.model import (
    NO_CONDITIONS,
    NO_MEDICATIONS,
    Facts,
    Finding,
    finding,
    per_condition,
    rule,
)


@rule("thyroid-medication", needs={"thyroid"})
def thyroid(facts: Facts, out: list[Finding]) -> None:
    """Thyroid hormone or antithyroid medication, or autoimmune thyroid disease."""
    for med, drug in facts.medications.get("thyroid", NO_MEDICATIONS):
        out.append(finding("thyroid-medication", med.label, extra_sources=drug.recognition.sources))
    per_condition("thyroid-medication", "thyroid", facts, out)


@rule("alcohol", needs={"alcohol:heavy", "alcohol_heavy"})
def alcohol(facts: Facts, out: list[Finding]) -> None:
    if facts.profile.alcohol == "heavy":
        out.append(finding("alcohol", "Alcohol: heavy use"))
    per_condition("alcohol", "alcohol_heavy", facts, out)


@rule("opioid-use-disorder", needs={"opioid_use_disorder"})
def opioid_use_disorder(facts: Facts, out: list[Finding]) -> None:
    for label, condition in facts.by_role.get("opioid_use_disorder", NO_CONDITIONS):
        out.append(finding("opioid-use-disorder", label, extra_sources=condition.sources))


def _position(rule_id: str, role: str, facts: Facts, out: list[Finding]) -> None:
    for label, condition in facts.by_role.get(role, NO_CONDITIONS):
        out.append(
            finding(
                rule_id,
                label,
                summary=condition.summary.strip(),
                extra_sources=tuple(condition.sources),
            )
        )


@rule("condition-not-recommended", needs={"not_recommended"})
def condition_not_recommended(facts: Facts, out: list[Finding]) -> None:
    """A condition where a guideline recommends against LDN (Crohn's disease)."""
    _position("condition-not-recommended", "not_recommended", facts, out)


@rule("condition-limited-evidence", needs={"limited_evidence"})
def condition_limited_evidence(facts: Facts, out: list[Finding]) -> None:
    """A condition with safety data but unclear efficacy."""
    _position("condition-limited-evidence", "limited_evidence", facts, out)


@rule("condition-unrecognised", needs={"unknown_conditions"})
def unknown_conditions(facts: Facts, out: list[Finding]) -> None:
    for text in facts.unknown_conditions:
        out.append(finding("condition-unrecognised", text))
