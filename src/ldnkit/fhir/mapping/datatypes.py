"""FHIR R4 datatypes as the mapping reads them: dates, codings and concepts, durations."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from ldnkit.validation import InputError

RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
SNOMED = "http://snomed.info/sct"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
LOINC = "http://loinc.org"

# UCUM / FHIR duration units -> days.
UNIT_DAYS = {
    "min": 1 / 1440,
    "h": 1 / 24,
    "d": 1.0,
    "wk": 7.0,
    "mo": 30.0,
    "a": 365.0,
    "minute": 1 / 1440,
    "minutes": 1 / 1440,
    "hour": 1 / 24,
    "hours": 1 / 24,
    "day": 1.0,
    "days": 1.0,
    "week": 7.0,
    "weeks": 7.0,
    "month": 30.0,
    "months": 30.0,
    "year": 365.0,
    "years": 365.0,
}
_PARTIAL_DATE = re.compile(r"^(\d{4})(?:-(\d{2}))?(?:-(\d{2}))?")


def fhir_date(value: Any, *, latest: bool = False, field: str = "date") -> dt.date | None:
    """The calendar date of a FHIR date/dateTime; partial dates give their first (or last) day.

    A value shaped like a date that is not one (2017-13-45) is bad input, named by `field`.
    """
    if not isinstance(value, str):
        return None
    match = _PARTIAL_DATE.match(value)
    if not match:
        return None
    year, month, day = match.groups()
    try:
        if day:
            return dt.date(int(year), int(month), int(day))
        if month:
            first = dt.date(int(year), int(month), 1)
            if not latest:
                return first
            following = (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
            return following - dt.timedelta(days=1)
        return dt.date(int(year), 12, 31) if latest else dt.date(int(year), 1, 1)
    except ValueError:
        raise InputError.single(
            field, value, "a calendar date that exists (YYYY, YYYY-MM or YYYY-MM-DD)"
        ) from None


def age_on(birth: dt.date, day: dt.date) -> int:
    """Whole years between a birth date and a day."""
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def codings(concept: Any) -> list[dict[str, Any]]:
    """The codings of a CodeableConcept (none when it is not one)."""
    if not isinstance(concept, dict):
        return []
    return [c for c in concept.get("coding") or [] if isinstance(c, dict)]


def system_code(concept: Any, system: str) -> str | None:
    """The first code of a concept in one code system."""
    for coding in codings(concept):
        if coding.get("system") == system and coding.get("code"):
            return str(coding["code"])
    return None


def status_code(concept: Any) -> str | None:
    """The code of a status concept (clinicalStatus, verificationStatus), whatever its system."""
    for coding in codings(concept):
        if coding.get("code"):
            return str(coding["code"])
    return None


def concept_name(concept: Any, prefer: str | None = None) -> str | None:
    """The best human name of a concept: the preferred system's display, the text, any display."""
    if not isinstance(concept, dict):
        return None
    found = codings(concept)
    for coding in found:
        if coding.get("system") == prefer and coding.get("display"):
            return str(coding["display"]).strip() or None
    if concept.get("text"):
        return str(concept["text"]).strip() or None
    for coding in found:
        if coding.get("display"):
            return str(coding["display"]).strip() or None
    return None


def rxnorm_code(concept: Any) -> str | None:
    """The RxNorm code of a concept, when it has one that can be an RxNorm concept id."""
    code = system_code(concept, RXNORM)
    # RxNorm concept ids are digits; anything else would not be an RxNorm code.
    return code if code and code.isdigit() and len(code) <= 10 else None


def duration_days(duration: Any) -> float | None:
    """A FHIR Duration in days (None when it is missing or in an unknown unit)."""
    if not isinstance(duration, dict):
        return None
    value = duration.get("value")
    unit = duration.get("code") or duration.get("unit")
    if not isinstance(value, int | float) or not isinstance(unit, str):
        return None
    factor = UNIT_DAYS.get(unit.strip().lower()) or UNIT_DAYS.get(unit.strip())
    return float(value) * factor if factor else None
