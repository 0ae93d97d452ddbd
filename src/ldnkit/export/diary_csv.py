"""The diary as CSV, for spreadsheets: one row per day with who entered it."""

from __future__ import annotations

import csv
import io
import unicodedata

from ldnkit.store.records import DiaryRecord

CSV_COLUMNS = (
    "day",
    "dose_mg",
    "dose_time",
    "pain",
    "fatigue",
    "sleep_quality",
    "mood",
    "side_effects",
    "note",
    "entered_by",  # patient | clinician | empty when not recorded (days from before)
    "entered_by_email",
    "earlier_versions",  # versions of the day that later changes replaced (all kept)
)


# What spreadsheets skip before looking for a formula: whitespace of every kind, the byte-order
# mark and the zero-width characters; and what starts one, full-width and small forms included
# (NFKC folds the full-width U+FF1D, U+FF0B, U+FF0D, U+FF20 and small U+FE66 to =+-@).
_INVISIBLE = "\ufeff\u200b\u200c\u200d\u2060"
_FORMULA_START = frozenset("=+-@")


def spreadsheet_text(value: str) -> str:
    """A CSV cell a spreadsheet shows as text: prefixed with ' when it could start a formula."""
    if value[:1] in ("\t", "\r", "\n"):
        return "'" + value
    shown = value.lstrip()
    while shown[:1] in set(_INVISIBLE) or shown[:1].isspace():
        shown = shown[1:].lstrip()
    first = unicodedata.normalize("NFKC", shown[:1])[:1]
    return "'" + value if first in _FORMULA_START else value


def diary_csv(records: list[DiaryRecord]) -> str:
    """The diary as CSV; a note that looks like a formula is prefixed so spreadsheets show text."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for r in records:
        e = r.entry
        note = spreadsheet_text(e.note)
        writer.writerow(
            [
                e.day.isoformat(),
                "" if e.dose_mg is None else f"{e.dose_mg:g}",
                "" if e.dose_time is None else e.dose_time.isoformat(timespec="minutes"),
                e.pain,
                e.fatigue,
                e.sleep_quality,
                "" if e.mood is None else e.mood,
                ";".join(f"{s.id}:{s.severity}" for s in e.side_effects),
                note,
                r.author.role or "",
                spreadsheet_text(r.author.email or ""),
                r.earlier_versions,
            ]
        )
    return out.getvalue()
