"""The diary as CSV: what a spreadsheet opens is text, never a formula it would run."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest

from ldnkit.domain.diary import DiaryEntry
from ldnkit.export.diary_csv import diary_csv
from ldnkit.store.records import Author, DiaryRecord


def _exported_note(note: str) -> str:
    entry = DiaryEntry(day=dt.date(2026, 1, 5), pain=3, fatigue=3, sleep_quality=5, note=note)
    record = DiaryRecord(
        entry, Author(account_id=1, role="patient", email="pat@clinic.test"), dt.datetime.now()
    )
    (row,) = csv.DictReader(io.StringIO(diary_csv([record])))
    return row["note"]


@pytest.mark.parametrize(
    "note",
    [
        '=HYPERLINK("http://evil.example")',
        "+1+1",
        "-2+3",
        "@SUM(A1)",
        "\tcmd",
        "\r=1+1",
        " =1+1",  # leading space: trimmed by spreadsheets before they look for a formula
        "\u00a0=1+1",  # no-break space
        "\ufeff=1+1",  # byte-order mark
        "\u3000=1+1",  # ideographic space
        "\uff1d1+1",  # full-width equals sign
        "\uff0b1+1",  # full-width plus
        "\uff0d1+1",  # full-width hyphen-minus
        "\uff20SUM(A1)",  # full-width commercial at
        "\ufe661+1",  # small equals sign
    ],
)
def test_a_note_a_spreadsheet_would_run_is_exported_as_text(note: str) -> None:
    assert _exported_note(note) == "'" + note


@pytest.mark.parametrize("note", ["", "slept well", "1 + 1 = 2", "pain 4-5", "a@b.org"])
def test_an_ordinary_note_is_exported_as_written(note: str) -> None:
    assert _exported_note(note) == note


def test_an_author_email_a_spreadsheet_would_run_is_exported_as_text() -> None:
    entry = DiaryEntry(day=dt.date(2026, 1, 5), pain=3, fatigue=3, sleep_quality=5)
    record = DiaryRecord(
        entry, Author(account_id=1, role="clinician", email="=1+1@x.org"), dt.datetime.now()
    )
    (row,) = csv.DictReader(io.StringIO(diary_csv([record])))
    assert row["entered_by_email"] == "'=1+1@x.org"
