"""Drug recognition: names, brands, combinations, codes, spellings, strengths and classes."""

from __future__ import annotations

import pytest

from ldnkit.domain.drugs import DrugClass, Recognition, recognise
from ldnkit.validation import InputError


def ids(r: Recognition) -> set[str]:
    return {m.id for m in r.ingredients}


# ---- opioids are never let through ----------------------------------------------------------

OPIOID_NAMES = [
    "morphine", "codeine", "dihydrocodeine", "hydrocodone", "hydromorphone", "oxycodone",
    "oxymorphone", "fentanyl", "sufentanil", "alfentanil", "remifentanil", "methadone",
    "buprenorphine", "tramadol", "tapentadol", "meperidine", "pethidine", "levorphanol",
    "pentazocine", "butorphanol", "nalbuphine", "propoxyphene", "opium", "paregoric",
    "diphenoxylate", "heroin", "diamorphine", "benzhydrocodone", "kratom",
]  # fmt: skip


@pytest.mark.parametrize("name", OPIOID_NAMES)
def test_every_opioid_generic_is_an_opioid(name: str) -> None:
    r = recognise(name)
    assert r.is_opioid, r.explanation
    assert r.classes & {DrugClass.OPIOID_AGONIST, DrugClass.OPIOID_PARTIAL_AGONIST}


@pytest.mark.parametrize(
    ("brand", "expected"),
    [
        ("Percocet", {"oxycodone", "acetaminophen"}),
        ("Endocet", {"oxycodone", "acetaminophen"}),
        ("Roxicet", {"oxycodone", "acetaminophen"}),
        ("Norco", {"hydrocodone", "acetaminophen"}),
        ("Vicodin", {"hydrocodone", "acetaminophen"}),
        ("Lortab", {"hydrocodone", "acetaminophen"}),
        ("Lorcet", {"hydrocodone", "acetaminophen"}),
        ("Tylenol #3", {"acetaminophen", "codeine"}),
        ("Tylenol #4", {"acetaminophen", "codeine"}),
        ("Tylenol No. 3", {"acetaminophen", "codeine"}),
        ("Tylenol with Codeine", {"acetaminophen", "codeine"}),
        ("Ultracet", {"tramadol", "acetaminophen"}),
        ("Ultram", {"tramadol"}),
        ("ConZip", {"tramadol"}),
        ("Nucynta", {"tapentadol"}),
        ("OxyContin", {"oxycodone"}),
        ("Roxicodone", {"oxycodone"}),
        ("Oxaydo", {"oxycodone"}),
        ("Xtampza ER", {"oxycodone"}),
        ("Zohydro ER", {"hydrocodone"}),
        ("Hysingla ER", {"hydrocodone"}),
        ("MS Contin", {"morphine"}),
        ("Kadian", {"morphine"}),
        ("Duragesic", {"fentanyl"}),
        ("Actiq", {"fentanyl"}),
        ("Fentora", {"fentanyl"}),
        ("Dilaudid", {"hydromorphone"}),
        ("Exalgo", {"hydromorphone"}),
        ("Opana", {"oxymorphone"}),
        ("Demerol", {"meperidine"}),
        ("Dolophine", {"methadone"}),
        ("Methadose", {"methadone"}),
        ("Suboxone", {"buprenorphine", "naloxone"}),
        ("Zubsolv", {"buprenorphine", "naloxone"}),
        ("Subutex", {"buprenorphine"}),
        ("Butrans", {"buprenorphine"}),
        ("Belbuca", {"buprenorphine"}),
        ("Sublocade", {"buprenorphine"}),
        ("Apadaz", {"benzhydrocodone", "acetaminophen"}),
        ("Tussionex", {"hydrocodone", "chlorpheniramine"}),
        ("Tuzistra XR", {"codeine", "chlorpheniramine"}),
        ("Hycodan", {"hydrocodone", "homatropine"}),
        ("Phenergan with Codeine", {"promethazine", "codeine"}),
        ("Robitussin AC", {"codeine", "guaifenesin"}),
        ("Lomotil", {"diphenoxylate", "atropine"}),
    ],
)
def test_brands_and_combinations_name_their_ingredients(brand: str, expected: set[str]) -> None:
    r = recognise(brand)
    assert ids(r) == expected
    assert r.is_opioid
    assert {m.how for m in r.ingredients} == {"brand"}


def test_brand_explanation_names_the_combination() -> None:
    r = recognise("Percocet")
    assert 'brand "Percocet" = oxycodone + acetaminophen' in r.explanation
    assert "seed-000" in r.sources


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("oxycodone/acetaminophen 5/325", {"oxycodone", "acetaminophen"}),
        ("hydrocodone + APAP", {"hydrocodone", "acetaminophen"}),
        ("buprenorphine and naloxone sublingual film", {"buprenorphine", "naloxone"}),
        ("codeine, guaifenesin syrup", {"codeine", "guaifenesin"}),
        ("promethazine-codeine", {"promethazine", "codeine"}),
        ("tramadol with paracetamol", {"tramadol", "acetaminophen"}),
    ],
)
def test_combinations_split_on_slash_plus_and_with_comma(text: str, expected: set[str]) -> None:
    r = recognise(text)
    assert ids(r) == expected
    assert r.is_opioid


def test_cough_syrup_with_codeine_is_an_opioid_but_plain_robitussin_is_not() -> None:
    assert recognise("Robitussin AC syrup").is_opioid
    assert not recognise("Robitussin").is_opioid


# ---- codes -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "ingredient", "opioid"),
    [
        ("7243", "naltrexone", False),
        ("7242", "naloxone", False),
        ("2670", "codeine", True),
        ("4337", "fentanyl", True),
        ("5489", "hydrocodone", True),
        ("3423", "hydromorphone", True),
        ("6813", "methadone", True),
        ("7052", "morphine", True),
        ("7804", "oxycodone", True),
        ("7814", "oxymorphone", True),
        ("787390", "tapentadol", True),
        ("10689", "tramadol", True),
        ("1819", "buprenorphine", True),
    ],
)
def test_rxnorm_ingredient_codes_from_the_clinical_reference(
    code: str, ingredient: str, opioid: bool
) -> None:
    r = recognise(rxnorm=code)
    assert ids(r) == {ingredient}
    assert r.is_opioid is opioid
    assert r.ingredients[0].how == "rxnorm"
    assert r.ingredients[0].matched == code


def test_synthea_meperidine_order_is_an_opioid_by_code_alone() -> None:
    # The coding of the meperidine MedicationRequest in the project's Synthea bulk export.
    coding = {
        "system": "http://www.nlm.nih.gov/research/umls/rxnorm",
        "code": "861467",
        "display": "Meperidine Hydrochloride 50 MG Oral Tablet",
    }
    by_code = recognise(rxnorm=coding["code"])
    assert ids(by_code) == {"meperidine"}
    assert by_code.is_opioid
    assert by_code.strength_mg == 50
    assert ids(recognise(coding["display"], coding["code"])) == {"meperidine"}


def test_unknown_code_still_reads_the_display_text() -> None:
    r = recognise("oxyCODONE 5 MG Oral Tablet", "999999999")
    assert r.is_opioid
    assert any("999999999 is not in the lexicon" in line for line in r.explanation)


def test_unverified_codes_say_so() -> None:
    r = recognise(rxnorm="6754")
    assert ids(r) == {"meperidine"}
    assert any("not yet verified" in line for line in r.explanation)


@pytest.mark.parametrize(
    ("code", "ingredient", "opioid"),
    [
        ("N02AA05", "oxycodone", True),
        ("N02AA01", "morphine", True),
        ("N07BC02", "methadone", True),
        ("N07BC01", "buprenorphine", True),
        ("R05DA04", "codeine", True),
        ("N02AX02", "tramadol", True),
        ("N07BB04", "naltrexone", False),
        ("V03AB15", "naloxone", False),
    ],
)
def test_atc_codes(code: str, ingredient: str, opioid: bool) -> None:
    r = recognise(code)
    assert ids(r) == {ingredient}
    assert r.is_opioid is opioid
    assert r.ingredients[0].how == "atc"


# ---- spelling ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "ingredient"),
    [("oxyCODONE", "oxycodone"), ("HYDROcodone", "hydrocodone"), ("traMADol", "tramadol"),
     ("methaDONE", "methadone"), ("HYDROmorphone", "hydromorphone"),
     ("OXYmorphone", "oxymorphone")],
)  # fmt: skip
def test_tall_man_lettering_is_read(written: str, ingredient: str) -> None:
    r = recognise(f"{written} 10 MG Oral Tablet")
    assert ids(r) == {ingredient}
    assert r.ingredients[0].how == "tall-man"
    assert r.is_opioid


@pytest.mark.parametrize(
    ("written", "ingredient"),
    [
        ("oxycodon", "oxycodone"),
        ("oxicodone", "oxycodone"),
        ("hydrocodon", "hydrocodone"),
        ("tramadole", "tramadol"),
        ("trammadol", "tramadol"),
        ("morfine", "morphine"),
        ("fentanil", "fentanyl"),
        ("buprenorphin", "buprenorphine"),
        ("methadon", "methadone"),
        ("tapendatol", "tapentadol"),
        ("codine", "codeine"),
        ("Percoset", "oxycodone"),
        ("Loratab", "hydrocodone"),
    ],
)
def test_misspelt_opioids_are_still_opioids(written: str, ingredient: str) -> None:
    r = recognise(written)
    assert ingredient in ids(r)
    assert r.is_opioid
    match = next(m for m in r.ingredients if m.id == ingredient)
    assert match.how == "misspelling"
    assert 1 <= match.distance <= 2
    assert any(line.startswith(f'misspelling "{written}"') for line in r.explanation)


@pytest.mark.parametrize(
    ("brand", "expected", "long_acting"),
    [
        ("Zapain 30mg/500mg", {"codeine", "acetaminophen"}, False),
        ("Kapake", {"codeine", "acetaminophen"}, False),
        ("Tylex", {"codeine", "acetaminophen"}, False),
        ("Solpadeine Plus", {"codeine", "acetaminophen", "caffeine"}, False),
        ("Nurofen Plus", {"codeine", "ibuprofen"}, False),
        ("DF118 Forte 40mg", {"dihydrocodeine"}, False),
        ("Zaldiar", {"tramadol", "acetaminophen"}, False),
        ("Zomorph 10mg", {"morphine"}, True),
        ("Longtec 10 mg", {"oxycodone"}, True),
        ("Shortec 5 mg", {"oxycodone"}, False),
        ("Targinact 10/5", {"oxycodone", "naloxone"}, True),
        ("Matrifen", {"fentanyl"}, True),
        ("Palexia 50 mg", {"tapentadol"}, False),
        ("Physeptone", {"methadone"}, True),
        ("Espranor", {"buprenorphine"}, True),
        ("Dvorah", {"dihydrocodeine", "acetaminophen", "caffeine"}, False),
        ("Percocet™", {"oxycodone", "acetaminophen"}, False),
        ("MSIR 15 mg", {"morphine"}, False),
        ("Diconal", {"dipipanone", "cyclizine"}, False),
        ("Meptid 200mg", {"meptazinol"}, False),
        ("ethylmorphine", {"ethylmorphine"}, False),
        ("piritramide", {"piritramide"}, False),
        ("Panadeine Forte", {"codeine", "acetaminophen"}, False),
        ("Mersyndol", {"codeine", "acetaminophen", "doxylamine"}, False),
        ("Endone 5 mg", {"oxycodone"}, False),
        ("Kapanol 20mg", {"morphine"}, True),
        ("Hydromorph Contin 3 mg", {"hydromorphone"}, True),
        ("M-Eslon 10 mg", {"morphine"}, True),
        ("Statex", {"morphine"}, False),
        ("Supeudol", {"oxycodone"}, False),
        ("Tridural 100 mg", {"tramadol"}, True),
        ("Zytram XL", {"tramadol"}, True),
        ("Metadol", {"methadone"}, True),
    ],
)
def test_uk_australian_canadian_and_newer_brands_are_opioids(
    brand: str, expected: set[str], long_acting: bool
) -> None:
    r = recognise(brand)
    assert ids(r) == expected, r.explanation
    assert r.is_opioid
    assert r.long_acting is long_acting


@pytest.mark.parametrize(
    ("written", "ingredient", "long_acting"),
    [
        ("oxy codone 5 mg", "oxycodone", False),
        ("hydro codone", "hydrocodone", False),
        ("Oxy-Contin 10 mg", "oxycodone", True),
        ("MSContin 30mg", "morphine", True),
        ("tramadolhcl", "tramadol", False),
        ("ultram50", "tramadol", False),
        ("oxycodoneER", "oxycodone", True),
    ],
)
def test_opioids_written_apart_or_run_together_are_still_opioids(
    written: str, ingredient: str, long_acting: bool
) -> None:
    r = recognise(written)
    assert ids(r) == {ingredient}, r.explanation
    assert r.is_opioid
    assert r.long_acting is long_acting


@pytest.mark.parametrize(
    "written", ["metho carbamol", "hydroxy zine", "oxy butynin", "oxytocin 10 units", "HCTZ25"]
)
def test_look_alikes_written_apart_or_run_together_stay_look_alikes(written: str) -> None:
    r = recognise(written)
    assert r.ingredients, r.explanation
    assert not r.is_opioid, r.explanation


LOOK_ALIKES = [
    "methylphenidate", "methocarbamol", "oxybutynin", "oxcarbazepine", "hydroxyzine",
    "hydrochlorothiazide", "oxytocin", "methylprednisolone", "metformin", "methotrexate",
    "hydrocortisone", "hydralazine", "oxymetazoline", "trazodone", "trandolapril", "bupropion",
    "cocaine", "iodine", "dextromethorphan", "Remeron", "Toradol", "morphology", "morphea",
    "hydrOXYzine", "OXcarbazepine", "methylPREDNISolone",
    # misspelt look-alikes stay look-alikes
    "methylphenidat", "metocarbamol", "oxybutinin", "oxcarbazepin", "hydroxyzin",
    "hydrochlorthiazide", "oxitocin", "methylprednisolon", "metformine",
]  # fmt: skip


@pytest.mark.parametrize("name", LOOK_ALIKES)
def test_look_alikes_are_not_opioids(name: str) -> None:
    r = recognise(name)
    assert not r.is_opioid, r.explanation
    assert not r.classes & {DrugClass.OPIOID_AGONIST, DrugClass.OPIOID_PARTIAL_AGONIST}


def test_a_misspelt_look_alike_is_read_as_the_real_drug() -> None:
    r = recognise("oxybutinin 5 mg")
    assert ids(r) == {"oxybutynin"}
    assert r.ingredients[0].how == "misspelling"


# ---- strengths, forms and release modifiers ----------------------------------------------------


@pytest.mark.parametrize(
    "text",
    ["oxycodone", "Oxycodone HCl 5 mg oral tablet", "OXYCODONE 5MG TAB",
     "oxycodone 5 mg/5 mL solution", "  oxycodone   hydrochloride  ", "oxycodone 15 mg capsule"],
)  # fmt: skip
def test_strengths_forms_and_salts_do_not_change_the_ingredient(text: str) -> None:
    r = recognise(text)
    assert ids(r) == {"oxycodone"}
    assert not r.long_acting


@pytest.mark.parametrize(
    "text",
    ["oxycodone ER 10 mg", "oxyCODONE 12 HR Extended Release Oral Tablet", "OxyContin 20 mg",
     "morphine sulfate SR", "MS Contin", "Nucynta ER", "tramadol XR", "hydromorphone 24 HR",
     "fentanyl 25 mcg/hr transdermal patch", "Duragesic", "methadone 10 mg tablet",
     "buprenorphine 2 mg sublingual tablet", "Butrans 10 mcg/hr", "Sublocade", "Suboxone"],
)  # fmt: skip
def test_long_acting_products_need_the_long_washout(text: str) -> None:
    r = recognise(text)
    assert r.is_opioid
    assert r.long_acting, r.explanation


@pytest.mark.parametrize(
    "text",
    ["oxycodone 5 mg tablet", "Percocet", "Norco", "tramadol 50 mg", "Actiq 200 mcg",
     "fentanyl citrate 50 mcg/mL injection", "codeine sulfate 30 mg", "Dilaudid 2 mg"],
)  # fmt: skip
def test_short_acting_products(text: str) -> None:
    r = recognise(text)
    assert r.is_opioid
    assert not r.long_acting, r.explanation


def test_fentanyl_without_a_form_is_assumed_to_be_a_patch() -> None:
    r = recognise("fentanyl")
    assert r.long_acting
    assert any("patch is assumed" in line for line in r.explanation)


def test_release_modifiers_do_not_make_a_non_opioid_long_acting() -> None:
    assert not recognise(
        "24 HR Metformin hydrochloride 500 MG Extended Release Oral Tablet"
    ).long_acting


@pytest.mark.parametrize(
    ("text", "mg", "unit"),
    [("naltrexone 4.5 mg", 4.5, "mg"), ("naltrexone 4.5mg", 4.5, "mg"),
     ("naltrexone 0.5 MG capsule", 0.5, "mg"), ("naltrexone 1 mg/mL", 1.0, "mg/mL"),
     ("naltrexone 50 mg / 50 mL", 1.0, "mg/mL"), ("naltrexone 1,5 mg", 1.5, "mg"),
     ("fentanyl 25 mcg/hr patch", 0.025, "mg/h")],
)  # fmt: skip
def test_strengths_are_parsed(text: str, mg: float, unit: str) -> None:
    r = recognise(text)
    assert r.strength_mg == pytest.approx(mg)
    assert r.strength_unit == unit


def test_combination_strengths_go_to_their_ingredients_in_order() -> None:
    r = recognise("Naltrexone HCl 8 MG / Bupropion HCl 90 MG Extended Release Oral Tablet")
    by_id = {m.id: m.strength_mg for m in r.ingredients}
    assert by_id == {"naltrexone": 8, "bupropion": 90}
    contrave = recognise("Contrave 8 MG / 90 MG")
    assert {m.id: m.strength_mg for m in contrave.ingredients} == {"naltrexone": 8, "bupropion": 90}
    assert contrave.strength_mg == 8


# ---- antagonists and naltrexone ---------------------------------------------------------------


@pytest.mark.parametrize("name", ["naloxone", "Narcan", "Kloxxado 8 mg nasal spray", "nalmefene"])
def test_antagonists_are_not_a_contraindication(name: str) -> None:
    r = recognise(name)
    assert r.classes == {DrugClass.OPIOID_ANTAGONIST}
    assert not r.is_opioid


def test_buprenorphine_naloxone_is_an_opioid_because_of_buprenorphine() -> None:
    r = recognise("buprenorphine-naloxone 8 mg/2 mg film")
    assert r.is_opioid
    assert DrugClass.OPIOID_ANTAGONIST in r.classes
    assert DrugClass.OPIOID_PARTIAL_AGONIST in r.classes
    assert r.long_acting


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("naltrexone 4.5 mg", "ldn"),
        ("Naltrexone 1.5 mg compounded capsule", "ldn"),
        ("LDN", "ldn"),
        ("low dose naltrexone", "ldn"),
        ("Low-Dose Naltrexone 3 mg", "ldn"),
        ("naltrexone 1 mg/mL oral liquid", "ldn"),
        ("naltrexone 50 mg", "standard"),
        ("Naltrexone Hydrochloride 50 MG Oral Tablet", "standard"),
        ("ReVia", "standard"),
        ("Depade 50 mg", "standard"),
        ("Vivitrol", "extended_release_injection"),
        ("Vivitrol 380 mg", "extended_release_injection"),
        ("naltrexone ER injection", "extended_release_injection"),
        ("naltrexone 380 mg", "extended_release_injection"),
        ("Contrave", "naltrexone_bupropion"),
        ("Mysimba 8 mg/90 mg", "naltrexone_bupropion"),
        ("naltrexone/bupropion", "naltrexone_bupropion"),
    ],
)
def test_naltrexone_products_by_kind(text: str, kind: str) -> None:
    r = recognise(text)
    assert DrugClass.NALTREXONE in r.classes
    assert r.naltrexone_kind == kind
    assert not r.is_opioid


def test_bare_naltrexone_is_naltrexone_of_unknown_kind() -> None:
    r = recognise("naltrexone")
    assert DrugClass.NALTREXONE in r.classes
    assert r.naltrexone_kind is None
    assert any("kind unknown" in line for line in r.explanation)


def test_naltrexone_between_the_ldn_band_and_the_standard_tablet_has_no_kind() -> None:
    assert recognise("naltrexone 12 mg").naltrexone_kind is None


def test_naltrexone_inside_an_opioid_product_is_not_an_ldn_product() -> None:
    r = recognise("Embeda 20 mg/0.8 mg")
    assert r.is_opioid
    assert r.naltrexone_kind is None


# ---- thyroid, gut-acting opioids, unknowns -------------------------------------------------


@pytest.mark.parametrize(
    ("name", "cls"),
    [
        ("levothyroxine 50 mcg", DrugClass.THYROID_HORMONE),
        ("Synthroid", DrugClass.THYROID_HORMONE),
        ("Levoxyl", DrugClass.THYROID_HORMONE),
        ("Unithroid", DrugClass.THYROID_HORMONE),
        ("Euthyrox", DrugClass.THYROID_HORMONE),
        ("Tirosint", DrugClass.THYROID_HORMONE),
        ("liothyronine", DrugClass.THYROID_HORMONE),
        ("Cytomel 5 mcg", DrugClass.THYROID_HORMONE),
        ("liotrix", DrugClass.THYROID_HORMONE),
        ("Armour Thyroid 60 mg", DrugClass.THYROID_HORMONE),
        ("NP Thyroid", DrugClass.THYROID_HORMONE),
        ("desiccated thyroid", DrugClass.THYROID_HORMONE),
        ("methimazole 10 mg", DrugClass.ANTITHYROID),
        ("Tapazole", DrugClass.ANTITHYROID),
        ("propylthiouracil", DrugClass.ANTITHYROID),
        ("PTU 50 mg", DrugClass.ANTITHYROID),
        ("carbimazole", DrugClass.ANTITHYROID),
    ],
)
def test_thyroid_hormones_and_antithyroid_drugs(name: str, cls: DrugClass) -> None:
    r = recognise(name)
    assert r.classes == {cls}
    assert not r.is_opioid


def test_loperamide_is_a_gut_acting_opioid_not_counted_as_an_opioid() -> None:
    r = recognise("Imodium A-D 2 mg")
    assert r.classes == {DrugClass.PERIPHERAL_OPIOID_AGONIST}
    assert not r.is_opioid
    assert "malinky-2021-loperamide" in r.sources


@pytest.mark.parametrize("name", ["xyzzy", "Qzplex 10 mg"])
def test_unknown_drug_has_no_ingredients_and_no_classes(name: str) -> None:
    r = recognise(name)
    assert r.ingredients == ()
    assert r.classes == frozenset()
    assert not r.is_opioid


@pytest.mark.parametrize("name", ["", "   ", None])
def test_no_name_and_no_code_is_an_input_error(name: str | None) -> None:
    with pytest.raises(InputError) as err:
        recognise(name)
    assert err.value.problems[0].field == "name"


def test_a_code_that_is_not_digits_is_an_input_error() -> None:
    with pytest.raises(InputError) as err:
        recognise("oxycodone", "78O4")
    assert err.value.problems[0].field == "rxnorm"


def test_results_are_cached() -> None:
    assert recognise("Percocet 10/325") is recognise("Percocet 10/325")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Percocet 5/325", {"oxycodone": 5, "acetaminophen": 325}),
        ("Norco 10/325 mg tablet", {"hydrocodone": 10, "acetaminophen": 325}),
        ("Tylenol #3 300/30", {"acetaminophen": 300, "codeine": 30}),
        ("Contrave 8/90", {"naltrexone": 8, "bupropion": 90}),
    ],
)
def test_slash_shorthand_strengths_follow_the_product_ingredient_order(
    text: str, expected: dict[str, float]
) -> None:
    assert {m.id: m.strength_mg for m in recognise(text).ingredients} == expected


def test_slash_numbers_that_do_not_fit_the_product_are_not_strengths() -> None:
    r = recognise("Ultram 1/2 tablet")
    assert r.strength_mg is None
