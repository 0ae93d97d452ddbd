"""Every claim in the knowledge data is cited, every citation resolves, every seed condition is in.

These checks walk every YAML file in knowledge/data generically, including files other parts of
ldnkit own (drugs, protocols, products, rules, cards, response texts, limits), so that no file
can carry an uncited claim.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import ldnkit
from ldnkit.knowledge import KnowledgeError, knowledge_base
from ldnkit.knowledge.base import load
from ldnkit.knowledge.files import data_file_names, read_data
from ldnkit.knowledge.models import EVIDENCE_LEVELS, SCREEN_ROLES, UNLINKED_KINDS

# The twenty conditions the seeds name (issue 3), as a person would type them.
SEED_CONDITIONS = {
    "fibromyalgia": "fibromyalgia",
    "ME/CFS": "me-cfs",
    "MS": "multiple-sclerosis",
    "Crohn's": "crohns-disease",
    "long COVID": "long-covid",
    "CRPS": "complex-regional-pain-syndrome",
    "painful diabetic neuropathy": "painful-diabetic-neuropathy",
    "low-back pain": "chronic-low-back-pain",
    "neuropathic corneal pain": "neuropathic-corneal-pain",
    "cancer": "cancer",
    "Hailey-Hailey": "hailey-hailey-disease",
    "psoriasis/eczema": "psoriasis-eczema",
    "depression": "depression",
    "Gulf War Illness": "gulf-war-illness",
    "Parkinson's impulse control": "parkinsons-impulse-control",
    "dementia": "dementia",
    "HIV/AIDS": "hiv-aids",
    "osteoarthritis": "osteoarthritis",
    "inflammatory arthritis": "inflammatory-arthritis",
    "IBD": "inflammatory-bowel-disease",
}

STATEMENT_KEYS = ("text", "claim", "message")


def _citation_keys(record: dict[str, Any]) -> list[str]:
    # `sources`, or a named list of them such as `hold_sources` where one record cites
    # different sources for different parts.
    return [k for k in record if k == "sources" or k.endswith("_sources")]


def _records(node: Any, where: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every mapping anywhere in a parsed YAML document, with a path to report."""
    if isinstance(node, dict):
        yield where, node
        for key, value in node.items():
            yield from _records(value, f"{where}.{key}")
    elif isinstance(node, list):
        for i, item in enumerate(node):
            label = item.get("id", i) if isinstance(item, dict) else i
            yield from _records(item, f"{where}[{label}]")


def _source_ids() -> set[str]:
    return {s["id"] for s in read_data("sources.yaml")}


def _data_files() -> list[str]:
    return [name for name in data_file_names() if name != "sources.yaml"]


def test_the_walk_covers_every_file_with_clinical_words() -> None:
    # Rule, card, response and plan texts and the clinical numbers are all walked below, and
    # no text file with words for clinicians lives outside the knowledge folder.
    walked = set(_data_files())
    assert {"rules.yaml", "cards.yaml", "response.yaml", "limits.yaml", "protocols.yaml"} <= walked
    package = Path(ldnkit.__file__).parent
    elsewhere = [
        p.relative_to(package).as_posix()
        for p in package.rglob("*.y*ml")
        if package / "knowledge" / "data" not in p.parents
    ]
    assert elsewhere == []


def test_every_sources_list_in_every_data_file_is_non_empty_and_resolves() -> None:
    known = _source_ids()
    problems = []
    for name in _data_files():
        for where, record in _records(read_data(name), name):
            for key in _citation_keys(record):
                cited = record[key]
                if not isinstance(cited, list) or not cited:
                    problems.append(f"{where}.{key}: must be a non-empty list, got {cited!r}")
                    continue
                problems += [
                    f"{where}.{key}: unknown source {s!r}" for s in cited if s not in known
                ]
    assert problems == []


def test_every_statement_like_record_in_every_data_file_carries_sources() -> None:
    uncited = [
        where
        for name in _data_files()
        for where, record in _records(read_data(name), name)
        if any(key in record for key in STATEMENT_KEYS)
        and not any(record[key] for key in _citation_keys(record))
    ]
    assert uncited == []


def test_source_ids_are_unique() -> None:
    ids = [s["id"] for s in read_data("sources.yaml")]
    assert len(ids) == len(set(ids)), sorted({i for i in ids if ids.count(i) > 1})


def test_every_source_but_lay_ones_has_a_doi_pmid_or_url() -> None:
    # Lay sources (the seeds, compounders' leaflets) are cited by their text; anything that
    # claims to be a study, label, guideline or criteria paper must be findable.
    unlinked = [
        s.id
        for s in knowledge_base().sources.values()
        if s.kind not in UNLINKED_KINDS and not (s.doi or s.pmid or s.url)
    ]
    assert unlinked == []


@pytest.mark.parametrize(("typed", "condition_id"), SEED_CONDITIONS.items())
def test_every_condition_the_seeds_name_is_found_by_name(typed: str, condition_id: str) -> None:
    found = knowledge_base().find_condition(typed)
    assert found is not None, typed
    assert found.id == condition_id


def test_every_condition_has_an_evidence_level_a_summary_and_sources() -> None:
    for condition in knowledge_base().conditions:
        assert condition.evidence_level in EVIDENCE_LEVELS
        assert condition.summary
        assert condition.sources


def test_every_screen_role_the_safety_screen_uses_has_a_condition() -> None:
    roles = {c.screen_role for c in knowledge_base().conditions}
    assert set(SCREEN_ROLES) - {"other"} <= roles


def test_crohns_disease_shows_the_guideline_and_the_conflicting_reports() -> None:
    crohns = knowledge_base().find_condition("Crohn's disease")
    assert crohns is not None
    assert crohns.screen_role == "not_recommended"
    assert crohns.conflicts, "the Crohn's conflict must be shown on its page"
    cited = {s for side in crohns.conflicts[0].positions for s in side.sources}
    assert {"seed-003", "seed-004"} <= cited


def test_conflicts_have_at_least_two_cited_sides() -> None:
    for conflict in knowledge_base().conflicts:
        assert len(conflict.positions) >= 2
        assert all(side.sources for side in conflict.positions)


def test_sleep_side_effects_are_marked_for_the_morning_dose_advice() -> None:
    kb = knowledge_base()
    assert kb.side_effect("vivid-dreams").sleep_related
    assert kb.side_effect("insomnia").sleep_related
    assert not kb.side_effect("headache").sleep_related
    assert {s.id for s in kb.side_effects if s.rare} >= {"confusion", "allergic-reaction"}
    with pytest.raises(KeyError):
        kb.side_effect("hiccups")


def test_statements_all_have_sources_and_known_conditions() -> None:
    kb = knowledge_base()
    ids = {c.id for c in kb.conditions}
    for statement in kb.statements:
        assert statement.sources
        assert statement.condition is None or statement.condition in ids


# -- the loader refuses broken data (real data, one edit each) ---------------------------------


def _load_with(edit: dict[str, Any]) -> None:
    files = {name: copy.deepcopy(read_data(name)) for name in data_file_names()}
    files.update(edit)
    load(files.__getitem__)


def _conditions_with(change: dict[str, Any], index: int = 0) -> dict[str, Any]:
    conditions = copy.deepcopy(read_data("conditions.yaml"))
    conditions[index] = {**conditions[index], **change}
    return {"conditions.yaml": conditions}


def test_the_real_data_loads() -> None:
    _load_with({})


def test_a_misspelled_key_is_refused() -> None:
    with pytest.raises(KnowledgeError, match="soruces"):
        _load_with(_conditions_with({"soruces": ["seed-000"]}))


def test_an_unknown_source_id_is_refused() -> None:
    with pytest.raises(KnowledgeError, match="unknown source 'nobody-2099'"):
        _load_with(_conditions_with({"sources": ["nobody-2099"]}))


def test_an_empty_sources_list_is_refused() -> None:
    statements = copy.deepcopy(read_data("statements.yaml"))
    statements[0]["sources"] = []
    with pytest.raises(KnowledgeError, match=r"statements\.yaml: 0\.sources"):
        _load_with({"statements.yaml": statements})


def test_two_conditions_claiming_one_synonym_are_refused() -> None:
    with pytest.raises(KnowledgeError, match="also names fibromyalgia"):
        _load_with(_conditions_with({"synonyms": ["FMS"]}, index=1))


def test_two_conditions_claiming_one_code_are_refused() -> None:
    with pytest.raises(KnowledgeError, match="also codes fibromyalgia"):
        _load_with(_conditions_with({"icd10cm": ["M79.7"]}, index=1))


def test_a_conflict_about_an_unknown_condition_is_refused() -> None:
    conflicts = copy.deepcopy(read_data("conflicts.yaml"))
    conflicts[0]["conditions"] = ["gout"]
    with pytest.raises(KnowledgeError, match="unknown condition 'gout'"):
        _load_with({"conflicts.yaml": conflicts})


@pytest.mark.parametrize("name", data_file_names())
def test_each_data_file_reads_the_same_with_the_fast_parser_as_with_the_python_one(
    name: str,
) -> None:
    import yaml

    from ldnkit.knowledge.files import read_text

    # The knowledge is read with libyaml's parser where PyYAML has it; it must give exactly
    # what the pure-Python safe loader gives.
    assert read_data(name) == yaml.load(read_text(name), Loader=yaml.SafeLoader)
