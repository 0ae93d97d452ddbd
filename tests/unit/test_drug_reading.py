"""Every word of a medication name is read: drug names, abbreviations, and the words around them.

The strings are the ones EHR medication lists and pharmacy labels print (RxNorm names, US
pharmacy shorthand, NHS prescribing names). A word that cannot be read is reported and makes the
opioid question unknown, never "no".
"""

from __future__ import annotations

import pytest

from ldnkit.domain.drugs import DrugClass, Recognition, recognise
from ldnkit.domain.drugs.index import index
from ldnkit.knowledge.drug_words import vocabulary


def ids(r: Recognition) -> set[str]:
    return {m.id for m in r.ingredients}


def strengths(r: Recognition) -> dict[str, float | None]:
    return {m.id: m.strength_mg for m in r.ingredients}


# ---- real medication-list strings, read to the last word -------------------------------------

EHR_STRINGS = [
    ("oxyCODONE Hydrochloride 5 MG Oral Tablet", {"oxycodone"}, False),
    ("Acetaminophen 325 MG / HYDROcodone Bitartrate 5 MG Oral Tablet [Norco]",
     {"acetaminophen", "hydrocodone"}, False),
    ("HYCD/APAP 5-325 MG TABLET", {"hydrocodone", "acetaminophen"}, False),
    ("12 HR oxyCODONE Hydrochloride 20 MG Extended Release Oral Tablet", {"oxycodone"}, True),
    ("72 HR fentanyl 0.025 MG/HR Transdermal System", {"fentanyl"}, True),
    ("fentanyl 25 mcg/hr patch", {"fentanyl"}, True),
    ("morphine sulfate 20 MG/ML Oral Solution", {"morphine"}, False),
    ("buprenorphine 8 MG / naloxone 2 MG Sublingual Film [Suboxone]",
     {"buprenorphine", "naloxone"}, True),
    ("fentanyl citrate 0.2 MG Buccal Tablet", {"fentanyl"}, False),
    ("butorphanol tartrate 10 MG/ML Nasal Spray", {"butorphanol"}, False),
    ("HYDROmorphone HCl 2 mg/mL injection, 1 mL prefilled syringe", {"hydromorphone"}, False),
    ("{2 (fentanyl 0.6 MG/ACTUAT Mucosal Spray [Subsys]) } Pack [Subsys 1200 MCG]",
     {"fentanyl"}, False),
    ("tramadol 50 mg tablet(s) po q6h prn pain", {"tramadol"}, False),
    ("oxycodone 5 mg 1 tab po qhs prn", {"oxycodone"}, False),
    ("Morph Sulf_Cap 10mg M/R", {"morphine"}, True),
    ("OXYCOD/APAP 10-325", {"oxycodone", "acetaminophen"}, False),
    ("HYDROCOD/APAP 7.5-325 TAB", {"hydrocodone", "acetaminophen"}, False),
    ("TRAMADOL HCL 50MG TAB", {"tramadol"}, False),
    ("codeine phosphate 30 MG / acetaminophen 300 MG Oral Tablet", {"codeine", "acetaminophen"},
     False),
    ("methadone hydrochloride 10 MG Oral Tablet [Dolophine]", {"methadone"}, True),
    ("0.5 ML buprenorphine 200 MG/ML Prefilled Syringe [Sublocade]", {"buprenorphine"}, True),
]  # fmt: skip


@pytest.mark.parametrize(("text", "expected", "long_acting"), EHR_STRINGS)
def test_ehr_and_pharmacy_strings_are_read_to_the_last_word(
    text: str, expected: set[str], long_acting: bool
) -> None:
    r = recognise(text)
    assert ids(r) == expected, r.explanation
    assert r.unread == ()
    assert r.ambiguous == ()
    assert r.is_opioid is True
    assert r.long_acting is long_acting


def test_a_pharmacy_combination_takes_its_strengths_in_order() -> None:
    assert strengths(recognise("HYCD/APAP 5-325 MG TABLET")) == {
        "hydrocodone": 5,
        "acetaminophen": 325,
    }


def test_a_non_opioid_read_to_the_last_word_is_not_an_opioid() -> None:
    r = recognise("24 HR Metformin hydrochloride 500 MG Extended Release Oral Tablet")
    assert r.unread == ()
    assert r.is_opioid is False


# ---- an unread word is never dropped ---------------------------------------------------------


def test_a_known_drug_beside_an_unknown_word_is_not_cleared() -> None:
    r = recognise("Xyzzy/acetaminophen")
    assert ids(r) == {"acetaminophen"}
    assert r.unread == ("Xyzzy",)
    assert r.is_opioid is None
    assert 'not read: "Xyzzy"' in r.explanation


def test_an_opioid_beside_an_unknown_word_is_still_an_opioid() -> None:
    r = recognise("Xyzzy/oxycodone 5 mg")
    assert r.is_opioid is True
    assert r.unread == ("Xyzzy",)


@pytest.mark.parametrize("text", ["xyzzy", "Qzplex 10 mg", "tablet po qhs"])
def test_nothing_recognised_is_unknown_not_no(text: str) -> None:
    r = recognise(text)
    assert r.ingredients == ()
    assert r.is_opioid is None


# ---- abbreviations and shortened names -------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected", "how"),
    [
        ("APAP", {"acetaminophen"}, "abbreviation"),
        ("HYCD", {"hydrocodone"}, "abbreviation"),
        ("HYDROC/APAP", {"hydrocodone", "acetaminophen"}, "abbreviation"),
        ("MSO4 15 mg", {"morphine"}, "abbreviation"),
        ("Morph Sulf 10mg", {"morphine"}, "abbreviation"),
        ("DTO 10 mg/mL", {"opium"}, "abbreviation"),
        ("BUP/NX 8-2 film", {"buprenorphine", "naloxone"}, "abbreviation"),
        ("HYDROCOD", {"hydrocodone"}, "truncation"),
        ("OXYCOD 5MG", {"oxycodone"}, "truncation"),
        ("TRAM 50", {"tramadol"}, "truncation"),
        ("FENT 25 mcg/hr", {"fentanyl"}, "truncation"),
        ("HYDROMOR 2MG", {"hydromorphone"}, "truncation"),
        ("BUTALB/APAP/CAFF", {"butalbital", "acetaminophen", "caffeine"}, "truncation"),
    ],
)
def test_abbreviations_and_shortened_names_are_read(
    text: str, expected: set[str], how: str
) -> None:
    r = recognise(text)
    assert ids(r) == expected, r.explanation
    assert how in {m.how for m in r.ingredients}
    assert r.unread == ()
    assert r.ambiguous == ()


def test_bup_nal_film_is_buprenorphine_and_names_every_reading_of_nal() -> None:
    r = recognise("BUP/NAL 8-2 film")
    assert r.is_opioid is True
    assert ids(r) == {"buprenorphine"}
    (nal,) = r.ambiguous
    assert nal.written == "NAL"
    assert {"naloxone", "naltrexone", "nalbuphine"} <= set(nal.readings)


@pytest.mark.parametrize(
    ("text", "readings", "opioid_possible"),
    [
        ("HC 10 mg", {"hydrocodone", "hydrocortisone"}, True),
        ("MS 15 mg", {"morphine", "magnesium"}, True),
        ("T3 tablet", {"acetaminophen + codeine", "liothyronine"}, True),
        ("OXY 5 mg", {"oxycodone", "oxymorphone", "oxybutynin", "oxcarbazepine"}, True),
        ("HCT 25 mg", {"hydrocortisone", "hydrochlorothiazide"}, False),
        ("HYDRO 5 mg", {"hydrocodone", "hydromorphone", "hydroxyzine"}, True),
    ],
)
def test_an_ambiguous_abbreviation_names_every_reading_and_picks_none(
    text: str, readings: set[str], opioid_possible: bool
) -> None:
    r = recognise(text)
    (ambiguity,) = r.ambiguous
    assert readings <= set(ambiguity.readings)
    assert ambiguity.opioid_possible is opioid_possible
    assert r.ingredients == ()
    assert r.is_opioid is (None if opioid_possible else False)


def test_three_letters_are_too_few_to_be_sure_of_codeine() -> None:
    r = recognise("APAP/COD 300-30")
    assert ids(r) == {"acetaminophen"}
    (cod,) = r.ambiguous
    assert cod.readings == ("codeine",)
    assert r.is_opioid is None


def test_ms_contin_is_a_brand_not_the_ambiguous_ms() -> None:
    r = recognise("MS Contin 30 mg")
    assert ids(r) == {"morphine"}
    assert r.ambiguous == ()
    assert r.long_acting


# ---- codes beside names ----------------------------------------------------------------------


def test_an_unknown_code_beside_a_read_name_is_unresolved() -> None:
    r = recognise("acetaminophen 325 mg", "99999999")
    assert r.unresolved_code == "99999999"
    assert r.is_opioid is None


def test_a_code_and_a_name_for_different_ingredients_conflict_and_the_opioid_counts() -> None:
    r = recognise("acetaminophen 500 mg", "7804")
    assert r.code_conflict is not None
    assert r.code_conflict.code_reading == "oxycodone"
    assert r.code_conflict.name_reading == "acetaminophen"
    assert r.is_opioid is True


def test_an_ingredient_code_inside_a_named_combination_is_no_conflict() -> None:
    r = recognise("Percocet 5/325", "7804")
    assert r.code_conflict is None
    assert ids(r) == {"oxycodone", "acetaminophen"}


def test_a_value_set_code_is_read_through_its_rxnorm_name() -> None:
    r = recognise(rxnorm="1049216")  # acetaminophen 325 MG / oxycodone 10 MG Oral Tablet [Endocet]
    assert ids(r) == {"oxycodone", "acetaminophen"}
    assert "oxycodone-medications" in r.value_sets
    assert "cdc-opioid-valuesets" in r.sources


# ---- drugs the lexicon now knows -------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "ingredient"),
    [("tianeptine", "tianeptine"), ("Sublocade", "buprenorphine"), ("Brixadi", "buprenorphine"),
     ("pholcodine", "pholcodine"), ("dextromoramide", "dextromoramide"),
     ("levomethadyl acetate", "levomethadyl")],
)  # fmt: skip
def test_opioids_the_lexicon_lacked_are_opioids(name: str, ingredient: str) -> None:
    r = recognise(name)
    assert ingredient in ids(r)
    assert r.is_opioid is True


def test_levomethadyl_needs_the_maintenance_washout_like_methadone() -> None:
    assert recognise("levomethadyl").maintenance
    assert recognise("methadone 10 mg").maintenance
    assert not recognise("oxycodone 5 mg").maintenance


@pytest.mark.parametrize(
    "text", ["naltrexone 4.5 mg SR capsule", "LDN 3 mg ER", "naltrexone 1.5 mg slow release"]
)
def test_oral_slow_release_naltrexone_is_its_own_kind(text: str) -> None:
    r = recognise(text)
    assert DrugClass.NALTREXONE in r.classes
    assert r.naltrexone_kind == "slow_release"


# ---- the vocabulary is only vocabulary -------------------------------------------------------


def test_no_vocabulary_word_is_also_a_one_word_drug_name() -> None:
    # A word that is both would be read as the drug (names first): the data must not rely on it.
    ix = index()
    vocab = vocabulary()
    words = {w for c in vocab.categories.values() for w in c.words}
    clashing = sorted(w for w in words if (w,) in ix.phrases)
    assert clashing == []
