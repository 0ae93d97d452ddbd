"""Fibromyalgia criteria against hand-worked cases from Wolfe 2010, 2011, 2015 and 2016."""

from __future__ import annotations

from typing import Any

import pytest

from ldnkit.domain.criteria import (
    PAIN_AREAS,
    Acr2010Result,
    Acr2011Result,
    Acr2016Result,
    CriterionResult,
    evaluate,
    psd_band,
)

# Areas in four different 2016 regions first, so that the first n areas reach min(n, 4)
# regions when n <= 4; the rest add areas without adding regions.
SPREAD = [
    "shoulder_girdle_left",
    "shoulder_girdle_right",
    "hip_left",
    "hip_right",
    "upper_arm_left",
    "upper_arm_right",
    "upper_leg_left",
    "upper_leg_right",
    "lower_arm_left",
]


def acr2010_input(wpi: int, ss: int, **overrides: Any) -> dict[str, Any]:
    """SS split as fatigue, waking unrefreshed, cognitive, somatic (each 0-3)."""
    parts = [min(3, max(0, ss - 3 * i)) for i in range(4)]
    data = {
        "pain_areas": SPREAD[:wpi] if wpi <= len(SPREAD) else _areas(wpi),
        "fatigue": parts[0],
        "waking_unrefreshed": parts[1],
        "cognitive": parts[2],
        "somatic": parts[3],
        "duration_months": 6,
        "other_explanation": False,
    }
    return data | overrides


def checklist_input(wpi: int, sss: int, **overrides: Any) -> dict[str, Any]:
    """SSS split as fatigue, waking, cognitive (0-3 each) and the 0-3 symptom checklist."""
    parts = [min(3, max(0, sss - 3 * i)) for i in range(4)]
    data = {
        "pain_areas": SPREAD[:wpi] if wpi <= len(SPREAD) else _areas(wpi),
        "fatigue": parts[0],
        "waking_unrefreshed": parts[1],
        "cognitive": parts[2],
        "headache": parts[3] >= 1,
        "lower_abdominal_pain": parts[3] >= 2,
        "depression": parts[3] >= 3,
        "duration_months": 6,
        "other_explanation": False,
    }
    return data | overrides


def _areas(n: int) -> list[str]:
    rest = [a for a in PAIN_AREAS if a not in SPREAD]
    return (SPREAD + rest)[:n]


def acr2010(data: dict[str, Any]) -> Acr2010Result:
    result = evaluate("acr2010", data)
    assert isinstance(result, Acr2010Result)
    return result


def acr2011(data: dict[str, Any]) -> Acr2011Result:
    result = evaluate("acr2011", data)
    assert isinstance(result, Acr2011Result)
    return result


def acr2016(data: dict[str, Any]) -> Acr2016Result:
    result = evaluate("acr2016", data)
    assert isinstance(result, Acr2016Result)
    return result


def criterion(
    result: Acr2010Result | Acr2011Result | Acr2016Result, criterion_id: str
) -> CriterionResult:
    return next(c for c in result.criteria if c.id == criterion_id)


# ACR 2010 ------------------------------------------------------------------------------


def test_acr2010_wpi7_ss5_for_three_months_is_met() -> None:
    result = acr2010(acr2010_input(7, 5, duration_months=3))
    assert (result.met, result.wpi, result.sss) == (True, 7, 5)
    assert all(c.passed for c in result.criteria)
    assert "meets WPI ≥ 7 and SS ≥ 5" in criterion(result, "pain-and-severity").detail


def test_acr2010_wpi6_ss5_fails_both_arms_and_says_why() -> None:
    result = acr2010(acr2010_input(6, 5))
    severity = criterion(result, "pain-and-severity")
    assert not result.met
    assert not severity.passed
    assert "WPI 6 is below 7" in severity.detail
    assert "SS 5 is below 9" in severity.detail


def test_acr2010_wpi6_ss9_is_met_by_the_second_arm() -> None:
    result = acr2010(acr2010_input(6, 9))
    assert result.met
    assert "meets WPI 3-6 and SS ≥ 9" in criterion(result, "pain-and-severity").detail


@pytest.mark.parametrize(("wpi", "met"), [(2, False), (3, True)])
def test_acr2010_lower_wpi_band_starts_at_3(wpi: int, met: bool) -> None:
    assert acr2010(acr2010_input(wpi, 12)).met is met


@pytest.mark.parametrize(("ss", "met"), [(8, False), (9, True)])
def test_acr2010_ss_8_vs_9_with_wpi_in_the_lower_band(ss: int, met: bool) -> None:
    assert acr2010(acr2010_input(5, ss)).met is met


@pytest.mark.parametrize(("ss", "met"), [(4, False), (5, True)])
def test_acr2010_ss_4_vs_5_with_wpi_7(ss: int, met: bool) -> None:
    assert acr2010(acr2010_input(7, ss)).met is met


@pytest.mark.parametrize(("months", "met"), [(2.9, False), (3, True)])
def test_acr2010_needs_three_months(months: float, met: bool) -> None:
    result = acr2010(acr2010_input(10, 8, duration_months=months))
    assert result.met is met
    assert criterion(result, "duration").passed is met


def test_acr2010_another_explanation_excludes_fibromyalgia() -> None:
    result = acr2010(acr2010_input(12, 10, other_explanation=True))
    assert not result.met
    assert not criterion(result, "no-other-explanation").passed
    assert criterion(result, "pain-and-severity").passed


def test_acr2010_counts_jaw_chest_and_abdomen_in_the_wpi() -> None:
    data = acr2010_input(0, 9, pain_areas=["jaw_left", "jaw_right", "chest", "abdomen"])
    result = acr2010(data)
    assert result.wpi == 4
    assert result.met


# 2011 modification ---------------------------------------------------------------------


def test_acr2011_uses_the_symptom_checklist_for_the_somatic_part() -> None:
    data = checklist_input(7, 0, fatigue=2, waking_unrefreshed=1, cognitive=0)
    data |= {"headache": True, "lower_abdominal_pain": False, "depression": True}
    result = acr2011(data)
    # 2 + 1 + 0 + (headache + depression = 2) = 5; FS = 7 + 5 = 12.
    assert (result.sss, result.psd, result.psd_band, result.met) == (5, 12, "severe", True)


def test_acr2011_keeps_the_2010_lower_band_wpi3_ss9_met() -> None:
    assert acr2011(checklist_input(3, 9)).met


def test_acr2011_keeps_the_2010_exclusion_of_other_explanations() -> None:
    result = acr2011(checklist_input(9, 9, other_explanation=True))
    assert not result.met
    assert not criterion(result, "no-other-explanation").passed


@pytest.mark.parametrize(("sss", "fs", "cutoff_met"), [(6, 12, False), (7, 13, True)])
def test_acr2011_fs_12_vs_13(sss: int, fs: int, cutoff_met: bool) -> None:
    result = acr2011(checklist_input(6, sss))
    assert (result.psd, result.fs_cutoff_met) == (fs, cutoff_met)
    # The FS cut-off is reported, not used: WPI 6 needs SS 9 whatever the FS.
    assert not result.met


@pytest.mark.parametrize(
    ("psd", "band"),
    [
        (0, "none"),
        (3, "none"),
        (4, "mild"),
        (7, "mild"),
        (8, "moderate"),
        (11, "moderate"),
        (12, "severe"),
        (19, "severe"),
        (20, "very severe"),
        (31, "very severe"),
    ],
)
def test_psd_band_edges(psd: int, band: str) -> None:
    assert psd_band(psd) == band


def test_psd_band_of_a_result_matches_its_fs() -> None:
    # WPI 11 + SSS 9 = 20: the first "very severe" score.
    result = acr2011(checklist_input(11, 9))
    assert (result.psd, result.psd_band) == (20, "very severe")


def test_psd_outside_0_to_31_is_refused() -> None:
    with pytest.raises(ValueError, match="outside"):
        psd_band(32)


# 2016 revision -------------------------------------------------------------------------


def test_acr2016_wpi3_ss9_is_not_met_though_2010_and_2011_are() -> None:
    data = checklist_input(3, 9)
    result = acr2016(data)
    assert not result.met
    severity = criterion(result, "pain-and-severity")
    assert not severity.passed
    assert "WPI 3 is below 4" in severity.detail
    assert acr2011(data).met


def test_acr2016_wpi4_ss9_in_four_regions_is_met() -> None:
    result = acr2016(checklist_input(4, 9))
    assert (result.wpi, result.regions, result.met) == (4, 4, True)


def test_acr2016_wpi4_ss9_in_three_regions_is_not_met() -> None:
    areas = ["shoulder_girdle_left", "upper_arm_left", "hip_left", "hip_right"]
    result = acr2016(checklist_input(4, 9, pain_areas=areas))
    assert (result.wpi, result.regions, result.met) == (4, 3, False)
    assert criterion(result, "pain-and-severity").passed
    assert not criterion(result, "generalized-pain").passed


@pytest.mark.parametrize(("sss", "met"), [(8, False), (9, True)])
def test_acr2016_ss_8_vs_9_with_wpi_in_the_lower_band(sss: int, met: bool) -> None:
    assert acr2016(checklist_input(6, sss)).met is met


@pytest.mark.parametrize(("extra", "regions", "met"), [([], 3, False), (["neck"], 4, True)])
def test_acr2016_three_vs_four_regions(extra: list[str], regions: int, met: bool) -> None:
    areas = ["shoulder_girdle_left", "upper_arm_left", "lower_arm_left", "hip_left"]
    areas += ["upper_leg_left", "hip_right", "lower_leg_right", *extra]
    result = acr2016(checklist_input(0, 6, pain_areas=areas))
    assert (result.regions, result.met) == (regions, met)


def test_acr2016_jaw_chest_and_abdomen_add_no_region() -> None:
    # Right upper has only the jaw and the axial region only chest and abdomen: neither counts.
    areas = ["jaw_left", "jaw_right", "chest", "abdomen", "shoulder_girdle_left"]
    areas += ["hip_left", "hip_right"]
    result = acr2016(checklist_input(0, 6, pain_areas=areas))
    assert result.wpi == 7
    assert result.regions == 3
    assert not result.met
    by_id = {r.id: r for r in result.region_breakdown}
    assert not by_id["right_upper"].has_pain
    assert by_id["right_upper"].uncounted_painful_areas == ("jaw_right",)
    assert not by_id["axial"].has_pain
    assert set(by_id["axial"].uncounted_painful_areas) == {"chest", "abdomen"}
    assert "not counted: Jaw, left; Jaw, right; Chest; Abdomen" in (
        criterion(result, "generalized-pain").detail
    )


def test_acr2016_holds_irrespective_of_other_diagnoses() -> None:
    result = acr2016(checklist_input(8, 6, other_explanation=True))
    assert result.met
    assert "no-other-explanation" not in {c.id for c in result.criteria}
    assert "exclusion-ignored-2016" in {n.id for n in result.notes}


def test_acr2016_accepts_input_without_other_explanation() -> None:
    data = checklist_input(8, 6)
    del data["other_explanation"]
    assert acr2016(data).met


def test_every_fibromyalgia_result_cites_its_criteria_paper() -> None:
    assert "wolfe-2010" in acr2010(acr2010_input(7, 5)).sources
    assert "wolfe-2011" in acr2011(checklist_input(7, 5)).sources
    result = acr2016(checklist_input(7, 5))
    assert {"wolfe-2016", "wolfe-2015-psd"} <= set(result.sources)
