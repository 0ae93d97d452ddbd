"""The 19 pain areas, the five 2016 regions and the PSD bands shared by the fibromyalgia sets."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Literal

from ldnkit.domain.criteria.common import CriterionResult, Output
from ldnkit.domain.criteria.texts import PainArea, RegionId, criteria_data, criterion_text

PainAreaId = Literal[
    "shoulder_girdle_left",
    "shoulder_girdle_right",
    "upper_arm_left",
    "upper_arm_right",
    "lower_arm_left",
    "lower_arm_right",
    "hip_left",
    "hip_right",
    "upper_leg_left",
    "upper_leg_right",
    "lower_leg_left",
    "lower_leg_right",
    "jaw_left",
    "jaw_right",
    "chest",
    "abdomen",
    "upper_back",
    "lower_back",
    "neck",
]

PAIN_AREAS: Mapping[str, PainArea] = MappingProxyType(
    {a.id: a for a in criteria_data().pain_areas.areas}
)
"""The 19 WPI areas by id, in the published order: label and 2016 region."""


class RegionResult(Output):
    """One 2016 region: its painful areas, those that do not count, and whether it counts."""

    id: RegionId
    label: str
    painful_areas: tuple[str, ...]
    uncounted_painful_areas: tuple[str, ...]
    has_pain: bool


def psd_band(psd: int) -> str:
    """The polysymptomatic distress band of an FS/PSD score (0-31)."""
    for band in criteria_data().psd_bands.bands:
        if band.low <= psd <= band.high:
            return band.name
    raise ValueError(f"PSD {psd} is outside 0-31")


def region_breakdown(areas: list[str]) -> tuple[RegionResult, ...]:
    """Which of the five 2016 regions have pain; jaw, chest and abdomen never count."""
    painful = set(areas)
    results = []
    for region in criteria_data().regions.items:
        members = [a for a, info in PAIN_AREAS.items() if info.region == region.id]
        hurting = tuple(a for a in members if a in painful)
        uncounted = tuple(a for a in hurting if a in region.uncounted)
        results.append(
            RegionResult(
                id=region.id,
                label=region.label,
                painful_areas=hurting,
                uncounted_painful_areas=uncounted,
                has_pain=len(hurting) > len(uncounted),
            )
        )
    return tuple(results)


def generalized_pain(minimum: int, regions: tuple[RegionResult, ...]) -> CriterionResult:
    counted = [r.label.lower() for r in regions if r.has_pain]
    uncounted = [a for r in regions for a in r.uncounted_painful_areas]
    detail = f"{len(counted)} of 5 regions with pain" + (
        f" ({', '.join(counted)})" if counted else ""
    )
    if uncounted:
        detail += "; not counted: " + "; ".join(PAIN_AREAS[a].label for a in uncounted)
    return CriterionResult(
        id="generalized-pain",
        text=criterion_text("generalized-pain", regions=minimum),
        passed=len(counted) >= minimum,
        detail=detail,
    )
