"""FHIR references: every form R4 allows, read by one pattern.

A Reference names a resource in one of these forms (R4, References section 2.3.0):
- relative `Patient/123`, or a version of it `Patient/123/_history/2` (the same resource);
- absolute `https://example.org/fhir/Patient/123` (with or without `/_history/2`);
- `urn:uuid:<uuid>`, the full URL of a Bundle entry or of a resource in a Bulk Data export;
- a bare id `123`: not valid FHIR, but some exports write it and the intent is clear;
- contained `#med1`: a resource inside the referring one, never a resource of the export.
Anything else (a search such as `Patient?identifier=...`, `urn:oid:...`, a trailing slash)
names no resource by its id.

The population engines read patient references in SQL with the very same pattern
(`reference_id_sql`), so a reference means one patient whichever path reads it.
"""

from __future__ import annotations

import re
from typing import Any, NamedTuple

_ID = "[A-Za-z0-9.-]{1,64}"
# Every form that names a resource by id. No capturing group (a pure match is an automaton's
# fast path), no backslash but the end anchor, and only syntax that Python's re, RE2 (DuckDB)
# and Java (Spark) read alike.
_FORM = rf"^(?:urn:uuid:|(?:https?://[^?#]*/)?[A-Z][A-Za-z]+/)?{_ID}(?:/_history/{_ID})?\Z"
_LITERAL = re.compile(_FORM)
# Python's \Z is the end of the text; RE2 and Java spell it \z (their $ would also match before
# a final line break).
SQL_FORM = _FORM.replace(r"\Z", r"\z")


class Target(NamedTuple):
    """What a reference points to: a resource type (when named), an id, contained or not."""

    type: str | None
    id: str
    contained: bool = False


def reference_target(reference: Any) -> Target | None:
    """The resource a Reference (or its `reference` string) points to; None when it names none."""
    if isinstance(reference, dict):
        reference = reference.get("reference")
    if not isinstance(reference, str):
        return None
    if reference.startswith("#"):
        inner = reference[1:]
        return Target(None, inner, contained=True) if re.fullmatch(_ID, inner) else None
    if _LITERAL.match(reference) is None:
        return None
    # Of a reference in one of the forms: the id is the last segment, or the one before
    # `_history/<version>`, after any `urn:uuid:` (an id has no ':' and no '/').
    # `reference_id_sql` says the same in SQL.
    parts = reference.split("/")
    at = -3 if len(parts) >= 3 and parts[-2] == "_history" else -1
    kind = parts[at - 1] if len(parts) >= 1 - at else None
    return Target(kind, parts[at].rsplit(":", 1)[-1])


def patient_ref_id(reference: Any) -> str | None:
    """The patient id a reference names (`Patient/<id>`, `urn:uuid:<id>`, a URL, a bare id).

    A contained patient (`#p1`) is no patient of the export: None, as for a search.
    """
    target = reference_target(reference)
    return None if target is None or target.contained else target.id


def subject_id(resource: Any) -> str | None:
    """The id of the patient a clinical resource is about (its `subject` or `patient`)."""
    return patient_ref_id(resource.get("subject") or resource.get("patient"))


def reference_id_sql(column: str) -> str:
    """SQL (DuckDB; Spark by transpiling) for the id that a Reference column names.

    The same form and the same segment as `reference_target`; NULL where it finds no id, and
    for contained references.
    """
    return reference_text_id_sql(f"{column}.reference")


def reference_text_id_sql(ref: str) -> str:
    """`reference_id_sql` of a reference's text (an expression giving `Reference.reference`)."""
    segment = (
        f"CASE WHEN split_part({ref}, '/', -2) = '_history' THEN split_part({ref}, '/', -3) "
        f"ELSE split_part({ref}, '/', -1) END"
    )
    return (
        f"(CASE WHEN regexp_matches({ref}, '{SQL_FORM}') THEN split_part({segment}, ':', -1) END)"
    )
