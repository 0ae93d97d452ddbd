"""The per-patient reduction: written once in DuckDB SQL, run by both engines.

The reduction only reads, groups and pre-filters by volume; it decides nothing clinical. Each
fact it keeps is a FHIR fragment that `ldnkit.fhir.mapping.fold` reads exactly as it reads the
whole resource on the one-patient path:
- conditions and medication orders are numbered by kind (every field but the patient and the
  order date), so Python folds each distinct kind once instead of once per patient; a patient
  row holds the kind numbers (and each order's day). Which kinds matter is Python's call: it
  drops the kinds that add nothing and marks the quiet order kinds (stopped drugs no rule
  reads), of which a row keeps one per patient;
- the types few patients have (statements, allergies, pregnancy-status observations, planned
  procedures and service requests) are carried whole.
Patient references are read by the mapping's own pattern (`reference_id_sql`). The value sets
used to pre-filter come from the mapping too, and the mapping checks them again.

DuckDB runs the SQL as written; Spark runs it as sqlglot transpiles it (`queries`): one
text, two dialects. The column types are written once as well (DuckDB types; Spark DDL by
`spark_schema`).
"""

from __future__ import annotations

from functools import cache
from typing import Any, Literal

import sqlglot
from sqlglot import exp

from ldnkit.fhir.mapping.clinical import (
    PLANNED_PROCEDURE,
    PLANNED_REQUEST,
    PREGNANCY_STATUS_LOINC,
)
from ldnkit.fhir.mapping.references import reference_id_sql, reference_text_id_sql

CODE = "STRUCT(coding STRUCT(system VARCHAR, code VARCHAR, display VARCHAR)[], text VARCHAR)"
STATUS = "STRUCT(coding STRUCT(code VARCHAR)[])"
REF = "STRUCT(reference VARCHAR, display VARCHAR)"
PERIOD = 'STRUCT(start VARCHAR, "end" VARCHAR)'
CONTAINED = f"STRUCT(resourceType VARCHAR, id VARCHAR, code {CODE})[]"
DISPENSE = (
    "STRUCT(validityPeriod STRUCT(start VARCHAR), numberOfRepeatsAllowed BIGINT, "
    "quantity STRUCT(value DOUBLE), "
    "expectedSupplyDuration STRUCT(value DOUBLE, unit VARCHAR, code VARCHAR))"
)
DOSAGE = (
    "STRUCT(timing STRUCT(repeat STRUCT(frequency BIGINT, frequencyMax BIGINT, period DOUBLE, "
    "periodUnit VARCHAR)), doseAndRate STRUCT(doseQuantity STRUCT(value DOUBLE))[])"
)
_MEDICATION = {
    "status": "VARCHAR",
    "medicationCodeableConcept": CODE,
    "medicationReference": REF,
    "contained": CONTAINED,
}

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
        **_MEDICATION,
        "authoredOn": "VARCHAR",
        "dispenseRequest": DISPENSE,
        "dosageInstruction": f"{DOSAGE}[]",
    },
    "MedicationStatement": {
        "subject": REF,
        **_MEDICATION,
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


def _fragment(kind: str, fields: list[str] | None = None) -> str:
    """A struct of a resource's columns read back as the FHIR fragment the fold takes."""
    names = fields if fields is not None else [n for n in COLUMNS[kind] if n not in _REFS]
    return "{'resourceType': '" + kind + "', " + ", ".join(f"'{n}': {n}" for n in names) + "}"


def _values(values: frozenset[str]) -> str:
    return "[" + ", ".join(f"'{v}'" for v in sorted(values)) + "]"


_REFS = ("subject", "patient")
_PID = reference_id_sql("subject")
_REF_PID = reference_text_id_sql("ref")
_CONDITION = _fragment("Condition")
# An order without its patient and date: what makes two orders map alike.
_ORDER = _fragment("MedicationRequest", [*_MEDICATION, "dispenseRequest", "dosageInstruction"])


def _kinds(fragment: str, table: str) -> str:
    # Numbered in the fragments' own order: numbering the same kinds twice gives the same numbers.
    distinct = f'SELECT DISTINCT {fragment} AS fragment FROM "{table}"'  # noqa: S608
    numbered = "row_number() OVER (ORDER BY fragment) AS kind, fragment"
    return f"SELECT {numbered}, hash(fragment) AS fragment_hash FROM ({distinct})"  # noqa: S608


# The types the kinds and the rows both read: an engine reads their files once, into a table.
READ_TWICE = ("Condition", "MedicationRequest")

# The kinds: each distinct condition and order shape, numbered. Small tables, kept by the
# engines: Python reads them, and the rows query joins them back by the whole fragment. Kinds
# the fold says add nothing (a resolved condition, an order entered in error) may be dropped
# from them first: the inner joins then leave those records out of the rows.
KINDS = {
    "cond_kind": _kinds(_CONDITION, "Condition"),
    "req_kind": _kinds(_ORDER, "MedicationRequest"),
}
# Whether no two kinds of a table share a hash. Then each record meets its own kind, and only
# it, by the hash of its fragment: an exact join on one number instead of on nested fragments
# (a third of the join's time). Otherwise (a collision) the rows join on the whole fragment.
HASHES_UNIQUE = "SELECT count(*) = count(DISTINCT fragment_hash) AS one_each FROM {}"
# The order kinds get one more column before the rows are read: whether the kind is quiet
# (`RowScreener.quiet_orders`).
ORDER_KINDS = "req_kind"
QUIET = "quiet"
# Every order day in the export, once each: quiet orders are not dated one by one, yet a day
# that is no date is still an error (`RowScreener.check_order_days`).
ORDER_DAYS = 'SELECT DISTINCT substr(authoredOn, 1, 10) AS day FROM "MedicationRequest"'

# One row per patient: kinds and days, plus the rare resource types whole. The two large types
# are grouped by their reference's text first, so each text is read for its patient once (not
# once per record: a fifth of the rows query's time); texts naming one patient are then merged.
ROWS = f"""
WITH
cond_ref AS (
  SELECT subject.reference AS ref, list(k.kind) AS kinds
  FROM "Condition" JOIN cond_kind k ON {{condition_kind}}
  GROUP BY ALL
),
cond AS (
  SELECT {_REF_PID} AS pid, flatten(list(kinds)) AS condition_kinds
  FROM cond_ref GROUP BY ALL
),
req_ref AS (
  -- The order's day only: the mapping reads no further than the day (YYYY-MM-DD). Of the
  -- quiet orders (stopped, read by no rule whatever their day), one kind stands for them all.
  SELECT subject.reference AS ref,
    list({{'kind': k.kind, 'authoredOn': substr(authoredOn, 1, 10)}})
      FILTER (WHERE NOT k.{QUIET}) AS orders,
    min(k.kind) FILTER (WHERE k.{QUIET}) AS quiet_order
  FROM "MedicationRequest" JOIN {ORDER_KINDS} k ON {{order_kind}}
  GROUP BY ALL
),
req AS (
  SELECT {_REF_PID} AS pid, flatten(list(orders) FILTER (WHERE orders IS NOT NULL)) AS orders,
    min(quiet_order) AS quiet_order
  FROM req_ref GROUP BY ALL
),
stmt AS (
  SELECT {_PID} AS pid, list({_fragment("MedicationStatement")}) AS statements
  FROM "MedicationStatement" GROUP BY ALL
),
allergy AS (
  SELECT {reference_id_sql("patient")} AS pid,
    list({_fragment("AllergyIntolerance")}) AS allergies
  FROM "AllergyIntolerance" GROUP BY ALL
),
obs AS (
  SELECT {_PID} AS pid, list({_fragment("Observation")}) AS observations
  FROM "Observation"
  WHERE array_length(list_filter(code.coding,
    lambda c: list_contains({_values(PREGNANCY_STATUS_LOINC)}, c.code))) > 0
  GROUP BY ALL
),
proc AS (
  SELECT {_PID} AS pid, list({_fragment("Procedure")}) AS procedures
  FROM "Procedure" WHERE list_contains({_values(PLANNED_PROCEDURE)}, status)
  GROUP BY ALL
),
sr AS (
  SELECT {_PID} AS pid, list({_fragment("ServiceRequest")}) AS service_requests
  FROM "ServiceRequest" WHERE list_contains({_values(PLANNED_REQUEST)}, status)
  GROUP BY ALL
)
SELECT p.id, p.gender, p.birthDate, p.deceasedDateTime, cond.condition_kinds, req.orders,
       req.quiet_order, stmt.statements, allergy.allergies, obs.observations, proc.procedures,
       sr.service_requests
FROM "Patient" p
LEFT JOIN cond ON cond.pid = p.id
LEFT JOIN req ON req.pid = p.id
LEFT JOIN stmt ON stmt.pid = p.id
LEFT JOIN allergy ON allergy.pid = p.id
LEFT JOIN obs ON obs.pid = p.id
LEFT JOIN proc ON proc.pid = p.id
LEFT JOIN sr ON sr.pid = p.id
WHERE p.id IS NOT NULL
"""  # noqa: S608 (built from constants only)

# The row columns holding whole fragments, in the order the fold reads them.
FRAGMENT_COLUMNS = ("statements", "allergies", "observations", "procedures", "service_requests")

Dialect = Literal["duckdb", "spark"]


def _kind_of(fragment: str, by_hash: bool) -> str:
    if by_hash:
        return f"k.fragment_hash = hash({fragment})"
    return f"k.fragment IS NOT DISTINCT FROM {fragment}"


@cache
def queries(dialect: Dialect, by_hash: bool = True) -> tuple[dict[str, str], str]:
    """(the kind tables to keep, by name; the patient-rows query) in a dialect.

    `by_hash`: records meet their kinds by hash, for kind tables whose hashes are all distinct
    (`HASHES_UNIQUE`); otherwise by the whole fragment.
    """
    rows = ROWS.replace("{condition_kind}", _kind_of(_CONDITION, by_hash)).replace(
        "{order_kind}", _kind_of(_ORDER, by_hash)
    )
    if dialect == "duckdb":
        return KINDS, rows
    return {name: spark_sql(sql) for name, sql in KINDS.items()}, spark_sql(rows)


def spark_sql(sql: str) -> str:
    """DuckDB SQL as Spark SQL."""
    return sqlglot.transpile(sql, read="duckdb", write="spark")[0]


def arrow_schema(kind: str) -> Any:
    """The columns of a resource type as an Arrow schema (DuckDB's own mapping of its types)."""
    import duckdb
    import pyarrow as pa

    columns = ", ".join(f'NULL::{t} AS "{name}"' for name, t in COLUMNS[kind].items())
    with duckdb.connect() as con:
        empty = con.sql(f"SELECT {columns} WHERE false")
        assert empty is not None, "a SELECT has a result"
        return pa.schema(empty.to_arrow_table().schema)


def spark_schema(kind: str) -> str:
    """The columns of a resource type as Spark DDL (the same types, transpiled)."""
    return ", ".join(
        f"`{name}` {exp.DataType.build(kind_, dialect='duckdb').sql('spark')}"
        for name, kind_ in COLUMNS[kind].items()
    )
