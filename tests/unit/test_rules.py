"""The rules as declared: one id each, worded and cited in rules.yaml, and the order-time rule
deciding in the domain what CDS Hooks shows."""

from __future__ import annotations

import pytest

from ldnkit.domain.drugs import drug_facts
from ldnkit.domain.rules import ORDER_RULES, SCREEN, SessionDrug, order_findings, order_rule_reads
from ldnkit.knowledge import knowledge_base
from ldnkit.knowledge.rules import rule_texts

# The contract's required rule ids (DESIGN.md, ldnkit screen).
REQUIRED = {
    "opioid-active", "opioid-washout", "procedure-hold", "liver-acute", "liver-chronic",
    "kidney-impaired", "pregnancy", "breastfeeding", "thyroid-medication", "alcohol",
    "not-ldn-product", "hypersensitivity", "condition-not-recommended",
    "condition-limited-evidence",
}  # fmt: skip


def drug(name: str, dose_mg: float | None = None, draft: bool = False) -> SessionDrug:
    return SessionDrug(name, drug_facts(name, None), dose_mg, draft, "MedicationRequest/x")


def test_the_screen_is_a_list_of_rules_with_one_id_each_worded_and_cited() -> None:
    ids = [rule.id for rule in SCREEN]
    assert len(ids) == len(set(ids))
    assert set(ids) >= REQUIRED
    known = set(knowledge_base().sources)
    for rule in SCREEN:
        assert rule.severity in {"info", "caution", "wait", "contraindicated"}
        assert rule.sources
        assert set(rule.sources) <= known
        assert rule.text.title


def test_the_order_rules_are_worded_and_cited_and_an_opioid_meeting_is_a_contraindication() -> None:
    texts = rule_texts()
    for rule_id in ORDER_RULES:
        assert texts[rule_id].fragments
        assert texts[rule_id].sources
    assert texts["opioid-ordered-on-naltrexone"].severity == "contraindicated"
    assert texts["naltrexone-ordered-on-opioid"].severity == "contraindicated"
    # A drug that cannot be read could be an opioid: never silent, but not a contraindication.
    assert texts["unrecognised-ordered-on-naltrexone"].severity == "caution"
    assert texts["naltrexone-ordered-on-unrecognised"].severity == "caution"


NALTREXONE_ORDERED, OPIOID_ORDERED = "naltrexone-ordered-on-opioid", "opioid-ordered-on-naltrexone"
INJECTION = "extended-release naltrexone injection"


@pytest.mark.parametrize(
    ("ordered", "on", "rule", "product"),
    [
        ("naltrexone 4.5 mg capsule", "tramadol 50 mg", NALTREXONE_ORDERED, "LDN"),
        ("ReVia 50 mg", "methadone 10 mg", NALTREXONE_ORDERED, "standard-dose naltrexone"),
        ("Vivitrol", "Percocet", NALTREXONE_ORDERED, INJECTION),
        ("Contrave", "buprenorphine patch", NALTREXONE_ORDERED, "naltrexone-bupropion"),
        ("hydromorphone 2 mg", "Vivitrol", OPIOID_ORDERED, INJECTION),
        ("codeine 30 mg", "Contrave", OPIOID_ORDERED, "naltrexone-bupropion"),
    ],
)
def test_naltrexone_and_an_opioid_meeting_in_an_order_is_a_finding_naming_the_product(
    ordered: str, on: str, rule: str, product: str
) -> None:
    [finding] = order_findings([drug(ordered, draft=True)], [], [drug(on)])
    assert (finding.rule, finding.severity) == (rule, "contraindicated")
    assert finding.products == (product,)
    assert product in finding.message
    known = set(knowledge_base().sources)
    for point in finding.points:
        assert point.sources
        assert set(point.sources) <= known
    assert set(finding.sources) == {s for p in finding.points for s in p.sources} | set(
        rule_texts()[rule].sources
    )


def test_the_ordered_dose_decides_the_product_over_the_tablet_strength() -> None:
    # LDN made from the standard tablet: a 4.5 mg dose of a 50 mg tablet is LDN.
    [finding] = order_findings([drug("naltrexone 50 mg tablet", 4.5, True)], [], [drug("tramadol")])
    assert finding.products == ("LDN",)


def test_an_opioid_with_naltrexone_inside_is_ordered_as_an_opioid() -> None:
    # Embeda (morphine with sequestered naltrexone) is an opioid, never a naltrexone order.
    embeda = drug("Embeda 20 mg", draft=True)
    assert order_rule_reads(embeda)
    [finding] = order_findings([embeda], [], [drug("LDN 4.5 mg")])
    assert finding.rule == "opioid-ordered-on-naltrexone"
    assert order_findings([embeda], [], [drug("oxycodone 5 mg")]) == []


def test_an_unrecognised_drug_ordered_for_a_patient_on_naltrexone_asks_to_confirm() -> None:
    [finding] = order_findings([drug("Xyzzorex 10 mg", draft=True)], [], [drug("LDN 4.5 mg")])
    assert (finding.rule, finding.severity) == ("unrecognised-ordered-on-naltrexone", "caution")
    assert 'Xyzzorex 10 mg: ldnkit could not read the word "Xyzzorex"' in finding.message
    assert finding.products == ("LDN",)


def test_naltrexone_ordered_for_a_patient_on_an_unrecognised_drug_asks_to_confirm() -> None:
    [finding] = order_findings([drug("LDN 4.5 mg", draft=True)], [], [drug("Xyzzorex 10 mg")])
    assert (finding.rule, finding.severity) == ("naltrexone-ordered-on-unrecognised", "caution")
    assert "Xyzzorex 10 mg" in finding.message
    assert "confirm none of it is an opioid" in finding.message


def test_an_unrecognised_drug_without_naltrexone_anywhere_gets_no_finding() -> None:
    assert order_findings([drug("Xyzzorex 10 mg", draft=True)], [], [drug("ibuprofen")]) == []


def test_orders_the_rule_cannot_meet_need_no_patient_record() -> None:
    assert not order_rule_reads(drug("ibuprofen 400 mg"))
    assert order_rule_reads(drug("naltrexone 50 mg tablet"))
    assert order_rule_reads(drug("tramadol"))
    assert order_rule_reads(drug("Xyzzorex 10 mg"))
