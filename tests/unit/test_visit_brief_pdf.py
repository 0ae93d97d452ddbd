"""The visit brief's typst template prints whatever a record holds as written: data is data."""

from __future__ import annotations

import io

from pypdf import PdfReader

from ldnkit.analytics.charts import symptom_chart_svg
from ldnkit.analytics.pdf import render_pdf
from ldnkit.services.visit_brief import DISCLAIMER


def _text(pdf: bytes) -> str:
    return " ".join(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages).split())


def test_a_name_that_looks_like_markup_is_printed_as_written_with_no_plan_yet() -> None:
    name = '#set text(red) *Ana* <x> $1 "quoted" \\ ] [ ) ('
    data = {
        "patient": name,
        "prepared": "2026-11-30",
        "diary_days": 0,
        "plan": None,
        "chart": symptom_chart_svg([], []),
        "response": None,
        "references": [],
        "disclaimer": DISCLAIMER,
    }
    text = _text(render_pdf("visit_brief", data))
    assert name in text
    assert "No plan has been set up yet." in text
    assert "No assessment until a plan has started." in text
    assert "does not replace the prescriber's judgement" in text
