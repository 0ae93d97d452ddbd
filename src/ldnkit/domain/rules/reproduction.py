"""Pregnancy and breastfeeding: no adequate human studies; sources differ on both."""

from __future__ import annotations

from ldnkit.domain.rules.model import Facts, Finding, finding, per_condition, rule


@rule("pregnancy", needs={"pregnant", "pregnancy"})
def pregnancy(facts: Facts, out: list[Finding]) -> None:
    if facts.profile.pregnant:
        out.append(finding("pregnancy", "Pregnant"))
    per_condition("pregnancy", "pregnancy", facts, out)


@rule("breastfeeding", needs={"breastfeeding"})
def breastfeeding(facts: Facts, out: list[Finding]) -> None:
    if facts.profile.breastfeeding:
        out.append(finding("breastfeeding", "Breastfeeding"))


@rule("pregnancy-not-recorded", needs={"pregnancy:unknown"})
def pregnancy_not_recorded(facts: Facts, out: list[Finding]) -> None:
    """Unknown is never "no": a pregnancy status not given is asked about, unless the patient
    is male or a recorded condition already answers it."""
    profile = facts.profile
    if profile.pregnant is None and profile.sex != "male" and not facts.by_role.get("pregnancy"):
        out.append(finding("pregnancy-not-recorded", "Pregnancy: not recorded"))
