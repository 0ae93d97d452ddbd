"""Population screening on DuckDB (embedded): read, filter and group in SQL; screen in Python.

DuckDB reads each resource type's NDJSON files (plain or .gz) with an explicit column list: only
the fields the screen needs are parsed, and their types are checked on the way in. That typed
read is the fast path's validation: a field of the wrong shape fails the read with a message
naming the file; the full fhir.resources validation runs on the single-patient paths only, where
its cost (about 0.25 ms per resource) does not matter.

The value sets used to filter (active conditions, medication statuses, pregnancy LOINC codes,
planned procedure statuses) are passed in from `ldnkit.fhir.mapping`, where the single-patient
mapping reads them too.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from ldnkit.fhir import mapping as m
from ldnkit.fhir.reading import bulk_files, iter_ndjson
from ldnkit.validation import InputError

CODE = "STRUCT(coding STRUCT(system VARCHAR, code VARCHAR, display VARCHAR)[], text VARCHAR)"
STATUS = "STRUCT(coding STRUCT(code VARCHAR)[])"
REF = "STRUCT(reference VARCHAR, display VARCHAR)"
PERIOD = 'STRUCT(start VARCHAR, "end" VARCHAR)'
DISPENSE = (
    "STRUCT(validityPeriod STRUCT(start VARCHAR), numberOfRepeatsAllowed BIGINT, "
    "quantity STRUCT(value DOUBLE), "
    "expectedSupplyDuration STRUCT(value DOUBLE, unit VARCHAR, code VARCHAR))"
)
DOSAGE = (
    "STRUCT(timing STRUCT(repeat STRUCT(frequency BIGINT, frequencyMax BIGINT, period DOUBLE, "
    "periodUnit VARCHAR)), doseAndRate STRUCT(doseQuantity STRUCT(value DOUBLE))[])"
)

# The fields read per resource type (everything else in the files is skipped unparsed).
COLUMNS: dict[str, dict[str, str]] = {
    "Patient": {
        "id": "VARCHAR",
        "gender": "VARCHAR",
        "birthDate": "VARCHAR",
        "deceasedDateTime": "VARCHAR",
    },
    "Condition": {
        "subject": REF,
        "clinicalStatus": STATUS,
        "verificationStatus": STATUS,
        "code": CODE,
    },
    "MedicationRequest": {
        "subject": REF,
        "status": "VARCHAR",
        "medicationCodeableConcept": CODE,
        "medicationReference": REF,
        "authoredOn": "VARCHAR",
        "dispenseRequest": DISPENSE,
        "dosageInstruction": f"{DOSAGE}[]",
    },
    "MedicationStatement": {
        "subject": REF,
        "status": "VARCHAR",
        "medicationCodeableConcept": CODE,
        "medicationReference": REF,
        "effectiveDateTime": "VARCHAR",
        "effectivePeriod": PERIOD,
        "dateAsserted": "VARCHAR",
    },
    "AllergyIntolerance": {
        "patient": REF,
        "clinicalStatus": STATUS,
        "verificationStatus": STATUS,
        "code": CODE,
    },
    "Observation": {
        "subject": REF,
        "status": "VARCHAR",
        "code": CODE,
        "valueCodeableConcept": CODE,
        "effectiveDateTime": "VARCHAR",
        "effectivePeriod": PERIOD,
        "issued": "VARCHAR",
    },
    "Procedure": {
        "subject": REF,
        "status": "VARCHAR",
        "code": CODE,
        "performedDateTime": "VARCHAR",
        "performedPeriod": PERIOD,
    },
    "ServiceRequest": {
        "subject": REF,
        "status": "VARCHAR",
        "code": CODE,
        "occurrenceDateTime": "VARCHAR",
        "occurrencePeriod": PERIOD,
    },
}


# Step 1: the facts worth keeping, each kind of condition and of order numbered once, so that
# Python maps every distinct code or order shape once instead of once per patient.
_FACTS = """
CREATE TEMP TABLE cond_all AS
SELECT DISTINCT {cond_pid} AS pid, code
FROM "Condition"
WHERE (clinicalStatus IS NULL OR list_contains($condition_active, clinicalStatus.coding[1].code))
  AND NOT coalesce(list_contains($not_true, verificationStatus.coding[1].code), false)
  AND code IS NOT NULL;
CREATE TEMP TABLE cond_kind AS
SELECT row_number() OVER () - 1 AS kind, code FROM (SELECT DISTINCT code FROM cond_all);
CREATE TEMP TABLE cond_fact AS
SELECT DISTINCT c.pid, k.kind
FROM cond_all c JOIN cond_kind k ON c.code IS NOT DISTINCT FROM k.code;
CREATE TEMP TABLE req_all AS
SELECT {req_pid} AS pid, status, medicationCodeableConcept, medicationReference,
       dispenseRequest, dosageInstruction[1] AS dosage, authoredOn
FROM "MedicationRequest"
WHERE list_contains($request_status, status);
CREATE TEMP TABLE req_kind AS
SELECT row_number() OVER () - 1 AS kind, * FROM (
  SELECT DISTINCT status, medicationCodeableConcept, medicationReference, dispenseRequest, dosage
  FROM req_all
);
-- Repeated orders of one kind (drug, status, supply shape): only the latest can be the last dose.
CREATE TEMP TABLE req_fact AS
SELECT r.pid, k.kind, max(r.authoredOn) AS authoredOn
FROM req_all r JOIN req_kind k
  ON r.status IS NOT DISTINCT FROM k.status
 AND r.medicationCodeableConcept IS NOT DISTINCT FROM k.medicationCodeableConcept
 AND r.medicationReference IS NOT DISTINCT FROM k.medicationReference
 AND r.dispenseRequest IS NOT DISTINCT FROM k.dispenseRequest
 AND r.dosage IS NOT DISTINCT FROM k.dosage
GROUP BY ALL;
DROP TABLE cond_all;
DROP TABLE req_all;
"""

_CONDITION_KINDS = "SELECT kind, code FROM cond_kind"
_ORDER_KINDS = """
SELECT kind, {'resourceType': 'MedicationRequest', 'status': status,
  'medicationCodeableConcept': medicationCodeableConcept,
  'medicationReference': medicationReference, 'dispenseRequest': dispenseRequest,
  'dosageInstruction': CASE WHEN dosage IS NULL THEN NULL ELSE [dosage] END} AS fragment
FROM req_kind
"""

# Step 2: one row per patient: kinds and dates only, plus the rare resource types in full.
_ROWS = """
WITH
cond AS (SELECT pid, list(kind) AS condition_kinds FROM cond_fact GROUP BY pid),
req AS (
  SELECT pid, list({{'kind': kind, 'authoredOn': authoredOn}}) AS orders
  FROM req_fact GROUP BY pid
),
stmt AS (
  SELECT {stmt_pid} AS pid, list({{'resourceType': 'MedicationStatement', 'status': status,
      'medicationCodeableConcept': medicationCodeableConcept,
      'medicationReference': medicationReference, 'effectiveDateTime': effectiveDateTime,
      'effectivePeriod': effectivePeriod, 'dateAsserted': dateAsserted}}) AS medications
  FROM "MedicationStatement"
  WHERE list_contains($statement_status, status)
  GROUP BY ALL
),
allergy AS (
  SELECT {allergy_pid} AS pid,
    list({{'clinicalStatus': clinicalStatus, 'verificationStatus': verificationStatus,
           'code': code}}) AS allergies
  FROM "AllergyIntolerance" GROUP BY ALL
),
obs AS (
  SELECT {obs_pid} AS pid,
    list({{'status': status, 'code': code, 'valueCodeableConcept': valueCodeableConcept,
           'effectiveDateTime': effectiveDateTime, 'effectivePeriod': effectivePeriod,
           'issued': issued}}) AS observations
  FROM "Observation"
  WHERE len(list_intersect(list_transform(code.coding, lambda c: c.code), $pregnancy_loinc)) > 0
  GROUP BY ALL
),
proc AS (
  SELECT pid, list(fragment) AS procedures FROM (
    SELECT {proc_pid} AS pid, {{'resourceType': 'Procedure', 'status': status, 'code': code,
      'performedDateTime': performedDateTime, 'performedPeriod': performedPeriod,
      'occurrenceDateTime': NULL::VARCHAR, 'occurrencePeriod': NULL::{period}}} AS fragment
    FROM "Procedure" WHERE list_contains($planned_procedure, status)
    UNION ALL
    SELECT {sr_pid}, {{'resourceType': 'ServiceRequest', 'status': status, 'code': code,
      'performedDateTime': NULL::VARCHAR, 'performedPeriod': NULL::{period},
      'occurrenceDateTime': occurrenceDateTime, 'occurrencePeriod': occurrencePeriod}}
    FROM "ServiceRequest" WHERE list_contains($planned_request, status)
  ) GROUP BY pid
)
SELECT p.id, p.gender, p.birthDate, p.deceasedDateTime, cond.condition_kinds, req.orders,
       stmt.medications, allergy.allergies, obs.observations, proc.procedures
FROM "Patient" p
LEFT JOIN cond ON cond.pid = p.id
LEFT JOIN req ON req.pid = p.id
LEFT JOIN stmt ON stmt.pid = p.id
LEFT JOIN allergy ON allergy.pid = p.id
LEFT JOIN obs ON obs.pid = p.id
LEFT JOIN proc ON proc.pid = p.id
WHERE p.id IS NOT NULL
"""


def reference_id(column: str) -> str:
    """SQL for the id a Reference column points to (`Patient/<id>` or `urn:uuid:<id>`).

    The last path segment without a `urn:uuid:` prefix; empty when it is not an id (a search
    such as `Patient?identifier=...`, another URN). String functions rather than a regular
    expression: this runs on every record and costs half as much.
    """
    last = f"string_split({column}.reference, '/')[-1]"
    bare = f"(CASE WHEN starts_with({last}, 'urn:uuid:') THEN substr({last}, 10) ELSE {last} END)"
    return f"(CASE WHEN contains({bare}, ':') OR contains({bare}, '?') THEN '' ELSE {bare} END)"


def _format(sql: str) -> str:
    return sql.format(
        cond_pid=reference_id("subject"),
        req_pid=reference_id("subject"),
        stmt_pid=reference_id("subject"),
        allergy_pid=reference_id("patient"),
        obs_pid=reference_id("subject"),
        proc_pid=reference_id("subject"),
        sr_pid=reference_id("subject"),
        period=PERIOD,
    )


def parameters() -> dict[str, list[str]]:
    """The value sets the queries filter by, from the FHIR mapping (their one definition)."""
    return {
        "condition_active": sorted(m.CONDITION_ACTIVE),
        "not_true": sorted(m.NOT_TRUE),
        "request_status": sorted(m.REQUEST_ACTIVE | m.REQUEST_STOPPED),
        "statement_status": sorted(m.STATEMENT_ACTIVE | m.STATEMENT_STOPPED),
        "pregnancy_loinc": sorted(m.PREGNANCY_STATUS_LOINC),
        "planned_procedure": sorted(m.PLANNED_PROCEDURE),
        "planned_request": sorted(m.PLANNED_REQUEST),
    }


def run_script(con: duckdb.DuckDBPyConnection, script: str, params: dict[str, Any]) -> None:
    """Run SQL statements ending in `;` and a newline, each with the parameters it names."""
    for statement in script.split(";\n"):
        if statement.strip():
            con.execute(statement, _used(statement, params))


def unreadable_export(folder: Path, error: duckdb.Error) -> InputError:
    """The one-line error for an export DuckDB could not read (its first line says why)."""
    first = str(error).splitlines()[0]
    return InputError.single("folder", str(folder), f"readable FHIR R4 NDJSON ({first})")


def _used(sql: str, params: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in params.items() if f"${k}" in sql}


def _columns_literal(columns: dict[str, str]) -> str:
    return "{" + ", ".join(f"'{name}': '{kind}'" for name, kind in columns.items()) + "}"


def register_views(
    con: duckdb.DuckDBPyConnection,
    folder: Path,
    columns: dict[str, dict[str, str]],
    *,
    skip_unreadable: bool = False,
) -> dict[str, list[Path]]:
    """One view per resource type over its NDJSON files, reading only the given columns.

    A type without files gets an empty view. With `skip_unreadable`, a line that is not JSON
    reads as a row of nulls and a field of the wrong shape as null, for the caller to count,
    instead of failing the read. Returns the export's files by type.
    """
    files = bulk_files(folder)
    lenient = ", ignore_errors=true" if skip_unreadable else ""
    for kind, wanted in columns.items():
        paths = files.get(kind)
        if paths:
            listed = ", ".join("'" + str(p).replace("'", "''") + "'" for p in paths)
            source = (
                f"read_json([{listed}], format='newline_delimited', "
                f"columns={_columns_literal(wanted)}{lenient})"
            )
        else:
            nulls = ", ".join(f'NULL::{kind_} AS "{name}"' for name, kind_ in wanted.items())
            source = f"(SELECT {nulls} WHERE false)"
        # Built from the constant column list and quoted file paths only.
        con.execute(f'CREATE TEMP VIEW "{kind}" AS SELECT * FROM {source}')  # noqa: S608
    return files


def _register(con: duckdb.DuckDBPyConnection, folder: Path) -> None:
    register_views(con, folder, COLUMNS)


def plain_scan(folder: Path) -> int:
    """Every record of every file read by DuckDB with its own schema detection, then dropped.

    The floor the benchmarks compare with: nothing can read the export faster than reading it.
    Returns the number of records read.
    """
    con = duckdb.connect()
    records = 0
    try:
        for paths in bulk_files(folder).values():
            reader = con.sql(
                "SELECT * FROM read_json($files, format='newline_delimited')",
                params={"files": [str(p) for p in paths]},
            ).to_arrow_reader(100_000)
            records += sum(batch.num_rows for batch in reader)
    finally:
        con.close()
    return records


def medication_index(folder: Path) -> dict[str, dict[str, Any]]:
    """Medication resources of the export (referenced by `medicationReference`), by reference."""
    index: dict[str, dict[str, Any]] = {}
    for path in bulk_files(folder).get("Medication", []):
        for med in iter_ndjson(path):
            if med.get("id"):
                index[f"Medication/{med['id']}"] = med
    return index


def count_patients(folder: Path) -> int:
    """Patients in the export (for the progress bar)."""
    con = duckdb.connect()
    try:
        _register(con, folder)
        row = con.execute('SELECT count(*) FROM "Patient" WHERE id IS NOT NULL').fetchone()
    except duckdb.Error as exc:
        raise InputError.single(
            "folder", str(folder), f"readable Bulk Data files ({exc})"
        ) from None
    finally:
        con.close()
    return int(row[0]) if row else 0


@dataclass
class Facts:
    """What the export holds, reduced: kinds of conditions and orders, then patient rows."""

    condition_kinds: dict[int, dict[str, Any]]
    order_kinds: dict[int, dict[str, Any]]
    batches: Iterator[Any]  # pyarrow RecordBatches of patient rows


@contextmanager
def patient_facts(
    folder: Path, batch_size: int = 20_000, threads: int | None = None
) -> Iterator[Facts]:
    """Reduce the export in DuckDB; patient rows come in Arrow batches (in no set order)."""
    con = duckdb.connect()
    try:
        if threads:
            con.execute(f"SET threads TO {int(threads)}")
        _register(con, folder)
        params = parameters()
        run_script(con, _format(_FACTS), params)
        conditions = {k: c for k, c in con.execute(_CONDITION_KINDS).fetchall()}
        orders = {k: f for k, f in con.execute(_ORDER_KINDS).fetchall()}
        rows_sql = _format(_ROWS)
        reader = con.sql(rows_sql, params=_used(rows_sql, params)).to_arrow_reader(batch_size)
        yield Facts(conditions, orders, iter(reader))
    except duckdb.Error as exc:
        raise unreadable_export(folder, exc) from None
    finally:
        con.close()
