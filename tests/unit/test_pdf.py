"""PDFs are typeset from a template with the data passed as data, never spliced into markup."""

from __future__ import annotations

import io

import pytest
from pypdf import PdfReader

from ldnkit.analytics.pdf import render_pdf
from ldnkit.validation import InputError


def _text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def test_data_with_markup_characters_is_printed_as_written() -> None:
    hostile = '#panic("x") *bold* <b>tag</b> $x$ @ref'
    pdf = render_pdf("example", {"title": "Clinic", "rows": [["Note", hostile]]})
    assert pdf.startswith(b"%PDF")
    text = _text(pdf)
    assert "Clinic" in text
    assert "#panic" in text
    assert "*bold*" in text


def test_an_unknown_template_is_bad_input() -> None:
    with pytest.raises(InputError):
        render_pdf("no-such-report", {})
