"""Fibromyalgia criteria: ACR 2010, its 2011 modification and the 2016 revision.

WPI is the number of the 19 areas painful in the past week. The symptom severity score adds
fatigue, waking unrefreshed and cognitive symptoms (0-3 each) to a somatic part: the
physician's 0-3 rating in 2010, the count of headache, lower abdominal pain and depression in
2011 and 2016. FS (= PSD) is WPI + SSS.
"""

from __future__ import annotations

from pydantic import field_validator

from ldnkit.domain.criteria.areas import (
    PainAreaId,
    RegionResult,
    generalized_pain,
    psd_band,
    region_breakdown,
)
from ldnkit.domain.criteria.common import (
    CriterionResult,
    Months,
    Note,
    Output,
    Score03,
    StrictInput,
    notes,
    number,
    sources_of,
)
from ldnkit.domain.criteria.texts import Arm, FibromyalgiaSet, criteria_data, criterion_text


class _PainInput(StrictInput):
    pain_areas: list[PainAreaId]
    fatigue: Score03
    waking_unrefreshed: Score03
    cognitive: Score03
    duration_months: Months

    @field_validator("pain_areas")
    @classmethod
    def _each_area_once(cls, areas: list[str]) -> list[str]:
        # A repeated area is refused rather than merged: it is usually the other side typed
        # twice (hip_left for hip_right), and either silent choice would misstate the WPI.
        first: dict[str, int] = {}
        for index, area in enumerate(areas):
            if area in first:
                raise ValueError(
                    f"each area at most once ({area} is at pain_areas[{first[area]}] "
                    f"and pain_areas[{index}])"
                )
            first[area] = index
        return areas


class Acr2010Input(_PainInput):
    """ACR 2010: the physician rates somatic symptoms 0-3."""

    somatic: Score03
    other_explanation: bool


class _ChecklistInput(_PainInput):
    headache: bool
    lower_abdominal_pain: bool
    depression: bool

    @property
    def checklist(self) -> int:
        return int(self.headache) + int(self.lower_abdominal_pain) + int(self.depression)

    @property
    def sss(self) -> int:
        return self.fatigue + self.waking_unrefreshed + self.cognitive + self.checklist


class Acr2011Input(_ChecklistInput):
    """2011 modification: the patient's checklist replaces the somatic rating."""

    other_explanation: bool


class Acr2016Input(_ChecklistInput):
    """2016 revision: valid irrespective of other diagnoses, so the exclusion is optional."""

    other_explanation: bool | None = None


class _Scores(Output):
    name: str
    title: str
    met: bool
    wpi: int
    sss: int


class _Distress(Output):
    psd: int
    psd_band: str


class _FsCutoff(Output):
    fs_cutoff_met: bool


class _Regions(Output):
    regions: int
    region_breakdown: tuple[RegionResult, ...]


class _Explained(Output):
    criteria: tuple[CriterionResult, ...]
    notes: tuple[Note, ...]
    sources: tuple[str, ...]


# Bases are listed last-to-first so that the JSON reads scores, then explanations.
class Acr2010Result(_Explained, _Scores):
    """ACR 2010 verdict: met, WPI, SS and each criterion."""


class Acr2011Result(_Explained, _FsCutoff, _Distress, _Scores):
    """2011 verdict: as 2010, plus FS/PSD, its band and the FS >= 13 cut-off."""


class Acr2016Result(_Explained, _Regions, _Distress, _Scores):
    """2016 verdict: as 2011, plus the count of regions with pain and each region."""


def _arm_text(arm: Arm, scale: str) -> str:
    wpi = f"WPI ≥ {arm.wpi_low}" if arm.wpi_high == 19 else f"WPI {arm.wpi_low}-{arm.wpi_high}"
    return f"{wpi} and {scale} ≥ {arm.sss_min}"


def pain_and_severity_text(spec: FibromyalgiaSet) -> str:
    """The pain-and-severity criterion of a criteria set, with its arms written out."""
    return criterion_text(
        "pain-and-severity", arms=", or ".join(_arm_text(a, spec.scale) for a in spec.arms)
    )


def _arm_shortfall(arm: Arm, wpi: int, sss: int, scale: str) -> str:
    """Why an arm fails ('' when it holds)."""
    reasons = []
    if wpi < arm.wpi_low:
        reasons.append(f"WPI {wpi} is below {arm.wpi_low}")
    elif wpi > arm.wpi_high:
        reasons.append(f"WPI {wpi} is above {arm.wpi_high}")
    if sss < arm.sss_min:
        reasons.append(f"{scale} {sss} is below {arm.sss_min}")
    return " and ".join(reasons)


def _pain_and_severity(spec: FibromyalgiaSet, wpi: int, sss: int) -> CriterionResult:
    arms = [(_arm_text(a, spec.scale), _arm_shortfall(a, wpi, sss, spec.scale)) for a in spec.arms]
    held = [text for text, shortfall in arms if not shortfall]
    if held:
        detail = f"WPI {wpi}, {spec.scale} {sss}: meets {held[0]}"
    else:
        detail = f"WPI {wpi}, {spec.scale} {sss}: meets neither arm; " + "; ".join(
            f"{text}: {shortfall}" for text, shortfall in arms
        )
    return CriterionResult(
        id="pain-and-severity",
        text=pain_and_severity_text(spec),
        passed=bool(held),
        detail=detail,
    )


def _duration(spec: FibromyalgiaSet, months: float) -> CriterionResult:
    passed = months >= spec.duration_months_min
    return CriterionResult(
        id="duration",
        text=criterion_text("duration", months=spec.duration_months_min),
        passed=passed,
        detail=f"{number(months)} months: "
        + ("long enough" if passed else f"shorter than {spec.duration_months_min}"),
    )


def _no_other_explanation(other: bool) -> CriterionResult:
    return CriterionResult(
        id="no-other-explanation",
        text=criterion_text("no-other-explanation"),
        passed=not other,
        detail=(
            "another disorder explains the pain, which excludes fibromyalgia under these criteria"
            if other
            else "no other disorder explains the pain"
        ),
    )


def _required(value: int | None, what: str) -> int:
    if value is None:
        raise LookupError(f"criteria.yaml lacks {what}")
    return value


def _result_fields(
    name: str, spec: FibromyalgiaSet, criteria: list[CriterionResult], note_ids: list[str]
) -> dict[str, object]:
    found = notes(note_ids)
    return {
        "name": name,
        "title": spec.title,
        "met": all(c.passed for c in criteria),
        "criteria": tuple(criteria),
        "notes": found,
        "sources": sources_of(spec.sources, extra=found),
    }


def acr2010(data: Acr2010Input) -> Acr2010Result:
    """ACR 2010 preliminary criteria: pain and severity, 3 months, no other explanation."""
    spec = criteria_data().fibromyalgia["acr2010"]
    wpi = len(data.pain_areas)
    sss = data.fatigue + data.waking_unrefreshed + data.cognitive + data.somatic
    criteria = [
        _pain_and_severity(spec, wpi, sss),
        _duration(spec, data.duration_months),
        _no_other_explanation(data.other_explanation),
    ]
    fields = _result_fields(
        "acr2010", spec, criteria, ["wpi-band-conflict-2010", "exclusion-conflict-2010"]
    )
    return Acr2010Result.model_validate({**fields, "wpi": wpi, "sss": sss})


def acr2011(data: Acr2011Input) -> Acr2011Result:
    """2011 modification: 2010 criteria with the patient's symptom checklist, plus FS/PSD."""
    spec = criteria_data().fibromyalgia["acr2011"]
    wpi, sss = len(data.pain_areas), data.sss
    criteria = [
        _pain_and_severity(spec, wpi, sss),
        _duration(spec, data.duration_months),
        _no_other_explanation(data.other_explanation),
    ]
    note_ids = ["fs-cutoff", "psd-minimum", "wpi-band-conflict-2010", "exclusion-conflict-2010"]
    fields = _result_fields("acr2011", spec, criteria, [*note_ids, "not-self-diagnosis"])
    return Acr2011Result.model_validate(
        {
            **fields,
            "wpi": wpi,
            "sss": sss,
            "psd": wpi + sss,
            "psd_band": psd_band(wpi + sss),
            "fs_cutoff_met": wpi + sss >= _required(spec.fs_cutoff, "acr2011.fs_cutoff"),
        }
    )


def acr2016(data: Acr2016Input) -> Acr2016Result:
    """2016 revision: pain and severity, generalized pain in 4 of 5 regions, 3 months."""
    spec = criteria_data().fibromyalgia["acr2016"]
    wpi, sss = len(data.pain_areas), data.sss
    regions = region_breakdown(list(data.pain_areas))
    minimum = _required(spec.regions_min, "acr2016.regions_min")
    criteria = [
        _pain_and_severity(spec, wpi, sss),
        generalized_pain(minimum, regions),
        _duration(spec, data.duration_months),
    ]
    exclusion = "exclusion-ignored-2016" if data.other_explanation else "exclusion-conflict-2010"
    note_ids = ["psd-minimum", "wpi-band-conflict-2010", exclusion, "self-report-research-only"]
    fields = _result_fields("acr2016", spec, criteria, note_ids)
    return Acr2016Result.model_validate(
        {
            **fields,
            "wpi": wpi,
            "sss": sss,
            "psd": wpi + sss,
            "psd_band": psd_band(wpi + sss),
            "regions": sum(r.has_pain for r in regions),
            "region_breakdown": regions,
        }
    )
