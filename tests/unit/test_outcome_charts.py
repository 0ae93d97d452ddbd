"""The outcome charts: well-formed SVG a screen reader can read, drawn from the figures, with the
persistence curve cut where fewer than 5 patients are still followed for an analyst."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from ldnkit.analytics.outcome_charts import (
    ResponderBar,
    persistence_chart_svg,
    persistence_chart_text,
    responder_chart_svg,
    responder_chart_text,
)
from ldnkit.domain.outcomes.statistics import kaplan_meier

NS = {"svg": "http://www.w3.org/2000/svg"}


def _svg(text: str) -> ET.Element:
    root = ET.fromstring(text)
    assert root.get("role") == "img"
    assert root.find("svg:title", NS) is not None
    return root


def _desc(root: ET.Element) -> str:
    desc = root.find("svg:desc", NS)
    assert desc is not None
    return desc.text or ""


# Four started: stopped on days 30, 60 and 90, one still on LDN at day 41 (worked by hand:
# S = 0.75 from day 30, 0.375 from day 60, 0 from day 90; half had stopped by day 60).
CURVE = kaplan_meier([30, 41, 60, 90], [True, False, True, True])


def test_the_persistence_curve_steps_down_at_each_stop_and_says_so_in_words() -> None:
    assert CURVE is not None
    root = _svg(persistence_chart_svg(CURVE, 30))
    desc = _desc(root)
    assert "the 4 patients who started LDN" in desc
    assert "Still on LDN at 90 days: 0.0%" in desc
    assert "Half had stopped by day 60." in desc
    assert "day 0: 4, day 30: 4, day 60: 2, day 90: 1" in desc
    path = root.find(".//svg:path[@class='km-curve']", NS)
    assert path is not None
    assert path.get("d", "").count("V") == 3  # one drop per day with a stop
    followed = [t.text for t in root.findall(".//svg:text[@class='at-risk']", NS)]
    assert followed == ["4", "4", "2", "1"]


def test_for_an_analyst_the_curve_ends_where_fewer_than_5_are_followed() -> None:
    curve = kaplan_meier([10, 20, 30, 40, 50, 60, 200], [True] * 7)
    assert curve is not None
    whole = _desc(_svg(persistence_chart_svg(curve, 30)))
    cut = _desc(_svg(persistence_chart_svg(curve, 30, min_at_risk=5)))
    assert "drawn to day 200" in whole
    assert "drawn to day 30" in cut  # 5 patients are followed to day 30, 4 to day 40
    assert "Too few patients" in persistence_chart_svg(CURVE, 30, min_at_risk=5)
    assert persistence_chart_text(CURVE, 30, min_at_risk=5).startswith("Too few patients")
    table = persistence_chart_text(curve, 30, min_at_risk=5)
    assert table.splitlines()[2].split() == ["0", "100.0%", "7"]
    assert "200" not in table


def test_no_started_patient_gives_a_chart_that_says_so() -> None:
    root = _svg(persistence_chart_svg(None, 30))
    assert _desc(root) == "No patient has started LDN yet."


BARS = [
    ResponderBar("Chronic neuropathic pain", "6 of 8", 0.75, (0.41, 0.93)),
    ResponderBar("M47 (ICD-10-CM category)", "<5 of 7", None, None),
]


def test_responder_bars_show_the_rates_that_may_be_seen_and_say_which_are_withheld() -> None:
    root = _svg(responder_chart_svg(BARS, 0.55, "pain fell by 30% or more"))
    bars = root.findall(".//svg:rect[@class='responder-bar']", NS)
    assert len(bars) == 1
    desc = _desc(root)
    assert "Chronic neuropathic pain: 6 of 8, 75.0% (95% CI 41.0% to 93.0%)" in desc
    assert "M47 (ICD-10-CM category): <5 of 7, rate withheld" in desc
    assert "Everyone measured: 55.0%." in desc
    assert root.find(".//svg:line[@class='overall']", NS) is not None
    table = responder_chart_text(BARS, 0.55)
    assert "withheld" in table
    assert "75.0%" in table


def test_labels_are_escaped_in_the_svg() -> None:
    hostile = [ResponderBar('<script>alert("x")</script>', "5 of 5", 1.0, None)]
    text = responder_chart_svg(hostile, None, "pain fell")
    assert "<script>" not in text
    _svg(text)
