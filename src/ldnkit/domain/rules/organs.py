"""Liver and kidney: naltrexone is metabolised by the liver and excreted by the kidneys.

Each status counts whether it arrives as the profile's own field or as a recorded condition;
a status the profile leaves unknown is reported as not recorded, never taken as normal.
"""

from __future__ import annotations

from ldnkit.domain.rules.model import Facts, Finding, finding, per_condition, rule

_ACUTE = ("acute_hepatitis", "decompensated_cirrhosis")


@rule(
    "liver-acute", needs={"liver:acute_hepatitis", "liver:decompensated_cirrhosis", "liver_acute"}
)
def liver_acute(facts: Facts, out: list[Finding]) -> None:
    state = facts.profile.liver
    if state in _ACUTE:
        out.append(finding("liver-acute", "Liver: " + state.replace("_", " ")))
    per_condition("liver-acute", "liver_acute", facts, out)


@rule("liver-chronic", needs={"liver:chronic_disease", "liver_chronic"})
def liver_chronic(facts: Facts, out: list[Finding]) -> None:
    if facts.profile.liver == "chronic_disease":
        out.append(finding("liver-chronic", "Liver: chronic disease"))
    per_condition("liver-chronic", "liver_chronic", facts, out)


@rule("kidney-severe", needs={"kidney:severe"})
def kidney_severe(facts: Facts, out: list[Finding]) -> None:
    if facts.profile.kidney == "severe":
        out.append(finding("kidney-severe", "Kidney function: severely impaired"))


@rule("kidney-impaired", needs={"kidney:impaired", "kidney_impaired"})
def kidney_impaired(facts: Facts, out: list[Finding]) -> None:
    if facts.profile.kidney == "impaired":
        out.append(finding("kidney-impaired", "Kidney function: impaired"))
    per_condition("kidney-impaired", "kidney_impaired", facts, out)


@rule("liver-not-recorded", needs={"liver:unknown"})
def liver_not_recorded(facts: Facts, out: list[Finding]) -> None:
    roles = facts.by_role
    if facts.profile.liver == "unknown" and not (
        roles.get("liver_acute") or roles.get("liver_chronic")
    ):
        out.append(finding("liver-not-recorded", "Liver function: not recorded"))


@rule("kidney-not-recorded", needs={"kidney:unknown"})
def kidney_not_recorded(facts: Facts, out: list[Finding]) -> None:
    if facts.profile.kidney == "unknown" and not facts.by_role.get("kidney_impaired"):
        out.append(finding("kidney-not-recorded", "Kidney function: not recorded"))
