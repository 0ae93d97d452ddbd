"""The drug lexicon as data: valid, cited, complete for the codes we rely on, and robust."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from ldnkit.domain.drugs import DrugClass, recognise
from ldnkit.knowledge.drug_words import vocabulary
from ldnkit.knowledge.drugs import Abbreviation, Lexicon, abbreviations, lexicon
from ldnkit.knowledge.files import read_data

# FACTS.md section 7: the RxNorm ingredient and ATC codes verified by the clinical reference.
FACTS_RXNORM = {
    "7243": "naltrexone", "7242": "naloxone", "2670": "codeine", "4337": "fentanyl",
    "5489": "hydrocodone", "3423": "hydromorphone", "6813": "methadone", "7052": "morphine",
    "7804": "oxycodone", "7814": "oxymorphone", "787390": "tapentadol", "10689": "tramadol",
    "1819": "buprenorphine",
}  # fmt: skip
FACTS_ATC = {
    "N07BB04": "naltrexone", "N02AA01": "morphine", "N02AA05": "oxycodone",
    "N02AA03": "hydromorphone", "N02AB03": "fentanyl", "N02AX02": "tramadol",
    "N02AX06": "tapentadol", "N02AA11": "oxymorphone", "N07BC02": "methadone",
    "N02AE01": "buprenorphine", "N07BC01": "buprenorphine", "R05DA04": "codeine",
    "V03AB15": "naloxone",
}  # fmt: skip


def test_every_code_of_the_clinical_reference_is_in_the_lexicon() -> None:
    lex = lexicon()
    for code, ingredient in FACTS_RXNORM.items():
        assert code in lex.ingredient(ingredient).rxnorm
    for code, ingredient in FACTS_ATC.items():
        assert code in lex.ingredient(ingredient).atc


def test_every_source_id_resolves_in_sources_yaml() -> None:
    cited = {entry["id"] for entry in read_data("sources.yaml")}
    assert lexicon().source_ids() <= cited
    for ingredient in lexicon().ingredients:
        assert ingredient.sources, ingredient.id


def test_every_opioid_cites_the_label_or_a_specific_source() -> None:
    for ingredient in lexicon().ingredients:
        if ingredient.is_opioid:
            assert set(ingredient.sources) & {"fda-revia-label", "fda-kratom-2018"}, ingredient.id


def _raw() -> dict[str, Any]:
    data = read_data("drugs.yaml")
    assert isinstance(data, dict)
    return data


def test_unknown_fields_in_the_lexicon_are_refused() -> None:
    data = _raw()
    bad = {**data, "ingredients": [{**data["ingredients"][0], "clases": []}]}
    with pytest.raises(ValidationError, match="clases"):
        Lexicon.model_validate(bad)


def test_a_product_naming_an_unknown_ingredient_is_refused() -> None:
    data = _raw()
    bad = {**data, "products": [{"name": "Oxyfoo", "ingredients": ["oxyfoo"], "sources": ["x"]}]}
    with pytest.raises(ValidationError, match="unknown ingredients"):
        Lexicon.model_validate(bad)


def test_an_unknown_class_is_refused() -> None:
    data = _raw()
    bad = {**data, "ingredients": [{**data["ingredients"][0], "classes": ["opiate"]}]}
    with pytest.raises(ValidationError):
        Lexicon.model_validate(bad)


def _all_names() -> list[tuple[str, frozenset[str]]]:
    lex = lexicon()
    names: list[tuple[str, frozenset[str]]] = []
    for ing in lex.ingredients:
        for name in (ing.name, *ing.synonyms, *ing.tall_man):
            names.append((name, frozenset({ing.id})))
    for product in lex.products:
        for name in (product.name, *product.aliases):
            names.append((name, frozenset(product.ingredients)))
    return names


NAMES = _all_names()


def test_every_lexicon_name_is_recognised_as_exactly_its_ingredients() -> None:
    for name, expected in NAMES:
        got = frozenset(m.id for m in recognise(name).ingredients)
        assert got == expected, name


def test_every_clinical_drug_code_is_recognised_by_code_alone() -> None:
    for drug in lexicon().clinical_drugs:
        by_code = recognise(rxnorm=drug.rxnorm)
        by_text = recognise(drug.display)
        assert by_code.ingredients
        assert {m.id for m in by_code.ingredients} == {m.id for m in by_text.ingredients}
        assert by_code.is_opioid == by_text.is_opioid
        # Read to the last word, so the code resolves: the screen flags codes that do not.
        assert by_code.fully_read, drug.display


def _recase(text: str, flips: list[bool]) -> str:
    return "".join(
        (c.upper() if c.islower() else c.lower()) if flip else c
        for c, flip in zip(text, flips + [False] * len(text), strict=False)
    )


STRENGTHS = st.builds(
    lambda value, unit: f"{value:g}{unit}",
    st.floats(min_value=0.1, max_value=1000, allow_nan=False).map(lambda v: round(v, 2)),
    st.sampled_from([" mg", "mg", " MG", " mcg", " mg/mL", " MG/ML", " mcg/hr", " g"]),
)
FORMS = st.sampled_from(
    ["tablet", "Oral Tablet", "capsule", "ER", "XR", "SR", "CR", "12 HR", "24 HR",
     "extended release", "oral solution", "patch", "injection", "Sublingual Film", "syrup",
     "HCl", "hydrochloride", "compounded capsule", "Extended Release Oral Tablet"]
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(
    entry=st.sampled_from(NAMES),
    flips=st.lists(st.booleans(), max_size=40),
    left=st.sampled_from(["", " ", "  ", "\t"]),
    gap=st.sampled_from([" ", "  ", " \t "]),
    extras=st.lists(st.one_of(STRENGTHS, FORMS), max_size=3),
)
def test_case_whitespace_strengths_and_forms_never_change_the_ingredients(
    entry: tuple[str, frozenset[str]],
    flips: list[bool],
    left: str,
    gap: str,
    extras: list[str],
) -> None:
    name, expected = entry
    text = left + gap.join([_recase(name, flips).replace(" ", gap), *extras]) + left
    r = recognise(text)
    assert frozenset(m.id for m in r.ingredients) == expected, text
    # And the opioid verdict follows the ingredients, whatever the decoration.
    assert r.is_opioid == any(
        lexicon().ingredient(i).classes
        & {DrugClass.OPIOID_AGONIST, DrugClass.OPIOID_PARTIAL_AGONIST}
        for i in expected
    )


# ---- abbreviations and the words around drug names ---------------------------------------------


def test_every_abbreviation_is_read_as_what_it_means() -> None:
    for a in abbreviations():
        r = recognise(a.written)
        if a.means:
            assert frozenset(m.id for m in r.ingredients) == frozenset(a.means), a.written
        else:
            assert len(r.ambiguous) == 1, a.written
            assert len(r.ambiguous[0].readings) == len(a.readings), a.written


def test_an_abbreviation_with_a_meaning_and_readings_is_refused() -> None:
    with pytest.raises(ValidationError, match="not both"):
        Abbreviation.model_validate(
            {"written": "zz", "means": ["codeine"], "readings": [["codeine"], ["morphine"]],
             "sources": ["nlm-rxnorm"]}
        )  # fmt: skip


def test_every_vocabulary_word_alone_is_read_and_is_no_drug() -> None:
    vocab = vocabulary()
    unread = []
    for category in vocab.categories.values():
        for word in category.words:
            r = recognise(word)
            if r.unread or r.ingredients:
                unread.append(word)
    assert unread == []


def test_vocabulary_and_abbreviations_cite_known_sources() -> None:
    cited = {entry["id"] for entry in read_data("sources.yaml")}
    assert vocabulary().source_ids() <= cited
    assert {s for a in abbreviations() for s in a.sources} <= cited
