"""Which CDS cards fire, and that every card keeps the spec's card rules."""

from __future__ import annotations

from typing import Any

import pytest

from ldnkit.cdshooks.cards import order_cards as cards_of
from ldnkit.cdshooks.models import Card
from ldnkit.domain.drugs import drug_facts
from ldnkit.domain.rules import SessionDrug, order_findings
from ldnkit.knowledge import knowledge_base


def draft(name: str, ref: str, dose_mg: float | None = None) -> SessionDrug:
    return SessionDrug(name, drug_facts(name, None), dose_mg, True, f"MedicationRequest/{ref}")


def active(name: str) -> SessionDrug:
    return SessionDrug(name, drug_facts(name, None))


def order_cards(
    ordered: list[SessionDrug], pending: list[SessionDrug], on: list[SessionDrug]
) -> list[Card]:
    """The cards CDS Hooks sends: the domain's order rule, translated."""
    return cards_of(order_findings(ordered, pending, on))


def assert_spec_card(card: dict[str, Any]) -> None:
    """The CDS Hooks 2.0 card rules, checked on the wire form."""
    assert 0 < len(card["summary"]) < 140
    assert card["indicator"] in {"info", "warning", "critical"}
    assert card["source"]["label"]
    assert card["source"].get("url", "https://").startswith("https://")
    assert all(value not in (None, "", [], {}) for value in card.values())
    for reason in card.get("overrideReasons", []):
        assert reason["code"]
        assert reason["display"]  # the spec: a display for every override reason
    suggestions = card.get("suggestions", [])
    if suggestions:
        assert card["selectionBehavior"] in {"at-most-one", "any"}
    uuids = [s["uuid"] for s in suggestions]
    assert len(set(uuids)) == len(uuids)
    for suggestion in suggestions:
        assert suggestion["label"]
        for action in suggestion["actions"]:
            assert action["type"] in {"create", "update", "delete"}
            assert action["description"]
            if action["type"] == "delete":
                assert action["resourceId"].startswith("MedicationRequest/")
    for link in card.get("links", []):
        assert link["label"]
        assert link["type"] in {"absolute", "smart"}


def test_opioid_ordered_for_patient_on_ldn_is_critical() -> None:
    cards = order_cards([draft("Ultram 50 mg tablet", "t1")], [], [active("LDN 4.5 mg capsule")])
    assert [c.indicator for c in cards] == ["critical"]
    wire = cards[0].wire()
    assert_spec_card(wire)
    assert wire["summary"].startswith("Tramadol 50 mg: opioid ordered")
    assert wire["suggestions"][0]["actions"][0]["resourceId"] == "MedicationRequest/t1"
    reasons = wire["overrideReasons"]
    assert {r["system"] for r in reasons} == {
        "http://cds-hooks.hl7.org/CodeSystem/non-adherence-reason"
    }
    assert all(r["display"] for r in reasons)  # the spec: a display for every reason


def test_ldn_ordered_for_patient_on_active_opioid_is_critical_and_offers_removal() -> None:
    cards = order_cards(
        [draft("naltrexone 1.5 mg capsule", "ldn")], [], [active("oxycodone 5 mg tablet")]
    )
    assert len(cards) == 1
    wire = cards[0].wire()
    assert_spec_card(wire)
    assert wire["indicator"] == "critical"
    assert "1.5 mg" in wire["summary"]
    assert "oxycodone" in wire["summary"]
    removal = wire["suggestions"][0]["actions"][0]
    assert (removal["type"], removal["resourceId"]) == ("delete", "MedicationRequest/ldn")


def test_opioid_for_patient_on_standard_naltrexone_is_also_critical() -> None:
    cards = order_cards([draft("morphine 10 mg", "m")], [], [active("naltrexone 50 mg tablet")])
    assert [c.indicator for c in cards] == ["critical"]


def test_standard_dose_naltrexone_ordered_for_opioid_patient_is_critical_naming_it() -> None:
    # Any naltrexone with an active opioid precipitates withdrawal (label contraindication);
    # this once got no card, when the order rule stopped at 10 mg.
    cards = order_cards([draft("naltrexone 50 mg tablet", "n")], [], [active("tramadol")])
    assert [c.indicator for c in cards] == ["critical"]
    assert cards[0].summary.startswith("Standard-dose naltrexone 50 mg ordered")


def test_ordered_dose_decides_over_the_product_name() -> None:
    order = draft("naltrexone 50 mg tablet", "n", dose_mg=4.5)  # a tablet split for LDN
    assert len(order_cards([order], [], [active("hydrocodone 5 mg")])) == 1


def test_naltrexone_order_without_strength_is_critical_and_says_so() -> None:
    cards = order_cards([draft("naltrexone", "n")], [], [active("codeine 30 mg")])
    assert len(cards) == 1
    assert "strength not stated" in cards[0].summary


@pytest.mark.parametrize(
    ("ordered", "on"),
    [
        ("oxycodone 5 mg", "ibuprofen 400 mg"),
        ("naltrexone 4.5 mg", "naloxone 0.4 mg/mL injection"),
        ("ibuprofen 400 mg", "LDN 4.5 mg"),
        ("loperamide 2 mg", "LDN 4.5 mg"),
    ],
)
def test_no_card_when_neither_condition_holds(ordered: str, on: str) -> None:
    assert order_cards([draft(ordered, "x")], [], [active(on)]) == []


def test_opioid_and_ldn_ordered_together_give_one_card_offering_either_removal() -> None:
    opioid, ldn = draft("tapentadol 50 mg", "op"), draft("naltrexone 3 mg", "ldn")
    cards = order_cards([opioid, ldn], [], [])
    assert len(cards) == 1
    removals = [s["actions"][0]["resourceId"] for s in cards[0].wire()["suggestions"]]
    assert removals == ["MedicationRequest/op", "MedicationRequest/ldn"]


def test_ldn_selected_while_an_opioid_waits_unselected_in_the_session_is_critical() -> None:
    cards = order_cards([draft("LDN 1.5 mg", "ldn")], [draft("Percocet", "p")], [])
    assert len(cards) == 1
    assert "oxycodone" in cards[0].summary  # Percocet, by its ingredients


def test_long_drug_names_are_shortened_to_keep_the_summary_under_140() -> None:
    long_name = "oxycodone hydrochloride 5 mg " + "immediate release oral tablet " * 8
    cards = order_cards([draft(long_name, "o")], [], [active("naltrexone 4.5 mg " + "x" * 200)])
    assert len(cards[0].summary) < 140
    assert_spec_card(cards[0].wire())


def test_names_from_the_ehr_cannot_inject_markdown_links() -> None:
    cards = order_cards(
        [draft("oxycodone [click](https://evil.example)", "o")], [], [active("LDN")]
    )
    assert "[click](https://evil.example)" not in (cards[0].detail or "")


def test_card_detail_cites_every_source_of_the_findings_points_with_links() -> None:
    findings = order_findings([draft("fentanyl patch", "f")], [], [active("LDN 4.5 mg")])
    detail = cards_of(findings)[0].detail
    assert detail is not None
    sources = knowledge_base().sources
    cited = {s for point in findings[0].points for s in point.sources}
    assert cited >= {"fda-revia-label", "seed-003", "whately-stead-2023"}
    for source_id in cited:
        assert sources[source_id].citation in detail
    assert "<https://www.accessdata.fda.gov/" in detail


def test_card_model_refuses_a_summary_of_140_characters() -> None:
    with pytest.raises(ValueError, match="139"):
        Card(uuid="u", summary="x" * 140, indicator="info", source={"label": "s"})
