"""Naltrexone products already taken, and a naltrexone allergy.

Only one naltrexone product is LDN; the others (the standard-dose tablet, the monthly
injection, naltrexone-bupropion, slow-release forms) are named by their records in rules.yaml
(`naltrexone-<kind>`), which the order-time rule reads too.
"""

from __future__ import annotations

from ldnkit.domain.drugs import DrugClass, NaltrexoneKind
from ldnkit.domain.rules.model import NO_MEDICATIONS, Facts, Finding, finding, rule
from ldnkit.knowledge.limits import render
from ldnkit.knowledge.rules import RuleText, rule_texts

# The kinds that are neither LDN nor slow-release LDN: another treatment altogether.
_OTHER_PRODUCTS = frozenset({"standard", "extended_release_injection", "naltrexone_bupropion"})


def product_text(kind: NaltrexoneKind | None) -> RuleText:
    """The record naming a naltrexone product and why it matters with opioids."""
    return rule_texts()["naltrexone-" + (kind or "unknown").replace("_", "-")]


def product_name(kind: NaltrexoneKind | None) -> str:
    """A naltrexone product in words: "standard-dose naltrexone", "naltrexone-bupropion"."""
    return render(product_text(kind).title)


@rule("already-on-ldn", needs={"naltrexone"})
def already_on_ldn(facts: Facts, out: list[Finding]) -> None:
    for med, drug in facts.medications.get("naltrexone", NO_MEDICATIONS):
        if drug.naltrexone_kind == "ldn":
            out.append(finding("already-on-ldn", med.label, extra_sources=drug.recognition.sources))


@rule("ldn-slow-release", needs={"naltrexone"})
def ldn_slow_release(facts: Facts, out: list[Finding]) -> None:
    for med, drug in facts.medications.get("naltrexone", NO_MEDICATIONS):
        if drug.naltrexone_kind == "slow_release":
            sources = drug.recognition.sources
            out.append(finding("ldn-slow-release", med.label, extra_sources=sources))


@rule("not-ldn-product", needs={"naltrexone"})
def not_ldn_product(facts: Facts, out: list[Finding]) -> None:
    for med, drug in facts.medications.get("naltrexone", NO_MEDICATIONS):
        if drug.naltrexone_kind in _OTHER_PRODUCTS:
            out.append(
                finding(
                    "not-ldn-product",
                    med.label,
                    product=product_name(drug.naltrexone_kind),
                    extra_sources=drug.recognition.sources,
                )
            )


@rule("hypersensitivity", needs={"allergies"})
def hypersensitivity(facts: Facts, out: list[Finding]) -> None:
    for label, rec in facts.allergies:
        if DrugClass.NALTREXONE in rec.classes:
            out.append(finding("hypersensitivity", f"Allergy: {label}"))
