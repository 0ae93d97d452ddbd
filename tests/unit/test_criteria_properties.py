"""Invariants of the calculators, checked on generated answers (hypothesis)."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from ldnkit.domain.criteria import (
    PAIN_AREAS,
    Acr2010Result,
    Acr2011Result,
    Acr2016Result,
    FiqrResult,
    evaluate,
)

AREA_IDS = list(PAIN_AREAS)
UNCOUNTED = ["jaw_left", "jaw_right", "chest", "abdomen"]
score03 = st.integers(min_value=0, max_value=3)
areas = st.lists(st.sampled_from(AREA_IDS), unique=True)


def fibromyalgia(name: str, data: dict[str, Any]) -> Acr2010Result | Acr2011Result | Acr2016Result:
    result = evaluate(name, data)
    assert isinstance(result, Acr2010Result | Acr2011Result | Acr2016Result)
    return result


def fiqr(data: dict[str, Any]) -> FiqrResult:
    result = evaluate("fiqr", data)
    assert isinstance(result, FiqrResult)
    return result


@st.composite
def checklist_inputs(draw: st.DrawFn) -> dict[str, Any]:
    return {
        "pain_areas": draw(areas),
        "fatigue": draw(score03),
        "waking_unrefreshed": draw(score03),
        "cognitive": draw(score03),
        "headache": draw(st.booleans()),
        "lower_abdominal_pain": draw(st.booleans()),
        "depression": draw(st.booleans()),
        "duration_months": draw(st.integers(min_value=0, max_value=24)),
        "other_explanation": draw(st.booleans()),
    }


answer = st.integers(min_value=0, max_value=10) | st.sampled_from([0.5, 2.5, 7.5, 9.9])


@st.composite
def fiqr_inputs(draw: st.DrawFn, missing: bool = False) -> dict[str, Any]:
    item = (answer | st.none()) if missing else answer
    return {
        "function": draw(st.lists(item, min_size=9, max_size=9)),
        "overall": draw(st.lists(item, min_size=2, max_size=2)),
        "symptoms": draw(st.lists(item, min_size=10, max_size=10)),
    }


@settings(max_examples=60)
@given(checklist_inputs(), st.sampled_from(["acr2011", "acr2016"]))
def test_wpi_is_the_number_of_areas_and_sss_stays_in_0_to_12(
    data: dict[str, Any], name: str
) -> None:
    result = evaluate(name, data)
    assert isinstance(result, Acr2011Result | Acr2016Result)
    assert result.wpi == len(data["pain_areas"])
    assert 0 <= result.sss <= 12
    assert result.psd == result.wpi + result.sss
    assert result.met == all(c.passed for c in result.criteria)


@settings(max_examples=60)
@given(checklist_inputs(), st.sampled_from(["acr2010", "acr2011", "acr2016"]))
def test_more_pain_or_symptoms_never_turns_a_met_verdict_into_not_met(
    data: dict[str, Any], name: str
) -> None:
    if name == "acr2010":
        data = {k: v for k, v in data.items() if k not in ("headache", "lower_abdominal_pain")}
        data["somatic"] = 3 if data.pop("depression") else 0
    before = fibromyalgia(name, data).met
    worse = data | {"pain_areas": AREA_IDS, "fatigue": 3}
    assert fibromyalgia(name, worse).met or not before


@settings(max_examples=60)
@given(checklist_inputs())
def test_jaw_chest_and_abdomen_never_change_the_2016_region_count(data: dict[str, Any]) -> None:
    counted = [a for a in data["pain_areas"] if a not in UNCOUNTED]
    without = evaluate("acr2016", data | {"pain_areas": counted})
    with_all = evaluate("acr2016", data | {"pain_areas": counted + UNCOUNTED})
    assert isinstance(without, Acr2016Result)
    assert isinstance(with_all, Acr2016Result)
    assert without.regions == with_all.regions <= 5
    assert with_all.wpi == without.wpi + len(UNCOUNTED)


@settings(max_examples=80)
@given(fiqr_inputs(), st.data())
def test_fiqr_total_is_in_0_to_100_and_rises_with_every_item(
    data: dict[str, Any], draw: st.DataObject
) -> None:
    result = fiqr(data)
    assert result.total is not None
    assert 0 <= result.total <= 100
    domain = draw.draw(st.sampled_from(["function", "overall", "symptoms"]))
    index = draw.draw(st.integers(min_value=0, max_value=len(data[domain]) - 1))
    raised = list(data[domain])
    raised[index] = max(raised[index], draw.draw(st.integers(min_value=0, max_value=10)))
    higher = fiqr(data | {domain: raised})
    assert higher.total is not None
    assert higher.total >= result.total
    assert getattr(higher, domain) >= getattr(result, domain)


@settings(max_examples=60)
@given(fiqr_inputs(missing=True))
def test_fiqr_with_unanswered_items_scores_only_under_the_stated_policy(
    data: dict[str, Any],
) -> None:
    result = fiqr(data)
    unanswered = {d: data[d].count(None) for d in ("function", "overall", "symptoms")}
    assert (result.total is not None) == all(n <= 1 for n in unanswered.values())
    if result.total is not None:
        assert 0 <= result.total <= 100
    assert result.valid == (
        unanswered["function"] <= 1 and unanswered["overall"] == 0 and unanswered["symptoms"] == 0
    )
    assert result.prorated == any(n == 1 for n in unanswered.values())
