"""Finding conditions by name, synonym and code, as the screen and the EHR adapters do."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest

from ldnkit.knowledge import knowledge_base

SYNTHEA = Path(__file__).resolve().parents[1] / "fixtures" / "synthea-bulk-10"
SNOMED_SYSTEM = "http://snomed.info/sct"


def _id(text: str, system: str | None = None) -> str | None:
    found = knowledge_base().find_condition(text, system)
    return found.id if found else None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Fibromyalgia", "fibromyalgia"),
        ("  FIBROMYALGIA ", "fibromyalgia"),
        ("chronic fatigue syndrome", "me-cfs"),
        ("myalgic encephalomyelitis", "me-cfs"),
        ("me cfs", "me-cfs"),
        ("Crohn\u2019s disease", "crohns-disease"),  # typographic apostrophe
        ("crohns", "crohns-disease"),
        ("complex regional pain syndrome", "complex-regional-pain-syndrome"),
        ("post-COVID-19 condition", "long-covid"),
        ("atopic dermatitis", "psoriasis-eczema"),
        ("rheumatoid arthritis", "inflammatory-arthritis"),
        ("Hashimoto thyroiditis", "hashimotos-thyroiditis"),
    ],
)
def test_names_and_synonyms_ignore_case_spaces_and_punctuation(text: str, expected: str) -> None:
    assert _id(text) == expected


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("M79.7", "fibromyalgia"),
        ("m797", "fibromyalgia"),
        ("G93.32", "me-cfs"),
        ("K50.90", "crohns-disease"),  # inside the K50 category
        ("K51.90", "inflammatory-bowel-disease"),
        ("G35.A", "multiple-sclerosis"),
        ("U09.9", "long-covid"),
        ("G90.512", "complex-regional-pain-syndrome"),
        ("E11.42", "painful-diabetic-neuropathy"),
        ("M54.50", "chronic-low-back-pain"),
        ("C34.90", "cancer"),
        ("L40.0", "psoriasis-eczema"),
        ("L40.50", "inflammatory-arthritis"),  # the longer prefix wins over L40
        ("Z3A.20", "pregnancy"),
        ("O09.511", "pregnancy"),
        ("K70.30", "chronic-liver-disease"),
        ("K70.41", "decompensated-liver-disease"),
        ("B17.9", "acute-hepatitis"),
        ("N18.4", "chronic-kidney-disease"),
        ("F11.20", "opioid-use-disorder"),
        ("F10.20", "alcohol-dependence"),
        ("E06.3", "hashimotos-thyroiditis"),
    ],
)
def test_icd10cm_codes_match_with_or_without_dots_and_by_category(code: str, expected: str) -> None:
    assert _id(code) == expected
    assert _id(code, "icd10cm") == expected


def test_codes_that_name_nothing_ldn_related_are_not_matched() -> None:
    assert _id("J02.9") is None  # acute pharyngitis
    assert _id("R53.82") is None  # chronic fatigue, unspecified: not ME/CFS
    assert _id("F10.10") is None  # alcohol abuse is not dependence
    assert _id("E11.9") is None  # diabetes without neuropathy
    assert _id("no such illness") is None


def test_a_code_system_restricts_the_search_to_that_system() -> None:
    assert _id("95417003", "snomed") == "fibromyalgia"
    assert _id("95417003", SNOMED_SYSTEM) == "fibromyalgia"
    assert _id("95417003") == "fibromyalgia"
    assert _id("M79.7", "snomed") is None
    assert _id("95417003", "icd10cm") is None
    assert _id("fibromyalgia", "icd10cm") is None


def test_an_unknown_code_system_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="unknown code system"):
        knowledge_base().find_condition("72514-3", "loinc")


def test_repeated_lookups_return_the_same_condition() -> None:
    kb = knowledge_base()
    first = kb.find_condition("K50.90")
    assert first is not None
    assert all(kb.find_condition("K50.90") is first for _ in range(3))


def _synthea_codings() -> list[dict[str, str]]:
    codings = []
    with (SYNTHEA / "Condition.000.ndjson").open(encoding="utf-8") as lines:
        for line in lines:
            for coding in json.loads(line)["code"]["coding"]:
                if coding["system"] == SNOMED_SYSTEM:
                    codings.append(coding)
    return codings


def test_synthea_condition_codes_map_to_the_roles_the_screen_needs() -> None:
    roles = {}
    for coding in _synthea_codings():
        found = knowledge_base().find_condition(coding["code"], coding["system"])
        roles[coding["display"]] = found.screen_role if found else None
    assert roles["Chronic low back pain (finding)"] == "candidate"
    assert roles["Chronic neck pain (finding)"] == "candidate"
    assert roles["Normal pregnancy"] == "pregnancy"
    assert roles["Chronic kidney disease stage 3 (disorder)"] == "kidney_impaired"
    assert roles["End-stage renal disease (disorder)"] == "kidney_impaired"
    assert roles["Malignant neoplasm of breast (disorder)"] == "limited_evidence"
    assert roles["Acute viral pharyngitis (disorder)"] is None
    assert roles["Miscarriage in first trimester"] is None  # no longer pregnant


def test_snomed_codes_said_to_be_used_by_synthea_are_in_the_export_with_that_display() -> None:
    seen = {(c["code"], c["display"]) for c in _synthea_codings()}
    claimed = [
        (code.code, code.display)
        for condition in knowledge_base().conditions
        for code in condition.snomed_codes
        if code.note == "used by Synthea" and code.code != "95417003"  # not in this 10-patient set
    ]
    assert claimed
    assert [c for c in claimed if c not in seen] == []


def test_every_icd10cm_code_is_in_the_cms_tabular_list() -> None:
    with warnings.catch_warnings():
        # The package reads its data through a deprecated importlib call.
        warnings.simplefilter("ignore", DeprecationWarning)
        import simple_icd_10_cm as cms
    invalid = [
        (condition.id, code)
        for condition in knowledge_base().conditions
        for code in condition.icd10cm
        if not cms.is_valid_item(code)
    ]
    assert invalid == []


def test_the_knowledge_base_survives_pickling_for_distributed_workers() -> None:
    import pickle

    copy = pickle.loads(pickle.dumps(knowledge_base()))
    found = copy.find_condition("K50.1")
    assert found is not None
    assert found.id == "crohns-disease"
    assert copy.version == knowledge_base().version
