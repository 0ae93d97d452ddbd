"""Charts: standalone, parseable, accessible SVG with the diary's points, steps and markers."""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET

import pytest

from ldnkit.analytics.charts import (
    fiqr_chart_svg,
    fiqr_chart_text,
    symptom_chart_svg,
    symptom_chart_text,
)
from ldnkit.domain.diary import DiaryEntry

NS = {"svg": "http://www.w3.org/2000/svg"}
START = dt.date(2026, 1, 5)


def entries(days: int, *, skip: frozenset[int] = frozenset()) -> list[DiaryEntry]:
    out = []
    for i in range(days):
        if i in skip:
            continue
        out.append(
            DiaryEntry(
                day=START + dt.timedelta(i),
                dose_mg=1.5 if i < 14 else 3.0,
                pain=6 - i % 3,
                fatigue=5,
                sleep_quality=4 + i % 2,
                side_effects=({"id": "vivid-dreams", "severity": "mild"},)
                if i in (1, 2, 20)
                else (),
            )
        )
    return out


STEPS = [
    (START, START + dt.timedelta(13), 1.5),
    (START + dt.timedelta(14), START + dt.timedelta(27), 3.0),
    (START + dt.timedelta(28), None, 4.5),
]


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)


def points(root: ET.Element, measure: str) -> int:
    lines = root.findall(f".//svg:polyline[@data-measure='{measure}']", NS)
    dots = root.findall(f".//svg:circle[@data-measure='{measure}']", NS)
    return sum(len(line.attrib["points"].split()) for line in lines) + len(dots)


def test_symptom_chart_has_one_point_per_entry_for_each_measure() -> None:
    root = parse(symptom_chart_svg(entries(21), STEPS))
    for measure in ("pain", "fatigue", "sleep_quality"):
        assert points(root, measure) == 21


def test_symptom_chart_is_an_accessible_scalable_image() -> None:
    root = parse(symptom_chart_svg(entries(21), STEPS))
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert root.attrib["viewBox"].startswith("0 0 ")
    assert root.attrib["width"] == "100%"
    assert root.attrib["role"] == "img"
    title_id, desc_id = root.attrib["aria-labelledby"].split()
    assert root.find(f"svg:title[@id='{title_id}']", NS) is not None
    desc = root.find(f"svg:desc[@id='{desc_id}']", NS)
    assert desc is not None
    assert "21 diary entries" in (desc.text or "")


def test_dose_steps_inside_the_charted_days_are_shaded_and_labelled() -> None:
    root = parse(symptom_chart_svg(entries(21), STEPS))
    steps = root.findall(".//svg:rect[@class='dose-step']", NS)
    # The 4.5 mg step starts after the last entry, so only two steps are visible.
    assert [s.attrib["data-dose-mg"] for s in steps] == ["1.5", "3"]
    labels = [t.text for t in root.findall(".//svg:text[@class='dose-label']", NS)]
    assert labels == ["1.5 mg", "3 mg"]


def test_side_effect_days_are_marked_with_their_names() -> None:
    root = parse(symptom_chart_svg(entries(21), STEPS))
    markers = root.findall(".//svg:path[@class='side-effect-marker']", NS)
    assert [m.attrib["data-day"] for m in markers] == ["2026-01-06", "2026-01-07", "2026-01-25"]
    tip = markers[0].find("svg:title", NS)
    assert tip is not None
    assert tip.text == "2026-01-06: vivid dreams (mild)"


def test_a_long_gap_in_the_diary_breaks_the_line() -> None:
    root = parse(symptom_chart_svg(entries(21, skip=frozenset({8, 9, 10, 11})), STEPS))
    lines = root.findall(".//svg:polyline[@data-measure='pain']", NS)
    assert len(lines) == 2
    assert points(root, "pain") == 17


def test_title_text_is_escaped() -> None:
    svg = symptom_chart_svg(entries(7), title='Pain & "fatigue" <Ana>')
    assert "&amp;" in svg
    assert "<Ana>" not in svg
    title = parse(svg).find("svg:title", NS)
    assert title is not None
    assert title.text == 'Pain & "fatigue" <Ana>'


def test_empty_diary_still_renders_a_valid_chart() -> None:
    root = parse(symptom_chart_svg([]))
    desc = root.find("svg:desc", NS)
    assert desc is not None
    assert desc.text == "No diary entries to chart yet."


def test_text_alternative_is_a_weekly_table() -> None:
    text = symptom_chart_text(entries(21), STEPS)
    lines = text.splitlines()
    assert lines[0].split() == [
        "Week",
        "from",
        "Days",
        "Pain",
        "Fatigue",
        "Sleep",
        "Dose",
        "(mg)",
        "Side",
        "effects",
    ]
    assert lines[2].startswith("2026-01-05  7")
    assert "vivid dreams x2" in lines[2]
    assert len([line for line in lines if line.startswith("2026-")]) == 3
    assert "Dose steps: 1.5 mg from 2026-01-05 to 2026-01-18" in text


def test_fiqr_chart_has_one_dot_per_questionnaire() -> None:
    data = [(START, 62.5), (START + dt.timedelta(30), 50.0), (START + dt.timedelta(90), 38.0)]
    root = parse(fiqr_chart_svg(data))
    assert len(root.findall(".//svg:circle[@class='fiqr-point']", NS)) == 3
    line = root.find(".//svg:polyline[@class='fiqr-line']", NS)
    assert line is not None
    assert len(line.attrib["points"].split()) == 3
    desc = root.find("svg:desc", NS)
    assert desc is not None
    assert "2026-01-05 62.5" in (desc.text or "")


def test_fiqr_total_out_of_range_is_refused() -> None:
    with pytest.raises(ValueError, match="0-100"):
        fiqr_chart_svg([(START, 120.0)])


def test_fiqr_text_alternative_shows_change_from_the_first() -> None:
    text = fiqr_chart_text([(START + dt.timedelta(30), 50.0), (START, 62.5)])
    rows = [line.split() for line in text.splitlines()[2:4]]
    assert rows == [["2026-01-05", "62.5", "-"], ["2026-02-04", "50.0", "-12.5"]]
