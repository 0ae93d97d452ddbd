"""The criteria data: contract pain-area ids, regions, bands and resolvable citations."""

from __future__ import annotations

import itertools
from typing import Any, get_args

from ldnkit.domain.criteria import PAIN_AREAS, PainAreaId
from ldnkit.domain.criteria.texts import criteria_data
from ldnkit.knowledge.files import read_data

# The 19 ids of the public contract (DESIGN.md, `ldnkit criteria`).
CONTRACT_AREAS = {
    *(
        f"{area}_{side}"
        for area in ("shoulder_girdle", "upper_arm", "lower_arm", "hip", "upper_leg", "lower_leg")
        for side in ("left", "right")
    ),
    "jaw_left",
    "jaw_right",
    "chest",
    "abdomen",
    "upper_back",
    "lower_back",
    "neck",
}


def _source_ids(node: Any) -> set[str]:
    if isinstance(node, dict):
        found = set(node.get("sources", [])) if isinstance(node.get("sources"), list) else set()
        return found.union(*(_source_ids(v) for v in node.values()))
    if isinstance(node, list):
        return set().union(*(_source_ids(v) for v in node))
    return set()


def test_pain_areas_are_exactly_the_19_contract_ids() -> None:
    assert set(PAIN_AREAS) == CONTRACT_AREAS
    assert set(get_args(PainAreaId)) == CONTRACT_AREAS
    assert len(PAIN_AREAS) == 19


def test_each_region_holds_its_published_areas() -> None:
    members: dict[str, set[str]] = {}
    for area_id, area in PAIN_AREAS.items():
        members.setdefault(area.region, set()).add(area_id)
    assert members["left_upper"] == {
        "jaw_left",
        "shoulder_girdle_left",
        "upper_arm_left",
        "lower_arm_left",
    }
    assert members["right_lower"] == {"hip_right", "upper_leg_right", "lower_leg_right"}
    assert members["axial"] == {"neck", "upper_back", "lower_back", "chest", "abdomen"}
    uncounted = {a for r in criteria_data().regions.items for a in r.uncounted}
    assert uncounted == {"jaw_left", "jaw_right", "chest", "abdomen"}


def test_psd_bands_cover_0_to_31_without_gaps() -> None:
    bands = criteria_data().psd_bands.bands
    assert bands[0].low == 0
    assert bands[-1].high == 31
    assert all(b.low == a.high + 1 for a, b in itertools.pairwise(bands))


def test_fiqr_severity_schemes_rise_and_end_open() -> None:
    for scheme in criteria_data().fiqr.severity:
        limits = [b.upto for b in scheme.bands]
        assert limits[-1] is None
        assert limits[:-1] == sorted(x for x in limits[:-1] if x is not None)


def test_every_cited_source_resolves_in_sources_yaml() -> None:
    known = {s["id"] for s in read_data("sources.yaml")}
    cited = _source_ids(read_data("criteria.yaml"))
    assert cited, "criteria.yaml cites nothing"
    assert cited - known == set()


def test_every_note_and_block_carries_a_source() -> None:
    data = criteria_data()
    assert all(n.sources for n in data.notes.values())
    assert all(c.sources for c in data.criteria.values())
    assert all(s.sources for s in data.fibromyalgia.values())
    assert all(s.sources for s in data.mecfs.values())
    assert all(s.sources for s in data.fiqr.severity)
