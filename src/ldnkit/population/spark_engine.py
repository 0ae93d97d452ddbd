"""Population screening on Spark: the same reading, filtering and grouping as the DuckDB engine,
distributed; each partition of patient rows is screened in Python by `RowScreener`.

The fields read and their types come from the DuckDB engine's `COLUMNS` (translated to Spark
DDL), and the value sets from the FHIR mapping, so the two engines read the same facts. The
screening itself runs in `rdd.mapPartitions` (a plain Python function: no pandas needed), so
each Spark worker calls the very same `ldnkit.domain.screening.screen`.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ldnkit.fhir.reading import bulk_files
from ldnkit.population.duckdb_engine import COLUMNS, medication_index, parameters
from ldnkit.validation import InputError


def spark_type(duck: str) -> str:
    """A DuckDB column type as Spark DDL (`STRUCT(a VARCHAR)[]` -> `ARRAY<STRUCT<a: STRING>>`)."""
    duck = duck.strip()
    if duck.endswith("[]"):
        return f"ARRAY<{spark_type(duck[:-2])}>"
    if duck.startswith("STRUCT("):
        inner = duck[len("STRUCT(") : -1]
        fields, depth, start = [], 0, 0
        for index, char in enumerate(inner):
            if char == "(":
                depth += 1
            elif char == ")":
                depth -= 1
            elif char == "," and depth == 0:
                fields.append(inner[start:index])
                start = index + 1
        fields.append(inner[start:])
        parts = []
        for field in fields:
            name, _, kind = field.strip().partition(" ")
            parts.append(f"`{name.strip(chr(34))}`: {spark_type(kind)}")
        return "STRUCT<" + ", ".join(parts) + ">"
    return {"VARCHAR": "STRING", "BIGINT": "BIGINT", "DOUBLE": "DOUBLE"}[duck]


def schema(kind: str) -> str:
    return ", ".join(f"`{name}` {spark_type(t)}" for name, t in COLUMNS[kind].items())


def _pid(column: str) -> str:
    return f"regexp_extract({column}.reference, '(?:^|/|urn:uuid:)([^/:?]+)$', 1)"


def _array(values: list[str]) -> str:
    return "array(" + ", ".join("'" + v.replace("'", "\\'") + "'" for v in values) + ")"


_CONDITION_FILTER = """
  (clinicalStatus IS NULL OR array_contains({condition_active}, clinicalStatus.coding[0].code))
  AND NOT coalesce(array_contains({not_true}, verificationStatus.coding[0].code), false)
  AND code IS NOT NULL
"""
# The kind of an order: everything but patient and date (as in the DuckDB engine). to_json of
# the struct is its key: deterministic, and cheap to ship to Python.
_ORDER_KIND = (
    "named_struct('status', status, 'medicationCodeableConcept', medicationCodeableConcept, "
    "'medicationReference', medicationReference, 'dispenseRequest', dispenseRequest, "
    "'dosage', dosageInstruction[0])"
)


def _kinds_sql(p: dict[str, str]) -> tuple[str, str]:
    # Built from constants (column types, value sets), never from user input.
    conditions = f"""
SELECT DISTINCT to_json(code) AS key, code FROM Condition
WHERE {_CONDITION_FILTER.format(**p)}"""  # noqa: S608
    orders = f"""
SELECT DISTINCT to_json({_ORDER_KIND}) AS key, {_ORDER_KIND} AS kind FROM MedicationRequest
WHERE array_contains({p["request_status"]}, status)"""  # noqa: S608
    return conditions, orders


def _sql(p: dict[str, str]) -> str:
    period = spark_type(COLUMNS["MedicationStatement"]["effectivePeriod"])
    # Built from constants (column types, value sets), never from user input.
    return f"""
WITH
cond AS (
  SELECT {_pid("subject")} AS pid, collect_set(to_json(code)) AS condition_keys
  FROM Condition
  WHERE {_CONDITION_FILTER.format(**p)}
  GROUP BY ALL
),
req AS (
  SELECT pid, collect_list(named_struct('key', key, 'authoredOn', authoredOn)) AS order_keys
  FROM (
    -- Repeated orders of one kind: only the latest can be the last dose.
    SELECT {_pid("subject")} AS pid, to_json({_ORDER_KIND}) AS key,
           max(authoredOn) AS authoredOn
    FROM MedicationRequest
    WHERE array_contains({p["request_status"]}, status)
    GROUP BY ALL
  ) GROUP BY pid
),
stmt AS (
  SELECT {_pid("subject")} AS pid, collect_list(named_struct(
      'resourceType', 'MedicationStatement', 'status', status,
      'medicationCodeableConcept', medicationCodeableConcept,
      'medicationReference', medicationReference, 'effectiveDateTime', effectiveDateTime,
      'effectivePeriod', effectivePeriod, 'dateAsserted', dateAsserted)) AS medications
  FROM MedicationStatement
  WHERE array_contains({p["statement_status"]}, status)
  GROUP BY ALL
),
allergy AS (
  SELECT {_pid("patient")} AS pid,
    collect_list(named_struct('clinicalStatus', clinicalStatus,
      'verificationStatus', verificationStatus, 'code', code)) AS allergies
  FROM AllergyIntolerance GROUP BY ALL
),
obs AS (
  SELECT {_pid("subject")} AS pid,
    collect_list(named_struct('status', status, 'code', code,
      'valueCodeableConcept', valueCodeableConcept, 'effectiveDateTime', effectiveDateTime,
      'effectivePeriod', effectivePeriod, 'issued', issued)) AS observations
  FROM Observation
  WHERE size(array_intersect(transform(code.coding, c -> c.code), {p["pregnancy_loinc"]})) > 0
  GROUP BY ALL
),
proc AS (
  SELECT pid, collect_list(fragment) AS procedures FROM (
    SELECT {_pid("subject")} AS pid, named_struct('resourceType', 'Procedure', 'status', status,
      'code', code, 'performedDateTime', performedDateTime, 'performedPeriod', performedPeriod,
      'occurrenceDateTime', CAST(NULL AS STRING),
      'occurrencePeriod', CAST(NULL AS {period})) AS fragment
    FROM Procedure WHERE array_contains({p["planned_procedure"]}, status)
    UNION ALL
    SELECT {_pid("subject")}, named_struct('resourceType', 'ServiceRequest', 'status', status,
      'code', code, 'performedDateTime', CAST(NULL AS STRING),
      'performedPeriod', CAST(NULL AS {period}), 'occurrenceDateTime', occurrenceDateTime,
      'occurrencePeriod', occurrencePeriod)
    FROM ServiceRequest WHERE array_contains({p["planned_request"]}, status)
  ) GROUP BY pid
)
SELECT p.id, p.gender, p.birthDate, p.deceasedDateTime, cond.condition_keys, req.order_keys,
       stmt.medications, allergy.allergies, obs.observations, proc.procedures
FROM Patient p
LEFT JOIN cond ON cond.pid = p.id
LEFT JOIN req ON req.pid = p.id
LEFT JOIN stmt ON stmt.pid = p.id
LEFT JOIN allergy ON allergy.pid = p.id
LEFT JOIN obs ON obs.pid = p.id
LEFT JOIN proc ON proc.pid = p.id
WHERE p.id IS NOT NULL
"""  # noqa: S608


def _screen_partition(
    as_of: dt.date,
    medications: dict[str, dict[str, Any]],
    condition_kinds: dict[str, tuple[int, dict[str, Any]]],
    order_kinds: dict[str, tuple[int, dict[str, Any]]],
) -> Any:
    def run(rows: Iterator[Any]) -> Iterator[dict[str, Any]]:
        # Imported on the worker: the screen and its knowledge base load once per process.
        from ldnkit.population.rows import RowScreener

        screener = RowScreener(
            as_of,
            medications,
            dict(condition_kinds.values()),
            dict(order_kinds.values()),
        )
        for row in rows:
            data = row.asDict(recursive=True)
            # Keys -> the kind numbers RowScreener reads, exactly as DuckDB hands them over.
            data["condition_kinds"] = [
                condition_kinds[k][0] for k in data.pop("condition_keys") or ()
            ]
            data["orders"] = [
                (order_kinds[o["key"]][0], o["authoredOn"]) for o in data.pop("order_keys") or ()
            ]
            yield screener.screen_row(data)

    return run


def _order_fragment(kind: dict[str, Any]) -> dict[str, Any]:
    dosage = kind.pop("dosage")
    return {
        "resourceType": "MedicationRequest",
        **kind,
        "dosageInstruction": None if dosage is None else [dosage],
    }


def screen_rows(folder: Path, as_of: dt.date, master: str = "local[*]") -> list[dict[str, Any]]:
    """Every patient's output row, screened on Spark, ordered by patient id."""
    try:
        from pyspark.sql import SparkSession
    except ImportError:  # pragma: no cover - depends on the install
        raise InputError.single(
            "engine", "spark", "pyspark installed (pip install 'ldnkit[spark]')"
        ) from None
    files = bulk_files(folder)
    builder = (
        SparkSession.builder.master(master)
        .appName("ldnkit-population")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "8")
        .config("spark.ui.showConsoleProgress", "false")
    )
    if master.startswith("local"):
        # Local workers must run this interpreter (where ldnkit is installed), not whatever
        # `python3` is on PATH. On a cluster, install ldnkit on the workers and point
        # PYSPARK_PYTHON (or spark.pyspark.python) at that interpreter.
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    try:
        for kind in COLUMNS:
            paths = [str(p) for p in files.get(kind, [])]
            reader = spark.read.schema(schema(kind))
            frame = reader.json(paths) if paths else spark.createDataFrame([], schema(kind))
            frame.createOrReplaceTempView(kind)
        p = {k: _array(v) for k, v in parameters().items()}
        conditions_sql, orders_sql = _kinds_sql(p)
        # The kinds are few (distinct codes and order shapes): numbered on the driver, shipped
        # to every worker with the function.
        conditions = {
            r["key"]: (n, r["code"].asDict(recursive=True))
            for n, r in enumerate(spark.sql(conditions_sql).collect())
        }
        orders = {
            r["key"]: (n, _order_fragment(r["kind"].asDict(recursive=True)))
            for n, r in enumerate(spark.sql(orders_sql).collect())
        }
        screen = _screen_partition(as_of, medication_index(folder), conditions, orders)
        rows = spark.sql(_sql(p)).rdd.mapPartitions(screen).collect()
    finally:
        spark.stop()
    return sorted(rows, key=lambda r: str(r["patient_id"]))
