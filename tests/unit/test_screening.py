"""The safety screen, rule by rule, with the worked cases of its sources."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ldnkit.domain.profile import PatientProfile
from ldnkit.domain.screening import SEVERITY_RANK, Screening, screen
from ldnkit.knowledge import knowledge_base

AS_OF = dt.date(2026, 11, 23)

# A patient whose liver, kidney and pregnancy status and medication list are recorded, so each
# test sees only the findings of the rule it is about (unrecorded status is a finding too).
RECORDED: dict[str, Any] = {
    "liver": "normal",
    "kidney": "normal",
    "pregnant": False,
    "medications": [{"name": "lisinopril 10 MG Oral Tablet", "status": "active"}],
}


def run(**fields: Any) -> Screening:
    return screen(PatientProfile.model_validate({"as_of": AS_OF.isoformat(), **RECORDED, **fields}))


def rules(result: Screening) -> list[str]:
    return [f.rule for f in result.findings]


def active(name: str) -> dict[str, Any]:
    return {"name": name, "status": "active"}


def stopped(name: str, last_dose: dt.date | None) -> dict[str, Any]:
    med: dict[str, Any] = {"name": name, "status": "stopped"}
    if last_dose is not None:
        med["last_dose"] = last_dose.isoformat()
    return med


def test_patient_with_fibromyalgia_only_is_eligible_today() -> None:
    result = run(conditions=["fibromyalgia"], liver="normal", kidney="normal", alcohol="none")
    assert result.verdict == "eligible"
    assert result.earliest_start == AS_OF
    assert result.findings == ()


def test_active_tramadol_blocks_start() -> None:
    result = run(medications=[active("Ultram 50 mg")])
    assert result.verdict == "contraindicated"
    assert result.earliest_start is None
    (finding,) = [f for f in result.findings if f.rule == "opioid-active"]
    assert finding.severity == "contraindicated"
    assert finding.subject == "Ultram 50 mg"
    assert "tramadol" in finding.message.lower()
    assert "fda-revia-label" in finding.sources


@pytest.mark.parametrize(
    "name",
    [
        "Percocet 5/325",
        "Norco 10-325",
        "Tylenol #3",
        "Ultracet",
        "promethazine with codeine syrup",
        "Suboxone 8 mg/2 mg film",
        "oxyCODONE 5 mg tablet",
        "oxycodon",
        "methadone 10 mg",
        "Duragesic 25 mcg/hr patch",
        "Meperidine Hydrochloride 50 MG Oral Tablet",
    ],
)
def test_every_opioid_form_blocks_start(name: str) -> None:
    result = run(medications=[active(name)])
    assert result.verdict == "contraindicated", name
    assert "opioid-active" in rules(result)


def test_opioid_given_only_as_rxnorm_code_blocks_start() -> None:
    result = run(medications=[{"rxnorm": "7804", "status": "active"}])
    assert rules(result)[0] == "opioid-active"
    assert result.findings[0].subject == "RxNorm 7804"


def test_naloxone_alone_is_not_a_contraindication() -> None:
    result = run(medications=[active("Narcan 4 mg nasal spray")])
    assert result.verdict != "contraindicated"
    assert "opioid-active" not in rules(result)


def test_loperamide_is_information_not_a_contraindication() -> None:
    result = run(medications=[active("Imodium 2 mg")])
    assert rules(result) == ["opioid-peripheral"]
    assert result.verdict == "eligible"
    assert "malinky-2021-loperamide" in result.findings[0].sources


def test_stopped_oxycodone_three_days_ago_waits_until_day_seven() -> None:
    result = run(medications=[stopped("oxycodone 5 mg", AS_OF - dt.timedelta(days=3))])
    assert result.verdict == "wait"
    assert result.earliest_start == dt.date(2026, 11, 27)
    (finding,) = result.findings
    assert finding.rule == "opioid-washout"
    assert "2026-11-27" in finding.message


def test_short_acting_washout_ends_on_day_seven() -> None:
    last = AS_OF - dt.timedelta(days=7)
    assert run(medications=[stopped("tramadol", last)]).verdict == "eligible"
    last = AS_OF - dt.timedelta(days=6)
    assert run(medications=[stopped("tramadol", last)]).verdict == "wait"


def test_long_acting_opioid_needs_ten_days() -> None:
    result = run(medications=[stopped("OxyContin 20 mg ER", AS_OF - dt.timedelta(days=7))])
    assert result.verdict == "wait"
    assert result.earliest_start == AS_OF + dt.timedelta(days=3)


@pytest.mark.parametrize("name", ["methadone 10 mg", "buprenorphine 8 mg sublingual"])
def test_maintenance_opioids_need_two_weeks(name: str) -> None:
    result = run(medications=[stopped(name, AS_OF - dt.timedelta(days=10))])
    assert result.verdict == "wait"
    assert result.earliest_start == AS_OF + dt.timedelta(days=4)


def test_stopped_opioid_without_last_dose_waits_for_the_date() -> None:
    # Issue 8 changed this from a caution with a start date of today: the start cannot be dated.
    result = run(medications=[stopped("hydrocodone", None)])
    assert result.verdict == "wait"
    assert result.earliest_start is None
    assert rules(result) == ["opioid-washout-undated"]
    message = result.findings[0].message
    assert "date of the last dose" in message
    assert "7 to 10 days" in message
    assert "14 days after methadone or buprenorphine" in message
    assert "urine opioid screen" in message


def test_contract_example_profile() -> None:
    result = run(
        age=47,
        sex="female",
        conditions=["fibromyalgia", "M79.7", {"system": "icd10cm", "code": "G93.32"}],
        medications=[
            {"name": "Ultram 50 mg", "status": "active"},
            {"rxnorm": "7804", "status": "stopped", "last_dose": "2026-11-20"},
        ],
        allergies=[],
        pregnant=False,
        breastfeeding=False,
        liver="normal",
        kidney="normal",
        alcohol="none",
        planned_procedures=[
            {"date": "2026-12-10", "opioids_expected": True, "name": "knee arthroscopy"}
        ],
    )
    assert result.verdict == "contraindicated"
    assert result.earliest_start is None
    assert rules(result) == ["opioid-active", "opioid-washout", "procedure-hold"]


def test_procedure_hold_names_last_dose_and_restart() -> None:
    result = run(
        planned_procedures=[{"date": "2026-12-10", "opioids_expected": True, "name": "knee"}]
    )
    assert result.verdict == "caution"
    (finding,) = result.findings
    assert finding.rule == "procedure-hold"
    assert "2026-12-07" in finding.message  # 3 days before
    assert "2026-12-08" in finding.message  # 2 days before, at the latest
    assert "restart" in finding.message.lower()
    assert "whately-stead-2023" in finding.sources
    # What to do if opioids are needed anyway, and the risk after naltrexone is stopped.
    assert "emergency surgery" in finding.message
    assert "higher than usual" in finding.message
    assert "more sensitive to opioids" in finding.message
    assert {"fda-revia-label", "fda-2013-hepatotoxicity-change"} <= set(finding.sources)


def test_procedure_without_opioids_or_in_the_past_needs_no_hold() -> None:
    result = run(
        planned_procedures=[
            {"date": "2026-12-10", "opioids_expected": False},
            {"date": "2026-11-01", "opioids_expected": True},
        ]
    )
    assert result.verdict == "eligible"


@pytest.mark.parametrize("state", ["acute_hepatitis", "decompensated_cirrhosis"])
def test_acute_liver_disease_is_a_contraindication_and_the_label_change_is_shown(
    state: str,
) -> None:
    result = run(liver=state)
    assert result.verdict == "contraindicated"
    (finding,) = result.findings
    assert finding.rule == "liver-acute"
    assert "2013" in finding.message
    assert "fda-2013-hepatotoxicity-change" in finding.sources


def test_chronic_liver_disease_is_a_caution() -> None:
    assert rules(run(liver="chronic_disease")) == ["liver-chronic"]
    assert run(liver="chronic_disease").verdict == "caution"


def test_impaired_kidneys_are_a_caution() -> None:
    assert rules(run(kidney="impaired")) == ["kidney-impaired"]


def test_pregnancy_shows_both_source_positions() -> None:
    result = run(pregnant=True)
    (finding,) = result.findings
    assert finding.rule == "pregnancy"
    assert {"seed-002", "seed-000", "fda-revia-label"} <= set(finding.sources)
    assert "not safe" in finding.message


def test_breastfeeding_is_a_caution() -> None:
    assert rules(run(breastfeeding=True)) == ["breastfeeding"]


def test_levothyroxine_asks_for_thyroid_monitoring() -> None:
    result = run(medications=[active("Synthroid 100 mcg")])
    assert rules(result) == ["thyroid-medication"]
    assert "raknes-2020" in result.findings[0].sources


def test_hashimoto_by_code_asks_for_thyroid_monitoring() -> None:
    result = run(conditions=[{"system": "icd10cm", "code": "E06.3"}])
    assert rules(result) == ["thyroid-medication"]
    # A bare code means little to a reader: the finding names what it was recognised as.
    assert result.findings[0].subject == "ICD10CM E06.3 (Hashimoto's thyroiditis)"


def test_a_condition_named_as_written_is_not_named_twice() -> None:
    (finding,) = run(conditions=["Multiple sclerosis"]).findings
    assert finding.subject == "Multiple sclerosis"
    assert finding.message.startswith("Multiple sclerosis: ")


def test_heavy_alcohol_is_a_caution() -> None:
    assert rules(run(alcohol="heavy")) == ["alcohol"]


@pytest.mark.parametrize("name", ["Contrave 8 mg/90 mg", "ReVia 50 mg", "Vivitrol 380 mg"])
def test_other_naltrexone_products_are_flagged(name: str) -> None:
    result = run(medications=[active(name)])
    assert rules(result) == ["not-ldn-product"]
    assert result.verdict == "caution"


def test_patient_already_on_ldn_is_told_so() -> None:
    result = run(medications=[active("naltrexone 4.5 mg capsule")])
    assert rules(result) == ["already-on-ldn"]
    assert result.verdict == "eligible"


def test_naltrexone_allergy_is_a_contraindication() -> None:
    result = run(allergies=["naltrexone"])
    assert result.verdict == "contraindicated"
    assert rules(result) == ["hypersensitivity"]


def test_crohns_disease_shows_the_guideline_against_and_the_conflict() -> None:
    result = run(conditions=["Crohn's disease"])
    (finding,) = result.findings
    assert finding.rule == "condition-not-recommended"
    assert finding.severity == "caution"
    coded = run(conditions=[{"system": "icd10cm", "code": "K50.90"}])
    assert rules(coded) == ["condition-not-recommended"]


def test_multiple_sclerosis_is_information_only() -> None:
    result = run(conditions=["multiple sclerosis"])
    assert rules(result) == ["condition-limited-evidence"]
    assert result.verdict == "eligible"


def test_same_condition_as_text_and_code_is_reported_once() -> None:
    result = run(conditions=["Crohn's disease", {"system": "icd10cm", "code": "K50.90"}])
    assert rules(result) == ["condition-not-recommended"]


def test_unknown_medication_is_never_a_clean_pass() -> None:
    # It could be an opioid under a name the lexicon does not know.
    result = run(medications=[active("zzqx-unheard-of 10 mg")])
    assert rules(result) == ["medication-unrecognised"]
    assert result.verdict == "caution"


def test_an_unknown_medication_stopped_long_ago_needs_no_check() -> None:
    long_ago = AS_OF - dt.timedelta(days=30)
    assert run(medications=[stopped("zzqx-unheard-of 10 mg", long_ago)]).verdict == "eligible"


def test_an_unknown_medication_stopped_recently_is_a_caution() -> None:
    # Issue 8: it could be an opioid whose opioid-free interval has not passed (was eligible).
    result = run(medications=[stopped("zzqx-unheard-of 10 mg", AS_OF - dt.timedelta(days=3))])
    assert rules(result) == ["medication-unrecognised"]
    assert "opioid-free interval may not have passed" in result.findings[0].message


def test_findings_are_listed_most_severe_first() -> None:
    result = run(kidney="impaired", liver="acute_hepatitis", medications=[active("tramadol")])
    ranks = [SEVERITY_RANK[f.severity] for f in result.findings]
    assert ranks == sorted(ranks, reverse=True)


def test_every_finding_cites_known_sources() -> None:
    result = run(
        medications=[active("Percocet"), stopped("morphine", AS_OF), active("Contrave")],
        liver="chronic_disease",
        kidney="impaired",
        pregnant=True,
        breastfeeding=True,
        alcohol="heavy",
        allergies=["naltrexone"],
        conditions=["Crohn's disease", "multiple sclerosis", "Graves' disease"],
        planned_procedures=[{"date": "2026-12-01", "opioids_expected": True}],
    )
    kb = knowledge_base()
    assert len(result.findings) >= 10
    for finding in result.findings:
        assert finding.sources
        for source in finding.sources:
            assert source in kb.sources, (finding.rule, source)


def test_json_output_has_exactly_the_contract_keys() -> None:
    data = run(medications=[stopped("tramadol", AS_OF)]).model_dump(mode="json")
    assert set(data) == {"verdict", "earliest_start", "findings"}
    assert data["earliest_start"] == "2026-11-30"
    assert set(data["findings"][0]) == {"rule", "severity", "subject", "message", "sources"}


_FIELDS = st.fixed_dictionaries(
    {},
    optional={
        "liver": st.sampled_from(
            ["normal", "chronic_disease", "acute_hepatitis", "decompensated_cirrhosis", "unknown"]
        ),
        "kidney": st.sampled_from(["normal", "impaired", "severe", "unknown"]),
        "alcohol": st.sampled_from(["none", "moderate", "heavy", "unknown"]),
        "pregnant": st.booleans(),
        "breastfeeding": st.booleans(),
        "medications": st.lists(
            st.builds(
                lambda name, days: (
                    stopped(name, AS_OF - dt.timedelta(days=days)) if days >= 0 else active(name)
                ),
                st.sampled_from(["tramadol", "OxyContin", "levothyroxine", "lisinopril"]),
                st.integers(-1, 20),
            ),
            max_size=3,
        ),
    },
)


@given(_FIELDS)
@settings(max_examples=150, deadline=None)
def test_verdict_is_the_most_severe_finding(fields: dict[str, Any]) -> None:
    result = run(**fields)
    worst = max((SEVERITY_RANK[f.severity] for f in result.findings), default=0)
    expected = {0: "eligible", 1: "caution", 2: "wait", 3: "contraindicated"}[worst]
    assert result.verdict == expected
    if result.verdict == "contraindicated":
        assert result.earliest_start is None
    else:
        assert result.earliest_start is not None
        assert result.earliest_start >= AS_OF
        assert (result.earliest_start > AS_OF) == (result.verdict == "wait")


def test_placeholder_dates_at_the_calendars_ends_are_screened_not_crashed() -> None:
    # EHR exports use 0001-01-01 and 9999-12-31 as "unknown"; washout and hold arithmetic
    # must stay within the calendar and still report what applies.
    late = screen(
        PatientProfile.model_validate(
            {
                **RECORDED,
                "as_of": "9999-12-31",
                "medications": [stopped("oxycodone", dt.date(9999, 12, 30))],
            }
        )
    )
    assert late.verdict == "wait"
    assert rules(late) == ["opioid-washout"]
    assert late.earliest_start == dt.date.max
    early = screen(
        PatientProfile.model_validate(
            {
                **RECORDED,
                "as_of": "0001-01-01",
                "planned_procedures": [{"date": "0001-01-02", "opioids_expected": True}],
            }
        )
    )
    # The procedure is inside the hold window: a wait until after it (issue 8).
    assert rules(early) == ["procedure-hold-window"]
    assert "0001-01-02" in early.findings[0].message
    assert early.earliest_start == dt.date(1, 1, 9)


@pytest.mark.parametrize(
    ("condition", "rule"),
    [
        ("Crohn's disease of ileum", "condition-not-recommended"),
        ("Crohn's colitis", "condition-not-recommended"),
        ("hepatitis C", "liver-chronic"),
        ("chronic hepatitis B", "liver-chronic"),
        ("CKD stage 4", "kidney-impaired"),
        ("chronic renal failure", "kidney-impaired"),
    ],
)
def test_common_free_text_names_agree_with_their_codes(condition: str, rule: str) -> None:
    # K50.0, B18.x and N18.4 are flagged by code; the same diagnosis typed as text must be too.
    assert rule in rules(run(conditions=[condition]))
