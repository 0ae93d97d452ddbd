"""Reading FHIR R4 input: a Bundle, one resource, an NDJSON file, or a Bulk Data export folder.

A Bulk Data export (FHIR Bulk Data Access IG) holds one resource type per file, possibly several
files per type (`Condition.000.ndjson`, `Condition.001.ndjson.gz`), plain or gzip-compressed.
"""

from __future__ import annotations

import datetime as dt
import gzip
import re
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ldnkit.domain.profile import PatientProfile
from ldnkit.fhir.mapping.medications import medication_index
from ldnkit.fhir.mapping.profile import profile_from_resources
from ldnkit.jsoninput import (
    MAX_FHIR_FILE_BYTES,
    MAX_NDJSON_LINE_BYTES,
    parse_json,
    read_line,
    too_large,
)
from ldnkit.validation import InputError, Problem, show

# `Type.ndjson`, `Type.000.ndjson`, `Type_1.ndjson.gz`, `Type-part2.ndjson`: the type leads.
_BULK_FILE = re.compile(r"^([A-Z][A-Za-z]+)(?:[._-][^/]*)?\.ndjson(?:\.gz)?$")


def bulk_files(folder: Path) -> dict[str, list[Path]]:
    """The NDJSON files of a Bulk Data export folder, by resource type, in name order."""
    if not folder.is_dir():
        raise InputError.single("folder", str(folder), "a folder of Bulk Data NDJSON files")
    found: dict[str, list[Path]] = {}
    for path in sorted(folder.iterdir()):
        match = _BULK_FILE.match(path.name)
        if match and path.is_file():
            found.setdefault(match.group(1), []).append(path)
    if not found:
        raise InputError.single(
            "folder", str(folder), "Bulk Data files named Type.ndjson or Type.000.ndjson.gz"
        )
    return found


def _open_binary(path: Path) -> Any:
    return gzip.open(path, "rb") if path.name.endswith(".gz") else path.open("rb")


def _open_text(path: Path) -> Any:
    if path.name.endswith(".gz"):
        return gzip.open(path, "rt", encoding="utf-8")
    return path.open(encoding="utf-8")


@contextmanager
def _unreadable_as_input_error(path: Path) -> Iterator[None]:
    """A file that is not UTF-8 text (or not really gzip) is bad input naming the file."""
    try:
        yield
    except UnicodeDecodeError as exc:
        raise InputError.single(
            path.name, f"bytes that are not UTF-8 at offset {exc.start}", "UTF-8 encoded FHIR JSON"
        ) from None
    except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
        raise InputError.single(path.name, f"a damaged gzip file ({exc})", "valid gzip") from None


def iter_ndjson(path: Path) -> Iterator[dict[str, Any]]:
    """The resources of one NDJSON file (plain or .gz); a bad line is an error naming it.

    Lines are read with a bound (MAX_NDJSON_LINE_BYTES), so a file with no line breaks (or a
    gzip bomb) is refused rather than read whole into memory.
    """
    with _unreadable_as_input_error(path), _open_text(path) as handle:
        number = 0
        while line := read_line(handle, MAX_NDJSON_LINE_BYTES, f"{path.name} line {number + 1}"):
            number += 1
            if not line.strip():
                continue
            where = f"{path.name} line {number}"
            resource = parse_json(
                line, where, expected="one FHIR resource as JSON per line", one_line=True
            )
            if not isinstance(resource, dict):
                raise InputError.single(where, resource, "a FHIR resource (a JSON object)")
            yield resource


def bulk_medications(folder: Path) -> dict[str, dict[str, Any]]:
    """The Medication resources of an export (what `medicationReference` names), by reference."""
    return medication_index(
        med for path in bulk_files(folder).get("Medication", []) for med in iter_ndjson(path)
    )


def bulk_patients(folder: Path) -> int:
    """About how many Patient records an export holds: its Patient lines, counted unparsed."""
    count = 0
    for path in bulk_files(folder).get("Patient", []):
        with _unreadable_as_input_error(path), _open_binary(path) as handle:
            last = b"\n"
            # In bounded chunks: a file without line breaks is not read whole into memory.
            while chunk := handle.read(1 << 20):
                count += chunk.count(b"\n")
                last = chunk[-1:]
            count += last != b"\n"
    return count


def bundle_resources(bundle: dict[str, Any]) -> list[dict[str, Any]]:
    """The resources of a Bundle's entries, with `urn:uuid:` full URLs kept as their ids."""
    entries = bundle.get("entry")
    if entries is None:
        return []
    if not isinstance(entries, list):
        raise InputError.single("Bundle.entry", entries, "a list of entries")
    resources: list[dict[str, Any]] = []
    problems: list[Problem] = []
    for index, entry in enumerate(entries):
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(resource, dict):
            problems.append(
                Problem(f"Bundle.entry[{index}].resource", show(resource), "a FHIR resource")
            )
            continue
        full_url = entry.get("fullUrl")
        # Transaction bundles often carry no ids, only `urn:uuid:` full URLs that references use.
        if isinstance(full_url, str) and full_url.startswith("urn:uuid:") and "id" not in resource:
            resource = {**resource, "id": full_url[len("urn:uuid:") :]}
        resources.append(resource)
    if problems:
        raise InputError(problems)
    return resources


def read_resources(path: Path) -> list[dict[str, Any]]:
    """Every resource in a FHIR file or Bulk Data folder (a Bundle is opened into its entries)."""
    if path.is_dir():
        return [r for files in bulk_files(path).values() for f in files for r in iter_ndjson(f)]
    if not path.exists():
        raise InputError.single("file", str(path), "an existing FHIR JSON, NDJSON or folder")
    if path.name.endswith((".ndjson", ".ndjson.gz")):
        return list(iter_ndjson(path))
    with _unreadable_as_input_error(path), _open_binary(path) as handle:
        raw = handle.read(MAX_FHIR_FILE_BYTES + 1)
    if len(raw) > MAX_FHIR_FILE_BYTES:
        raise too_large(path.name, MAX_FHIR_FILE_BYTES)
    try:
        data = parse_json(raw, path.name, expected="a FHIR resource or Bundle as JSON")
    except InputError as exc:
        if exc.problems[0].expected != "JSON in UTF-8 text":
            raise
        received = exc.problems[0].received
        raise InputError([Problem(path.name, received, "UTF-8 encoded FHIR JSON")]) from None
    if not isinstance(data, dict) or not isinstance(data.get("resourceType"), str):
        raise InputError.single(path.name, data, "a FHIR resource or Bundle (with resourceType)")
    if data["resourceType"] == "Bundle":
        # Entries are validated one by one where they are read, naming each resource.
        return bundle_resources(data)
    return [data]


def profile_from_file(
    path: Path, as_of: dt.date | None = None, patient_id: str | None = None
) -> PatientProfile:
    """The screening profile of one patient read from a FHIR file or export folder.

    This is what `ldnkit screen --fhir FILE` calls. With several patients in the input,
    `patient_id` chooses one (bare id, `Patient/<id>` or `urn:uuid:<id>`).
    """
    return profile_from_resources(read_resources(path), as_of or dt.date.today(), patient_id)
