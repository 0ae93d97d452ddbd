"""`ldnkit outcomes --fhir DIR`: a FHIR R4 Bulk Data export read into therapy courses on DuckDB.

DuckDB reads the Patient, MedicationRequest, MedicationDispense, Observation and Condition files
(plain or .gz, several per type) with only the fields the outcomes use, checks them, and hands
Python one row per patient with an LDN order. Python turns each row into a `TherapyCourse` and
the domain (`ldnkit.domain.outcomes`) decides what counts: the SQL only narrows the rows, it
never applies a definition itself. Which medications are LDN is decided once per distinct
medication by the domain, then joined back.

What stops the run (InputError, exit 2): a folder that is not a Bulk Data export, one without
MedicationRequest or MedicationDispense files (without fills, everyone would look never
started), a damaged file DuckDB cannot read.

What is skipped and counted (`Skipped`): a line that is not a FHIR resource, a resource of
another type in a file, and for the records that matter (naltrexone orders and fills, pain
scores and diagnoses of patients with an LDN order) anything that breaks the FHIR R4 rules for
the fields read (a missing or unknown status or intent, no patient, no medication, a date that
is not a FHIR date or a day that does not exist, a number that is not a number), a date
without a day, a fill handed over before its prescription was written, and a pain score
outside 0-10. Noted beside them: naltrexone orders whose dose cannot be read, and diagnoses
without a recorded date (neither can be used).

A field of the wrong shape reads as absent (DuckDB's lenient read); where absence would change
an answer silently (days' supply, doses, values, condition statuses) the field is read as JSON
and checked instead.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, get_args

import duckdb

from ldnkit.domain.outcomes import (
    Diagnosis,
    Dispense,
    Medication,
    OutcomeRun,
    PainScore,
    Prescription,
    TherapyCourse,
    clinic_outcomes,
)
from ldnkit.domain.outcomes.course import DispenseStatus, ObservationStatus, RequestStatus
from ldnkit.domain.outcomes.definitions import PAIN_MAX, PAIN_MIN, PAIN_NRS_LOINC, read_ldn
from ldnkit.fhir.mapping import ICD10CM, LOINC, RXNORM, SNOMED
from ldnkit.population.duckdb_engine import (
    CODE,
    REF,
    medication_index,
    reference_id,
    register_views,
)
from ldnkit.validation import InputError

REQUIRED_TYPES = ("MedicationRequest", "MedicationDispense")
READ_TYPES = ("Patient", "MedicationRequest", "MedicationDispense", "Observation", "Condition")
INTENTS = (
    "proposal",
    "plan",
    "order",
    "original-order",
    "reflex-order",
    "filler-order",
    "instance-order",
    "option",
)
CLINICAL_STATUS = ("active", "recurrence", "relapse", "inactive", "remission", "resolved")
VERIFICATION_STATUS = (
    "unconfirmed",
    "provisional",
    "differential",
    "confirmed",
    "refuted",
    "entered-in-error",
)
# FHIR R4's own pattern for dateTime (and date), from the specification's datatypes page.
FHIR_DATETIME = (
    r"([0-9]([0-9]([0-9][1-9]|[1-9]0)|[1-9]00)|[1-9]000)(-(0[1-9]|1[0-2])(-(0[1-9]|[1-2][0-9]|"
    r"3[0-1])(T([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]{1,9})?)?)?(Z|(\+|-)((0[0-9]"
    r"|1[0-3]):[0-5][0-9]|14:00)?)?)?"
)

_MEDICATION = {"medicationCodeableConcept": CODE, "medicationReference": REF}
COLUMNS: dict[str, dict[str, str]] = {
    "Patient": {"resourceType": "VARCHAR", "id": "VARCHAR"},
    "MedicationRequest": {
        "resourceType": "VARCHAR",
        "id": "VARCHAR",
        "status": "VARCHAR",
        "intent": "VARCHAR",
        "subject": REF,
        "authoredOn": "VARCHAR",
        **_MEDICATION,
        "dosageInstruction": "JSON",
    },
    "MedicationDispense": {
        "resourceType": "VARCHAR",
        "id": "VARCHAR",
        "status": "VARCHAR",
        "subject": REF,
        "authorizingPrescription": f"{REF}[]",
        "whenHandedOver": "VARCHAR",
        "daysSupply": "JSON",
        **_MEDICATION,
        "dosageInstruction": "JSON",
    },
    "Observation": {
        "resourceType": "VARCHAR",
        "id": "VARCHAR",
        "status": "VARCHAR",
        "subject": REF,
        "code": CODE,
        "effectiveDateTime": "VARCHAR",
        "valueQuantity": "JSON",
        "valueInteger": "JSON",
    },
    "Condition": {
        "resourceType": "VARCHAR",
        "id": "VARCHAR",
        "subject": REF,
        "clinicalStatus": "JSON",
        "verificationStatus": "JSON",
        "code": CODE,
        "recordedDate": "VARCHAR",
    },
}

_MACROS = f"""
CREATE TEMP MACRO day_of(v) AS try_cast(substr(v, 1, 10) AS DATE);
CREATE TEMP MACRO date_problem(v, field) AS CASE
  WHEN v IS NULL THEN 'no ' || field
  WHEN NOT regexp_full_match(v, '{FHIR_DATETIME}') THEN field || ' is not a FHIR date'
  WHEN length(v) < 10 THEN field || ' gives no day'
  WHEN day_of(v) IS NULL THEN field || ' is a day that does not exist'
END;
CREATE TEMP MACRO json_number(j) AS
  CASE WHEN json_type(j) IN ('UBIGINT', 'BIGINT', 'DOUBLE') THEN CAST(j AS DOUBLE) END;
CREATE TEMP MACRO not_a_number(j) AS
  j IS NOT NULL AND json_type(j) <> 'NULL' AND json_number(j) IS NULL;
CREATE TEMP MACRO dose_in_mg(q) AS CASE
  WHEN lower(coalesce(json_extract_string(q, '$.code'), json_extract_string(q, '$.unit'))) = 'mg'
  THEN json_number(json_extract(q, '$.value')) END;
CREATE TEMP MACRO status_problem(status, allowed, kind) AS CASE
  WHEN status IS NULL THEN 'no status'
  WHEN NOT list_contains(allowed, status) THEN 'status "' || status || '" is not a ' || kind
    || ' status'
END;
"""

# Step 1: every order and fill with its checks, and the distinct medications they name.
_ORDERS = f"""
CREATE TEMP TABLE req AS
SELECT *, CASE
    WHEN status_problem(status, $request_status, 'MedicationRequest') IS NOT NULL
      THEN status_problem(status, $request_status, 'MedicationRequest')
    WHEN intent IS NULL THEN 'no intent'
    WHEN NOT list_contains($intents, intent) THEN 'intent "' || intent || '" is not an intent'
    WHEN pid IS NULL OR pid = '' THEN 'no patient (subject)'
    WHEN concept IS NULL AND medref IS NULL THEN 'no medication'
    WHEN not_a_number(json_extract(dose, '$.value')) THEN 'dose is not a number'
    ELSE date_problem(authoredOn, 'authoredOn')
  END AS problem
FROM (
  SELECT *, dose_in_mg(dose) AS dose_mg FROM (
    SELECT id, {reference_id("subject")} AS pid, status, intent, authoredOn,
      medicationCodeableConcept AS concept, medicationReference AS medref,
      json_extract(dosageInstruction, '$[0].doseAndRate[0].doseQuantity') AS dose
    FROM "MedicationRequest" WHERE resourceType = 'MedicationRequest'
  )
);
CREATE TEMP TABLE disp AS
SELECT *, dose_in_mg(dose) AS dose_mg FROM (
  SELECT id, {reference_id("subject")} AS pid, status, whenHandedOver,
    daysSupply, medicationCodeableConcept AS concept, medicationReference AS medref,
    json_extract(dosageInstruction, '$[0].doseAndRate[0].doseQuantity') AS dose,
    {reference_id("authorizingPrescription[1]")} AS presc
  FROM "MedicationDispense" WHERE resourceType = 'MedicationDispense'
);
CREATE TEMP TABLE med_kind AS
SELECT row_number() OVER () - 1 AS kind, * FROM (
  SELECT DISTINCT concept, medref, dose_mg FROM (
    SELECT concept, medref, dose_mg FROM req UNION ALL SELECT concept, medref, dose_mg FROM disp
  ) WHERE concept IS NOT NULL OR medref IS NOT NULL
);
"""  # noqa: S608 (built from constants only)
_KINDS = "SELECT kind, concept, medref, dose_mg FROM med_kind"

# Step 2: the readings joined back; patients with an LDN order; the checks of what matters.
_MATTERS = f"""
CREATE TEMP TABLE req_k AS
SELECT r.*, k.kind, coalesce(kr.reading, 'other') AS reading
FROM req r
LEFT JOIN med_kind k ON r.concept IS NOT DISTINCT FROM k.concept
  AND r.medref IS NOT DISTINCT FROM k.medref AND r.dose_mg IS NOT DISTINCT FROM k.dose_mg
LEFT JOIN kind_reading kr ON kr.kind = k.kind;
CREATE TEMP TABLE candidate AS
SELECT DISTINCT pid FROM req_k WHERE problem IS NULL AND reading = 'ldn';
CREATE TEMP TABLE disp_k AS
SELECT d.*, k.kind, coalesce(kr.reading, 'other') AS reading,
  o.reading AS presc_reading, o.authoredOn AS presc_authored, CASE
    WHEN status_problem(d.status, $dispense_status, 'MedicationDispense') IS NOT NULL
      THEN status_problem(d.status, $dispense_status, 'MedicationDispense')
    WHEN d.concept IS NULL AND d.medref IS NULL THEN 'no medication'
    WHEN not_a_number(json_extract(d.daysSupply, '$.value')) THEN 'daysSupply is not a number'
    WHEN json_number(json_extract(d.daysSupply, '$.value')) < 1
      THEN 'daysSupply is less than one day'
    WHEN not_a_number(json_extract(d.dose, '$.value')) THEN 'dose is not a number'
    WHEN date_problem(d.whenHandedOver, 'whenHandedOver') IS NOT NULL
      THEN date_problem(d.whenHandedOver, 'whenHandedOver')
    WHEN day_of(d.whenHandedOver) < day_of(o.authoredOn)
      THEN 'handed over before its prescription was written'
  END AS problem
FROM disp d
JOIN candidate c ON c.pid = d.pid
LEFT JOIN med_kind k ON d.concept IS NOT DISTINCT FROM k.concept
  AND d.medref IS NOT DISTINCT FROM k.medref AND d.dose_mg IS NOT DISTINCT FROM k.dose_mg
LEFT JOIN kind_reading kr ON kr.kind = k.kind
LEFT JOIN (SELECT id, authoredOn, reading FROM req_k WHERE problem IS NULL) o
  ON o.id = d.presc;
CREATE TEMP TABLE pain AS
SELECT o.*, CASE
    WHEN status_problem(status, $observation_status, 'Observation') IS NOT NULL
      THEN status_problem(status, $observation_status, 'Observation')
    WHEN date_problem(effectiveDateTime, 'effectiveDateTime') IS NOT NULL
      THEN date_problem(effectiveDateTime, 'effectiveDateTime')
    WHEN not_a_number(json_extract(valueQuantity, '$.value')) OR not_a_number(valueInteger)
      THEN 'value is not a number'
    WHEN value IS NULL THEN 'no numeric value'
    WHEN value < $pain_min OR value > $pain_max THEN 'pain score outside 0-10'
  END AS problem
FROM (
  SELECT id, {reference_id("subject")} AS pid, status, effectiveDateTime, valueQuantity,
    valueInteger,
    coalesce(json_number(json_extract(valueQuantity, '$.value')), json_number(valueInteger))
      AS value
  FROM "Observation"
  WHERE resourceType = 'Observation' AND len(list_filter(code.coding,
    lambda c: c.system = '{LOINC}' AND list_contains($pain_loinc, c.code))) > 0
) o JOIN candidate c ON c.pid = o.pid;
CREATE TEMP TABLE cond AS
SELECT x.*, CASE
    WHEN clinicalStatus IS NOT NULL AND NOT coalesce(list_contains($clinical, clinical), false)
      THEN 'clinicalStatus is not a condition clinical status'
    WHEN verificationStatus IS NOT NULL
      AND NOT coalesce(list_contains($verification, verification), false)
      THEN 'verificationStatus is not a condition verification status'
    WHEN recordedDate IS NOT NULL THEN date_problem(recordedDate, 'recordedDate')
  END AS problem
FROM (
  SELECT id, {reference_id("subject")} AS pid, clinicalStatus, verificationStatus,
    json_extract_string(clinicalStatus, '$.coding[0].code') AS clinical,
    json_extract_string(verificationStatus, '$.coding[0].code') AS verification,
    recordedDate,
    list_transform(list_filter(code.coding, lambda c: c.system IN ('{ICD10CM}', '{SNOMED}')
      AND c.code IS NOT NULL),
      lambda c: {{'system': CASE WHEN c.system = '{ICD10CM}' THEN 'icd10cm' ELSE 'snomed' END,
             'code': c.code}}) AS codes
  FROM "Condition" WHERE resourceType = 'Condition'
) x JOIN candidate c ON c.pid = x.pid;
"""  # noqa: S608 (built from constants only)

# What was skipped, and why: one row per type and reason, with an example id.
_SKIPPED = """
SELECT kind, reason, count(*) AS n, min(id) AS example FROM (
  SELECT 'MedicationRequest' AS kind, problem AS reason, id FROM req_k
    WHERE problem IS NOT NULL AND (reading <> 'other' OR problem = 'no medication'
      OR starts_with(problem, 'no patient'))
  UNION ALL
  SELECT 'MedicationRequest', 'naltrexone order with no dose in mg: not counted as LDN', id
    FROM req_k WHERE problem IS NULL AND reading = 'dose-unknown'
  UNION ALL
  SELECT 'MedicationDispense', problem, id FROM disp_k WHERE problem IS NOT NULL
    AND (reading <> 'other' OR presc_reading = 'ldn' OR problem = 'no medication')
  UNION ALL
  SELECT 'Observation', problem, id FROM pain WHERE problem IS NOT NULL
  UNION ALL
  SELECT 'Condition', problem, id FROM cond WHERE problem IS NOT NULL
  UNION ALL
  SELECT 'Condition', 'no recordedDate: not used as a predictor', id FROM cond
    WHERE problem IS NULL AND recordedDate IS NULL
) GROUP BY ALL ORDER BY kind, n DESC, reason
"""

_UNREADABLE = """
SELECT '{kind}' AS kind, CASE WHEN resourceType IS NULL
    THEN 'not a FHIR resource (a line that is not JSON, or no resourceType)'
    ELSE 'a ' || resourceType || ' in a {kind} file' END AS reason,
  count(*) AS n, min(id) AS example
FROM "{kind}" WHERE resourceType IS DISTINCT FROM '{kind}' GROUP BY ALL
"""

# Step 3: one row per patient with an LDN order, with what the domain reads.
_COURSES = """
WITH
o AS (SELECT pid, list({'id': id, 'authored': day_of(authoredOn), 'status': status,
        'kind': kind}) AS orders
      FROM req_k WHERE problem IS NULL AND reading = 'ldn' GROUP BY pid),
f AS (SELECT pid, list({'id': id, 'presc': presc, 'day': day_of(whenHandedOver),
        'status': status, 'kind': kind,
        'days': CAST(round(json_number(json_extract(daysSupply, '$.value'))) AS INTEGER)})
        AS fills
      FROM disp_k WHERE problem IS NULL AND (reading = 'ldn' OR presc_reading = 'ldn')
      GROUP BY pid),
p AS (SELECT pid, list({'day': day_of(effectiveDateTime), 'value': value, 'status': status,
        'moment': effectiveDateTime}) AS scores
      FROM pain WHERE problem IS NULL GROUP BY pid),
d AS (SELECT pid, list({'codes': codes, 'clinical': clinical, 'verification': verification,
        'recorded': day_of(recordedDate)}) AS diagnoses
      FROM cond WHERE problem IS NULL AND len(codes) > 0 GROUP BY pid)
SELECT c.pid, o.orders, f.fills, p.scores, d.diagnoses
FROM candidate c
JOIN o ON o.pid = c.pid
LEFT JOIN f ON f.pid = c.pid
LEFT JOIN p ON p.pid = c.pid
LEFT JOIN d ON d.pid = c.pid
"""


@dataclass(frozen=True)
class Skipped:
    """Records left out of the figures, of one type for one reason."""

    resource: str
    reason: str
    count: int
    example: str | None

    def as_json(self) -> dict[str, Any]:
        return {
            "resource": self.resource,
            "reason": self.reason,
            "count": self.count,
            "example": self.example,
        }


@dataclass
class Export:
    """An export read for outcomes: its courses (read once, lazily) and what was skipped."""

    patients: int
    skipped: list[Skipped]
    courses: Iterator[TherapyCourse]


def parameters() -> dict[str, Any]:
    """The value sets the queries check and filter by, from the domain and FHIR R4."""
    return {
        "request_status": list(get_args(RequestStatus)),
        "dispense_status": list(get_args(DispenseStatus)),
        "observation_status": list(get_args(ObservationStatus)),
        "intents": list(INTENTS),
        "clinical": list(CLINICAL_STATUS),
        "verification": list(VERIFICATION_STATUS),
        "pain_loinc": sorted(PAIN_NRS_LOINC),
        "pain_min": PAIN_MIN,
        "pain_max": PAIN_MAX,
    }


def _run(con: duckdb.DuckDBPyConnection, script: str, params: dict[str, Any]) -> None:
    for statement in script.split(";\n"):
        if statement.strip():
            used = {k: v for k, v in params.items() if f"${k}" in statement}
            con.execute(statement, used)


def _names(concept: dict[str, Any] | None) -> list[str]:
    """A medication concept's names, the written text first, then each coding's display."""
    if not concept:
        return []
    names = [concept.get("text")] + [c.get("display") for c in concept.get("coding") or []]
    return [n.strip() for n in dict.fromkeys(names) if isinstance(n, str) and n.strip()]


def _rxnorm_of(concept: dict[str, Any] | None) -> str | None:
    for coding in (concept or {}).get("coding") or []:
        code = coding.get("code")
        if coding.get("system") == RXNORM and isinstance(code, str) and code.isdigit():
            return code
    return None


def kind_medication(
    concept: dict[str, Any] | None,
    reference: dict[str, Any] | None,
    dose_mg: float | None,
    medications: dict[str, dict[str, Any]],
) -> Medication:
    """The domain's Medication for one distinct medication of the export.

    A `medicationReference` is read through the export's Medication resources (else its
    display). Of the names written (text, then displays), the first that the domain can
    decide on is kept: "LDN" in the text does not hide "naltrexone 4.5 MG" in a display.
    """
    if concept is None and reference is not None:
        # `Medication/<id>`, `urn:uuid:<id>` or `#<id>`: the export's Medication with that id.
        target = str(reference.get("reference") or "").rsplit("/", 1)[-1]
        target = target.removeprefix("urn:uuid:").removeprefix("#")
        found = medications.get(f"Medication/{target}") or {}
        concept = found.get("code") or {"text": reference.get("display")}
    rxnorm = _rxnorm_of(concept)
    candidates = [Medication(n, rxnorm, dose_mg) for n in _names(concept)]
    if not candidates:
        return Medication(None, rxnorm, dose_mg)
    return next((m for m in candidates if read_ldn(m) != "dose-unknown"), candidates[0])


def read_export(folder: Path, batch_size: int = 20_000) -> Export:
    """Read a Bulk Data export for outcomes; InputError when it cannot be read at all."""
    con = duckdb.connect()
    try:
        files = register_views(con, folder, COLUMNS, skip_unreadable=True)
        missing = [kind for kind in REQUIRED_TYPES if kind not in files]
        if missing:
            raise InputError.single(
                "folder",
                f"{folder} (no {' or '.join(missing)} files)",
                "a Bulk Data export with MedicationRequest and MedicationDispense files",
            )
        params = parameters()
        _run(con, _MACROS, params)
        _run(con, _ORDERS, params)
        medications = medication_index(folder) if "Medication" in files else {}
        kinds = {
            kind: kind_medication(concept, medref, dose, medications)
            for kind, concept, medref, dose in con.execute(_KINDS).fetchall()
        }
        con.execute("CREATE TEMP TABLE kind_reading (kind BIGINT, reading VARCHAR)")
        if kinds:
            readings = [(kind, read_ldn(medication)) for kind, medication in kinds.items()]
            con.executemany("INSERT INTO kind_reading VALUES (?, ?)", readings)
        _run(con, _MATTERS, params)
        skipped = _skipped(con, files)
        ((patients,),) = con.execute(
            "SELECT count(DISTINCT id) FROM \"Patient\" WHERE resourceType = 'Patient'"
        ).fetchall()
        reader = con.sql(_COURSES).to_arrow_reader(batch_size)
    except duckdb.Error as exc:
        con.close()
        first = str(exc).splitlines()[0]
        raise InputError.single(
            "folder", str(folder), f"readable FHIR R4 NDJSON ({first})"
        ) from None
    except BaseException:
        con.close()
        raise
    return Export(
        patients=int(patients),
        skipped=skipped,
        courses=_courses(con, reader, kinds),
    )


def outcomes_from_export(
    folder: Path, as_of: dt.date, grace_days: int | None = None
) -> tuple[OutcomeRun, Export]:
    """The clinic's outcome figures from a Bulk Data export, and what the reading skipped."""
    export = read_export(folder)
    return clinic_outcomes(export.courses, as_of, grace_days), export


def _skipped(con: duckdb.DuckDBPyConnection, files: dict[str, list[Path]]) -> list[Skipped]:
    rows = [
        r
        for kind in READ_TYPES
        if kind in files
        for r in con.execute(_UNREADABLE.format(kind=kind)).fetchall()
    ]
    rows += con.execute(_SKIPPED).fetchall()
    return [Skipped(kind, reason, int(n), example) for kind, reason, n, example in rows]


def _courses(
    con: duckdb.DuckDBPyConnection, reader: Any, kinds: dict[int, Medication]
) -> Iterator[TherapyCourse]:
    """The courses, batch by batch; the connection closes when they are all read."""
    try:
        for batch in reader:
            columns = [batch.column(name).to_pylist() for name in batch.schema.names]
            for pid, orders, fills, scores, diagnoses in zip(*columns, strict=True):
                yield _course(pid, orders, fills or (), scores or (), diagnoses or (), kinds)
    finally:
        con.close()


def _course(
    pid: str,
    orders: Sequence[dict[str, Any]],
    fills: Sequence[dict[str, Any]],
    scores: Sequence[dict[str, Any]],
    diagnoses: Sequence[dict[str, Any]],
    kinds: dict[int, Medication],
) -> TherapyCourse:
    unnamed = Medication(None)
    return TherapyCourse(
        patient_id=pid,
        prescriptions=tuple(
            Prescription(o["id"], o["authored"], o["status"], kinds[o["kind"]]) for o in orders
        ),
        dispenses=tuple(
            Dispense(
                f["id"],
                f["presc"] or None,
                f["day"],
                f["status"],
                f["days"],
                kinds.get(f["kind"], unnamed) if f["kind"] is not None else unnamed,
            )
            for f in fills
        ),
        pain=tuple(PainScore(s["day"], s["value"], s["status"], s["moment"] or "") for s in scores),
        diagnoses=tuple(
            Diagnosis(
                tuple((c["system"], c["code"]) for c in d["codes"]),
                d["clinical"],
                d["verification"],
                d["recorded"],
            )
            for d in diagnoses
        ),
    )
