"""What the screen cannot read is never a clean pass: the worked examples of issue 8.

Medication names with words the lexicon does not know, abbreviations with several meanings,
codes it cannot resolve or that disagree with the name, an empty medication list, unrecorded
liver, kidney and pregnancy status, and conditions the knowledge base does not know.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from ldnkit.domain.profile import PatientProfile
from ldnkit.domain.screening import Finding, Screening, screen

AS_OF = dt.date(2026, 11, 23)
RECORDED: dict[str, Any] = {"liver": "normal", "kidney": "normal", "pregnant": False}


def run(**fields: Any) -> Screening:
    return screen(PatientProfile.model_validate({"as_of": AS_OF.isoformat(), **RECORDED, **fields}))


def taking(*names: str, **fields: Any) -> Screening:
    return run(medications=[{"name": n, "status": "active"} for n in names], **fields)


def only(result: Screening, rule: str) -> Finding:
    (finding,) = [f for f in result.findings if f.rule == rule]
    return finding


# ---- medication names --------------------------------------------------------------------------


def test_a_pharmacy_hydrocodone_combination_blocks_starting_ldn() -> None:
    result = taking("HYCD/APAP 5-325 MG TABLET")
    assert result.verdict == "contraindicated"
    assert "hydrocodone" in only(result, "opioid-active").message


def test_acetaminophen_with_shortened_codeine_is_not_eligible() -> None:
    result = taking("APAP/COD 300-30")
    assert result.verdict == "caution"
    finding = only(result, "medication-ambiguous")
    assert '"COD" could mean codeine (an opioid' in finding.message


@pytest.mark.parametrize(
    ("name", "verdict"),
    [("Xyzzy/acetaminophen", "caution"), ("Xyzzy/oxycodone 5 mg", "contraindicated")],
)
def test_an_unknown_word_beside_a_known_drug_is_named_and_the_opioid_check_still_runs(
    name: str, verdict: str
) -> None:
    result = taking(name)
    assert result.verdict == verdict
    assert 'the word "Xyzzy"' in only(result, "medication-unrecognised").message


def test_an_ambiguous_abbreviation_names_both_readings() -> None:
    finding = only(taking("HC 10 mg tablet"), "medication-ambiguous")
    assert finding.severity == "caution"
    assert '"HC" could mean hydrocodone or hydrocortisone' in finding.message
    assert "ismp-error-prone-abbreviations" in finding.sources


def test_buprenorphine_naloxone_written_as_pharmacies_do_blocks_starting_ldn() -> None:
    result = taking("BUP/NAL 8-2 film")
    assert result.verdict == "contraindicated"
    assert only(result, "opioid-active").message.startswith(
        "BUP/NAL 8-2 film contains buprenorphine"
    )


@pytest.mark.parametrize("name", ["tianeptine", "Sublocade", "Brixadi"])
def test_opioids_the_screen_once_missed_now_block_starting_ldn(name: str) -> None:
    assert taking(name).verdict == "contraindicated"


def test_a_misspelling_read_as_a_non_opioid_is_confirmed_not_passed() -> None:
    finding = only(taking("metformine 500 mg"), "medication-spelling")
    assert '"metformine" was read as metformin' in finding.message


# ---- codes -------------------------------------------------------------------------------------


def test_an_unknown_code_beside_a_recognised_name_is_a_caution_naming_the_code() -> None:
    result = run(medications=[{"name": "acetaminophen 500 mg", "rxnorm": "99999999"}])
    assert result.verdict == "caution"
    assert "RxNorm code 99999999" in only(result, "medication-unrecognised").message


def test_a_code_and_a_name_for_different_drugs_is_a_conflict_and_the_opioid_blocks() -> None:
    result = run(medications=[{"name": "acetaminophen 500 mg", "rxnorm": "7804"}])
    assert result.verdict == "contraindicated"
    conflict = only(result, "medication-code-conflict")
    assert "means oxycodone, but the name reads as acetaminophen" in conflict.message


def test_a_value_set_product_code_alone_blocks_starting_ldn() -> None:
    result = run(medications=[{"rxnorm": "1049216"}])  # Endocet 10/325 in the CDC value sets
    assert result.verdict == "contraindicated"
    assert "cdc-opioid-valuesets" in only(result, "opioid-active").sources


# ---- the medication list itself ----------------------------------------------------------------


@pytest.mark.parametrize("medications", [[], None])
def test_no_medications_recorded_asks_to_confirm_no_opioid_of_any_kind(
    medications: list[Any] | None,
) -> None:
    fields: dict[str, Any] = {"as_of": AS_OF.isoformat(), **RECORDED}
    if medications is not None:
        fields["medications"] = medications
    result = screen(PatientProfile.model_validate(fields))
    finding = only(result, "medications-none-recorded")
    assert finding.severity == "caution"
    for kind in ("over-the-counter codeine", "kratom", "illicit"):
        assert kind in finding.message
    assert {"fda-revia-label", "fda-kratom-2018"} <= set(finding.sources)


def test_nothing_recorded_at_all_is_not_a_green_eligible() -> None:
    result = screen(PatientProfile.model_validate({"as_of": AS_OF.isoformat()}))
    assert result.verdict == "caution"
    rules = [f.rule for f in result.findings]
    assert rules == [
        "medications-none-recorded",
        "liver-not-recorded",
        "kidney-not-recorded",
        "pregnancy-not-recorded",
    ]
    for finding in result.findings[1:]:
        assert finding.subject.endswith("not recorded")
        assert "normal" not in finding.message


def test_status_recorded_by_a_condition_is_not_called_unrecorded() -> None:
    result = screen(
        PatientProfile.model_validate(
            {
                "as_of": AS_OF.isoformat(),
                "medications": [{"name": "lisinopril"}],
                "conditions": ["chronic kidney disease", "hepatitis C", "pregnancy"],
            }
        )
    )
    rules = {f.rule for f in result.findings}
    assert not rules & {"liver-not-recorded", "kidney-not-recorded", "pregnancy-not-recorded"}


def test_pregnancy_is_not_asked_of_a_man() -> None:
    result = screen(
        PatientProfile.model_validate(
            {"as_of": AS_OF.isoformat(), "sex": "male", "medications": [{"name": "lisinopril"}]}
        )
    )
    assert "pregnancy-not-recorded" not in {f.rule for f in result.findings}


# ---- kidney, naltrexone, conditions ------------------------------------------------------------


def test_severe_kidney_impairment_shows_both_the_uk_and_the_us_position() -> None:
    result = taking("lisinopril", kidney="severe")
    finding = only(result, "kidney-severe")
    assert finding.severity == "caution"
    assert "UK product information" in finding.message
    assert "US label" in finding.message
    assert {"uk-smpc-naltrexone", "fda-revia-label"} <= set(finding.sources)


@pytest.mark.parametrize("name", ["naltrexone 4.5 mg SR capsule", "LDN 3 mg ER capsule"])
def test_slow_release_naltrexone_is_flagged_as_not_the_ldn_form(name: str) -> None:
    finding = only(taking(name), "ldn-slow-release")
    assert finding.severity == "caution"
    assert "seed-004" in finding.sources


def test_immediate_release_ldn_is_not_flagged_as_slow_release() -> None:
    assert [f.rule for f in taking("naltrexone 4.5 mg capsule").findings] == ["already-on-ldn"]


def test_a_condition_the_knowledge_base_does_not_know_is_named() -> None:
    result = taking("lisinopril", conditions=["hypertension"])
    finding = only(result, "condition-unrecognised")
    assert finding.severity == "info"
    assert finding.subject == "hypertension"
    assert result.verdict == "eligible"


def test_a_code_the_knowledge_base_does_not_list_is_not_called_unrecognised() -> None:
    result = taking("lisinopril", conditions=["I10", {"system": "icd10cm", "code": "I10"}])
    assert result.findings == ()


@pytest.mark.parametrize("written", ["crohn", "crohns", "Crohn's", "CROHN"])
def test_short_forms_of_crohns_disease_are_recognised(written: str) -> None:
    result = taking("lisinopril", conditions=[written])
    assert [f.rule for f in result.findings] == ["condition-not-recommended"]
