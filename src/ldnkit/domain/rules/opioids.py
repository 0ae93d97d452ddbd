"""Opioids: taken now, stopped too recently, stopped on a day not recorded, or gut-acting only.

Naltrexone, even at low dose, blocks opioid analgesia and precipitates withdrawal in someone
with opioids on board, so an active opioid of any kind, under any name, is a contraindication,
and a stopped one needs its opioid-free interval (limits.yaml, washout) before the first dose.
"""

from __future__ import annotations

from ldnkit.domain.rules.model import NO_MEDICATIONS, Facts, Finding, finding, rule
from ldnkit.domain.rules.words import shift, since


@rule("opioid-active", needs={"opioid"})
def opioid_active(facts: Facts, out: list[Finding]) -> None:
    for med, drug in facts.medications.get("opioid", NO_MEDICATIONS):
        out.append(
            finding(
                "opioid-active",
                med.label,
                ingredients=drug.opioid_ingredients,
                kind=f"({drug.acting})",
                read_as=drug.read_as,
                washout=drug.washout,
                extra_sources=drug.recognition.sources,
            )
        )


@rule("opioid-washout", needs={"stopped_opioid"})
def opioid_washout(facts: Facts, out: list[Finding]) -> None:
    as_of = facts.profile.as_of
    for med, drug in facts.medications.get("stopped_opioid", NO_MEDICATIONS):
        # Counted in days so that a washout ending past the calendar's end still applies.
        if med.last_dose is None or (as_of - med.last_dose).days >= drug.washout:
            continue
        earliest = shift(med.last_dose, drug.washout)
        out.append(
            finding(
                "opioid-washout",
                med.label,
                resolves_on=earliest,
                ingredients=drug.opioid_ingredients,
                kind=drug.acting,
                washout=drug.washout,
                last_dose=med.last_dose.isoformat(),
                since=since(med.last_dose, as_of),
                earliest=earliest.isoformat(),
            )
        )


@rule("opioid-washout-undated", needs={"stopped_opioid"})
def opioid_washout_undated(facts: Facts, out: list[Finding]) -> None:
    """A stopped opioid without its last dose: the first LDN dose cannot be dated."""
    for med, drug in facts.medications.get("stopped_opioid", NO_MEDICATIONS):
        if med.last_dose is None:
            out.append(
                finding(
                    "opioid-washout-undated",
                    med.label,
                    undated=True,
                    ingredients=drug.opioid_ingredients,
                    kind=drug.acting,
                    washout=drug.washout,
                )
            )


@rule("opioid-peripheral", needs={"peripheral"})
def opioid_peripheral(facts: Facts, out: list[Finding]) -> None:
    for med, drug in facts.medications.get("peripheral", NO_MEDICATIONS):
        out.append(finding("opioid-peripheral", med.label, ingredients=drug.peripheral_opioids))
