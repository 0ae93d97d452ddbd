"""The CDC opioid value sets, read as the CDC says: every code and every product name.

The fixtures are the CDC's own FHIR ValueSet files (tests/fixtures/cdc-opioid-valuesets, CC0),
read here directly, not through the lexicon's generated copy: nobody on the project wrote them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from ldnkit.domain.drugs import DrugClass, Recognition, recognise
from ldnkit.domain.profile import PatientProfile
from ldnkit.domain.screening import screen, washout_days
from ldnkit.knowledge.files import read_data
from ldnkit.knowledge.limits import limits
from ldnkit.knowledge.valuesets import (
    FILE_NAME,
    brand_name,
    build,
    ingredient_names,
    render,
    value_sets,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "cdc-opioid-valuesets"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
NALOXONE = "naloxone-medications"
EXTENDED_RELEASE = "extended-release-opioid-with-ambulatory-misuse-potential"
MAINTENANCE = {
    "buprenorphine-medications": "buprenorphine",
    "methadone-medications": "methadone",
}


def _entries() -> Iterator[tuple[str, str, str, str]]:
    for path in sorted(FIXTURES.glob("*.json")):
        data = json.loads(path.read_text("utf-8"))
        for entry in data["expansion"]["contains"]:
            yield data["id"], entry["system"], entry["code"], entry["display"]


def _medications() -> dict[str, tuple[str, set[str]]]:
    found: dict[str, tuple[str, set[str]]] = {}
    for set_id, system, code, display in _entries():
        if system == RXNORM:
            found.setdefault(code, (display, set()))[1].add(set_id)
    return found


MEDICATIONS = _medications()


def _as_the_value_sets_say(r: Recognition, sets: set[str], what: str) -> list[str]:
    problems = []
    maintenance = limits().washout.maintenance.days
    opioid = sets != {NALOXONE}
    if r.is_opioid is not opioid:
        problems.append(f"{what}: is_opioid {r.is_opioid}, value sets say {opioid}")
    if NALOXONE in sets and "naloxone" not in {m.id for m in r.ingredients}:
        problems.append(f"{what}: no naloxone")
    if NALOXONE in sets and DrugClass.OPIOID_ANTAGONIST not in r.classes:
        problems.append(f"{what}: naloxone not an antagonist")
    if EXTENDED_RELEASE in sets and not r.long_acting:
        problems.append(f"{what}: not long-acting")
    for set_id, ingredient in MAINTENANCE.items():
        if set_id in sets:
            if ingredient not in {m.id for m in r.ingredients}:
                problems.append(f"{what}: no {ingredient}")
            if washout_days(r) != maintenance:
                problems.append(f"{what}: washout {washout_days(r)}, not {maintenance}")
    return problems


def test_the_fixtures_hold_the_value_sets_the_lexicon_imports() -> None:
    assert len(MEDICATIONS) == len(value_sets().medications) == 788
    assert {s.id for s in value_sets().value_sets} == {e[0] for e in _entries()}


def test_every_value_set_code_alone_is_recognised_as_the_value_sets_say() -> None:
    problems = []
    for code, (_, sets) in MEDICATIONS.items():
        problems += _as_the_value_sets_say(recognise(rxnorm=code), sets, f"RxNorm {code}")
    assert problems == []


def test_every_value_set_product_name_alone_is_recognised_as_the_value_sets_say() -> None:
    problems = []
    for display, sets in MEDICATIONS.values():
        r = recognise(display)
        problems += _as_the_value_sets_say(r, sets, display)
        if r.unread or r.ambiguous:
            problems.append(f"{display}: not fully read {r.unread} {r.ambiguous}")
    assert problems == []


def test_every_opioid_product_name_alone_blocks_starting_ldn() -> None:
    verdicts = {}
    for display, sets in MEDICATIONS.values():
        if sets != {NALOXONE}:
            profile = PatientProfile.model_validate(
                {"as_of": "2026-11-23", "medications": [{"name": display, "status": "active"}]}
            )
            verdicts[display] = screen(profile).verdict
    assert set(verdicts.values()) == {"contraindicated"}
    assert len(verdicts) == 767  # 788 products, 21 of them naloxone alone


@pytest.mark.parametrize(
    ("system", "kind"),
    [("http://hl7.org/fhir/sid/icd-10-cm", "icd10cm"), ("http://snomed.info/sct", "snomed")],
)
def test_every_opioid_misuse_disorder_code_asks_to_confirm_opioid_free(
    system: str, kind: str
) -> None:
    codes = [code for set_id, s, code, _ in _entries() if s == system]
    assert codes
    for code in codes:
        profile = PatientProfile.model_validate(
            {"as_of": "2026-11-23", "conditions": [{"system": kind, "code": code}]}
        )
        rules = {f.rule for f in screen(profile).findings}
        assert "opioid-use-disorder" in rules, code


def test_a_misuse_code_found_through_the_value_set_cites_it() -> None:
    profile = PatientProfile.model_validate(
        {"as_of": "2026-11-23", "conditions": [{"system": "snomed", "code": "5602001"}]}
    )
    (finding,) = [f for f in screen(profile).findings if f.rule == "opioid-use-disorder"]
    assert finding.subject == "SNOMED 5602001 (Opioid abuse)"
    assert "cdc-opioid-valuesets" in finding.sources


# ---- provenance: the committed file is what the generator makes of the value sets -----------


def test_the_committed_file_is_regenerated_exactly_from_the_value_sets() -> None:
    committed = (
        Path(__file__).resolve().parents[2] / "src" / "ldnkit" / "knowledge" / "data" / FILE_NAME
    )
    assert committed.read_text("utf-8") == render(build(FIXTURES))


def test_the_generated_file_cites_the_value_sets() -> None:
    cited = {s["id"] for s in read_data("sources.yaml")}
    assert value_sets().sources == ("cdc-opioid-valuesets",)
    assert set(value_sets().sources) <= cited


@pytest.mark.parametrize(
    ("display", "names", "brand"),
    [
        ("Acetaminophen 325 MG / HYDROcodone Bitartrate 5 MG Oral Tablet [Norco]",
         ("acetaminophen", "hydrocodone bitartrate"), "Norco"),
        ("24 HR tramadol hydrochloride 100 MG Extended Release Oral Capsule [ConZip]",
         ("tramadol hydrochloride",), "ConZip"),
        ("{2 (fentanyl 0.6 MG/ACTUAT Mucosal Spray [Subsys]) } Pack [Subsys 1200 MCG]",
         ("fentanyl",), "Subsys"),
        ("0.5 ML buprenorphine 200 MG/ML Prefilled Syringe [Sublocade]", ("buprenorphine",),
         "Sublocade"),
        ("aspirin 325 MG / oxycodone hydrochloride 4.84 MG Oral Tablet "
         "[Endodan Reformulated May 2009]", ("aspirin", "oxycodone hydrochloride"), "Endodan"),
        ("naloxone hydrochloride 4 MG/ACTUAT Nasal Spray", ("naloxone hydrochloride",), None),
    ],
)  # fmt: skip
def test_the_generator_reads_ingredients_and_brand_from_the_rxnorm_name(
    display: str, names: tuple[str, ...], brand: str | None
) -> None:
    assert ingredient_names(display) == names
    assert brand_name(display) == brand
