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
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast, get_args

import duckdb
import numpy as np
import pyarrow as pa

from ldnkit.domain.outcomes import (
    Diagnosis,
    Dispense,
    Medication,
    OutcomeRun,
    OutcomeTally,
    PainScore,
    Prescription,
    Skipped,
    TherapyCourse,
    grace_periods,
    outcome_run,
    statistics,
)
from ldnkit.domain.outcomes.course import (
    CodeSystem,
    DispenseStatus,
    ObservationStatus,
    RequestStatus,
)
from ldnkit.domain.outcomes.definitions import PAIN_MAX, PAIN_MIN, PAIN_NRS_LOINC, read_ldn
from ldnkit.fhir.mapping import ICD10CM, LOINC, RXNORM, SNOMED
from ldnkit.fhir.mapping.references import reference_id_sql as reference_id
from ldnkit.fhir.mapping.references import reference_text_id_sql as reference_text_id
from ldnkit.fhir.reading import bulk_medications
from ldnkit.knowledge import knowledge_base
from ldnkit.population.duckdb_engine import register_views, run_script, unreadable_export
from ldnkit.population.reduction import CODE, REF
from ldnkit.population.rows import paused_gc
from ldnkit.population.workers import default_workers, fork_map
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
# Of a pain score's or a diagnosis's code only the codings' systems and codes are read: the
# display texts are long and unused, and a column not asked for is never built.
CODINGS = "STRUCT(coding STRUCT(system VARCHAR, code VARCHAR)[])"
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
        "code": CODINGS,
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
        "code": CODINGS,
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

# Step 1: each file read once, into tables of the fields used; the distinct medications named;
# the patient each distinct reference names (a patient's records share a few forms of
# reference: each is read once, not once per record).
_READ = f"""
CREATE TEMP TABLE req AS
SELECT *, hash(concept, medref, dose_mg) AS mkey FROM (SELECT *, dose_in_mg(dose) AS dose_mg FROM (
  SELECT resourceType AS rtype, id, subject.reference AS pref, status, intent,
    authoredOn, medicationCodeableConcept AS concept, medicationReference AS medref,
    json_extract(dosageInstruction, '$[0].doseAndRate[0].doseQuantity') AS dose
  FROM "MedicationRequest"
));
CREATE TEMP TABLE disp AS
SELECT *, hash(concept, medref, dose_mg) AS mkey FROM (SELECT *, dose_in_mg(dose) AS dose_mg FROM (
  SELECT resourceType AS rtype, id, subject.reference AS pref, status, whenHandedOver,
    json_extract(daysSupply, '$.value') AS days, medicationCodeableConcept AS concept,
    medicationReference AS medref,
    json_extract(dosageInstruction, '$[0].doseAndRate[0].doseQuantity') AS dose,
    {reference_id("authorizingPrescription[1]")} AS presc
  FROM "MedicationDispense"
));
CREATE TEMP TABLE obs AS
SELECT resourceType AS rtype, id, subject.reference AS pref, status, effectiveDateTime,
  json_extract(valueQuantity, '$.value') AS quantity, valueInteger
FROM "Observation"
WHERE resourceType IS DISTINCT FROM 'Observation' OR len(list_filter(code.coding,
  lambda c: c.system = '{LOINC}' AND list_contains($pain_loinc, c.code))) > 0;
CREATE TEMP TABLE cond AS
SELECT resourceType AS rtype, id, subject.reference AS pref,
  clinicalStatus IS NOT NULL AS has_clinical, verificationStatus IS NOT NULL AS has_verification,
  json_extract_string(clinicalStatus, '$.coding[0].code') AS clinical,
  json_extract_string(verificationStatus, '$.coding[0].code') AS verification,
  recordedDate,
  list_transform(list_filter(code.coding, lambda c: c.system IN ('{ICD10CM}', '{SNOMED}')
    AND c.code IS NOT NULL),
    lambda c: CASE WHEN c.system = '{ICD10CM}' THEN 'icd10cm' ELSE 'snomed' END || '|' || c.code)
    AS codes
FROM "Condition";
CREATE TEMP TABLE pat AS SELECT resourceType AS rtype, id FROM "Patient";
CREATE TEMP TABLE ref AS
SELECT pref, {reference_text_id("pref")} AS pid FROM (SELECT DISTINCT pref FROM (
  SELECT pref FROM req UNION ALL SELECT pref FROM disp UNION ALL SELECT pref FROM obs
  UNION ALL SELECT pref FROM cond
) WHERE pref IS NOT NULL);
CREATE TEMP TABLE med_kind AS
SELECT row_number() OVER () - 1 AS kind, * FROM (
  SELECT DISTINCT mkey, concept, medref, dose_mg FROM (
    SELECT mkey, concept, medref, dose_mg FROM req WHERE rtype = 'MedicationRequest'
    UNION ALL
    SELECT mkey, concept, medref, dose_mg FROM disp WHERE rtype = 'MedicationDispense'
  ) WHERE concept IS NOT NULL OR medref IS NOT NULL
);
"""  # noqa: S608 (built from constants only)
_KINDS = "SELECT kind, concept, medref, dose_mg FROM med_kind"
# Medications are joined back by a 64-bit hash of what they name; two that share one would
# join twice, so that is checked (and has not been seen).
_KIND_HASHES_UNIQUE = "SELECT count(*) = count(DISTINCT mkey) FROM med_kind"

# Step 2: the readings joined back; patients with an LDN order; the checks of what matters.
_CHECK = """
CREATE TEMP TABLE req_k AS
SELECT r.id, ref.pid, r.status, r.authoredOn, k.kind, coalesce(kr.reading, 'other') AS reading,
  coalesce(
    status_problem(r.status, $request_status, 'MedicationRequest'),
    CASE WHEN r.intent IS NULL THEN 'no intent'
      WHEN NOT list_contains($intents, r.intent) THEN 'intent "' || r.intent || '" is not an intent'
      WHEN ref.pid IS NULL OR ref.pid = '' THEN 'no patient (subject)'
      WHEN r.concept IS NULL AND r.medref IS NULL THEN 'no medication'
      WHEN not_a_number(json_extract(r.dose, '$.value')) THEN 'dose is not a number' END,
    date_problem(r.authoredOn, 'authoredOn')
  ) AS problem
FROM req r
LEFT JOIN ref USING (pref)
LEFT JOIN med_kind k ON k.mkey = r.mkey
LEFT JOIN kind_reading kr ON kr.kind = k.kind
WHERE r.rtype = 'MedicationRequest';
CREATE TEMP TABLE candidate AS
SELECT row_number() OVER (ORDER BY pid) - 1 AS idx, pid FROM (
  SELECT DISTINCT pid FROM req_k WHERE problem IS NULL AND reading = 'ldn'
);
CREATE TEMP TABLE candidate_ref AS
SELECT ref.pref, c.idx FROM ref JOIN candidate c ON c.pid = ref.pid;
CREATE TEMP TABLE disp_k AS
SELECT c.idx, d.id, d.presc, d.whenHandedOver, d.status, d.days, k.kind,
  coalesce(kr.reading, 'other') AS reading, o.reading AS presc_reading,
  coalesce(
    status_problem(d.status, $dispense_status, 'MedicationDispense'),
    CASE WHEN d.concept IS NULL AND d.medref IS NULL THEN 'no medication'
      WHEN not_a_number(d.days) THEN 'daysSupply is not a number'
      WHEN json_number(d.days) < 1 THEN 'daysSupply is less than one day'
      WHEN not_a_number(json_extract(d.dose, '$.value')) THEN 'dose is not a number' END,
    date_problem(d.whenHandedOver, 'whenHandedOver'),
    CASE WHEN day_of(d.whenHandedOver) < day_of(o.authoredOn)
      THEN 'handed over before its prescription was written' END
  ) AS problem
FROM disp d
JOIN candidate_ref c ON c.pref = d.pref
LEFT JOIN med_kind k ON k.mkey = d.mkey
LEFT JOIN kind_reading kr ON kr.kind = k.kind
LEFT JOIN (SELECT id, authoredOn, reading FROM req_k WHERE problem IS NULL) o
  ON o.id = d.presc
WHERE d.rtype = 'MedicationDispense';
CREATE TEMP TABLE pain AS
SELECT idx, id, status, effectiveDateTime, value, coalesce(
    status_problem(status, $observation_status, 'Observation'),
    date_problem(effectiveDateTime, 'effectiveDateTime'),
    CASE WHEN not_a_number(quantity) OR not_a_number(valueInteger) THEN 'value is not a number'
      WHEN value IS NULL THEN 'no numeric value'
      WHEN value < $pain_min OR value > $pain_max THEN 'pain score outside 0-10' END
  ) AS problem
FROM (
  SELECT c.idx, o.*, coalesce(json_number(quantity), json_number(valueInteger)) AS value
  FROM obs o JOIN candidate_ref c ON c.pref = o.pref WHERE o.rtype = 'Observation'
);
CREATE TEMP TABLE diag AS
SELECT c.idx, x.id, x.codes, x.clinical, x.verification, x.recordedDate, CASE
    WHEN has_clinical AND NOT coalesce(list_contains($clinical, clinical), false)
      THEN 'clinicalStatus is not a condition clinical status'
    WHEN has_verification AND NOT coalesce(list_contains($verification, verification), false)
      THEN 'verificationStatus is not a condition verification status'
    WHEN recordedDate IS NOT NULL THEN date_problem(recordedDate, 'recordedDate')
  END AS problem
FROM cond x JOIN candidate_ref c ON c.pref = x.pref WHERE x.rtype = 'Condition';
"""

# What was skipped, and why: one row per type and reason, with an example id.
_SKIPPED = """
SELECT kind, reason, count(*) AS n, min(id) AS example FROM (
  SELECT kind, CASE WHEN rtype IS NULL
      THEN 'not a FHIR resource (a line that is not JSON, or no resourceType)'
      ELSE 'a ' || rtype || ' in a ' || kind || ' file' END AS reason, id
  FROM (
    SELECT 'Patient' AS kind, rtype, id FROM pat
    UNION ALL SELECT 'MedicationRequest', rtype, id FROM req
    UNION ALL SELECT 'MedicationDispense', rtype, id FROM disp
    UNION ALL SELECT 'Observation', rtype, id FROM obs
    UNION ALL SELECT 'Condition', rtype, id FROM cond
  ) WHERE rtype IS DISTINCT FROM kind
  UNION ALL
  SELECT 'MedicationRequest', problem, id FROM req_k
    WHERE problem IS NOT NULL AND (reading <> 'other' OR problem = 'no medication'
      OR starts_with(problem, 'no patient'))
  UNION ALL
  SELECT 'MedicationRequest', 'naltrexone order with no dose in mg: not counted as LDN', id
    FROM req_k WHERE problem IS NULL AND reading = 'dose-unknown'
  UNION ALL
  SELECT 'MedicationRequest', 'names its drug by neither text nor RxNorm: cannot tell if LDN', id
    FROM req_k WHERE problem IS NULL AND reading = 'unnamed'
  UNION ALL
  SELECT 'MedicationDispense', 'names its drug by neither text nor RxNorm: cannot tell if LDN',
    id FROM disp_k WHERE problem IS NULL AND reading = 'unnamed'
    AND presc_reading IS DISTINCT FROM 'ldn'
  UNION ALL
  SELECT 'MedicationDispense', problem, id FROM disp_k WHERE problem IS NOT NULL
    AND (reading <> 'other' OR presc_reading = 'ldn' OR problem = 'no medication')
  UNION ALL
  SELECT 'Observation', problem, id FROM pain WHERE problem IS NOT NULL
  UNION ALL
  SELECT 'Condition', problem, id FROM diag WHERE problem IS NOT NULL
  UNION ALL
  SELECT 'Condition', 'no recordedDate: not used as a predictor', id FROM diag
    WHERE problem IS NULL AND recordedDate IS NULL
) GROUP BY ALL ORDER BY kind, n DESC, reason
"""

# Step 3: what the domain reads, flat and sorted by patient number, then by every column, so
# that a run gives the same rows in the same order however DuckDB divided the work (compact
# Arrow tables).
_FLAT = {
    "patients": "SELECT idx, pid FROM candidate ORDER BY idx",
    "orders": """
SELECT idx, id, day_of(authoredOn), status, kind FROM req_k r JOIN candidate c USING (pid)
WHERE problem IS NULL AND reading = 'ldn' ORDER BY ALL
""",
    "fills": """
SELECT idx, id, nullif(presc, ''), day_of(whenHandedOver), status,
  CAST(round(json_number(days)) AS INTEGER), kind
FROM disp_k WHERE problem IS NULL AND (reading = 'ldn' OR presc_reading = 'ldn') ORDER BY ALL
""",
    "pain": """
SELECT idx, day_of(effectiveDateTime), value, status, effectiveDateTime
FROM pain WHERE problem IS NULL ORDER BY ALL
""",
    "diagnoses": """
SELECT idx, array_to_string(codes, ' '), clinical, verification, day_of(recordedDate)
FROM diag WHERE problem IS NULL AND len(codes) > 0 ORDER BY ALL
""",
}


@dataclass
class Export:
    """An export read for outcomes: what the domain reads, flat, and what was skipped.

    `tables` are Arrow tables sorted by `idx`, the number of a patient with an LDN order
    (0 to `candidates` - 1): patients, orders, fills, pain scores, diagnoses.
    """

    patients: int
    candidates: int
    skipped: list[Skipped]
    tables: dict[str, Any]
    kinds: dict[int, Medication]

    def courses(self, low: int = 0, high: int | None = None) -> Iterator[TherapyCourse]:
        """The courses of patients `low` to `high` - 1 (all by default)."""
        high = self.candidates if high is None else min(high, self.candidates)
        if low >= high:
            return
        # Built whole with the cycle collector paused: many small objects, no cycles.
        with paused_gc():
            courses = self._build(low, high)
        yield from courses

    def _build(self, low: int, high: int) -> list[TherapyCourse]:
        # Column by column: each kind of record is made in one pass over its columns (no
        # Python loop per record), then each patient takes its run of them.
        kinds = self.kinds.__getitem__
        # A fill that names no medication of its own is read through its prescription.
        fill_kinds = cast(dict[int | None, Medication], dict(self.kinds))
        fill_kinds[None] = Medication(None)
        fill_kind = fill_kinds.__getitem__
        (_, pids), _ = self._part("patients", low, high)
        (_, ids, authored, status, kind), order_runs = self._part("orders", low, high)
        orders = list(map(Prescription, ids, authored, status, map(kinds, kind)))
        (_, ids, presc, handed, status, days, kind), fill_runs = self._part("fills", low, high)
        fills = list(map(Dispense, ids, presc, handed, status, days, map(fill_kind, kind)))
        (_, *scores), pain_runs = self._part("pain", low, high)
        pain = list(map(PainScore, *scores))
        (_, codes, clinical, verification, recorded), diagnosis_runs = self._part(
            "diagnoses", low, high
        )
        # Patients share a few hundred combinations of codes: each is split once.
        coded = {text: tuple(_coding(code) for code in text.split(" ")) for text in set(codes)}
        diagnoses = list(
            map(Diagnosis, map(coded.__getitem__, codes), clinical, verification, recorded)
        )

        return [
            TherapyCourse(
                pid,
                tuple(orders[order_runs[i] : order_runs[i + 1]]),
                tuple(fills[fill_runs[i] : fill_runs[i + 1]]),
                tuple(pain[pain_runs[i] : pain_runs[i + 1]]),
                tuple(diagnoses[diagnosis_runs[i] : diagnosis_runs[i + 1]]),
            )
            for i, pid in enumerate(pids)
        ]

    def _part(self, name: str, low: int, high: int) -> tuple[list[list[Any]], list[int]]:
        """A table's columns for patients `low` to `high` - 1, as Python values, and where
        each patient's rows begin: patient `low + i` has rows runs[i] to runs[i + 1] - 1."""
        table = self.tables[name]
        index = table.column(0).to_numpy()
        runs = np.searchsorted(index, np.arange(low, high + 1))
        part = table.slice(int(runs[0]), int(runs[-1] - runs[0]))
        return [_python_values(column) for column in part.columns], (runs - runs[0]).tolist()


def _coding(text: str) -> tuple[CodeSystem, str]:
    system, _, code = text.partition("|")
    return ("icd10cm" if system == "icd10cm" else "snomed"), code


_EPOCH = dt.date(1970, 1, 1).toordinal()


def _python_values(column: Any) -> list[Any]:
    """A column's values as Python objects; days as dates made once per distinct day.

    Arrow makes a new date object per value, at about a microsecond each: a clinic's dates
    fall on a few thousand distinct days, so most of that work repeats (half the time spent
    turning the tables into courses, before).
    """
    if not pa.types.is_date32(column.type):
        return list(column.to_pylist())
    days = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    numbers = days.cast(pa.int32()).fill_null(0).to_numpy()
    distinct, where = np.unique(numbers, return_inverse=True)
    made = np.array([dt.date.fromordinal(_EPOCH + int(n)) for n in distinct] + [None], object)
    # Nulls point at the None after the distinct days.
    where[~days.is_valid().to_numpy(zero_copy_only=False)] = len(distinct)
    return list(made[where].tolist())


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


def _reading(medication: Medication) -> str:
    # A drug named only by a code ldnkit does not read (an NDC, a local code) is not "not LDN":
    # it is counted as unreadable, so that a clinic sees how many it could not place.
    if not medication.name and not medication.rxnorm:
        return "unnamed"
    return read_ldn(medication)


def read_export(folder: Path) -> Export:
    """Read a Bulk Data export for outcomes; InputError when it cannot be read at all."""
    con = duckdb.connect()
    try:
        con.execute("SET enable_progress_bar = false")
        # Tables are filled in parallel in any order: every result that is read back is
        # sorted (by patient, then by the record's own fields).
        con.execute("SET preserve_insertion_order = false")
        files = register_views(con, folder, COLUMNS, skip_unreadable=True)
        missing = [kind for kind in REQUIRED_TYPES if kind not in files]
        if missing:
            # Without fills every patient would look never started: not a figure to give.
            raise InputError.single(
                "folder",
                str(folder),
                f"an export with {' and '.join(missing)} files (this folder has none)",
            )
        params = parameters()
        run_script(con, _MACROS, params)
        run_script(con, _READ, params)
        medications = bulk_medications(folder) if "Medication" in files else {}
        kinds = {
            kind: kind_medication(concept, medref, dose, medications)
            for kind, concept, medref, dose in con.execute(_KINDS).fetchall()
        }
        ((unique,),) = con.execute(_KIND_HASHES_UNIQUE).fetchall()
        if not unique:  # pragma: no cover - a 64-bit collision among a clinic's medications
            raise InputError.single(
                "folder", str(folder), "medications ldnkit can tell apart (please report this)"
            )
        con.execute("CREATE TEMP TABLE kind_reading (kind BIGINT, reading VARCHAR)")
        if kinds:
            readings = [(kind, _reading(medication)) for kind, medication in kinds.items()]
            con.executemany("INSERT INTO kind_reading VALUES (?, ?)", readings)
        run_script(con, _CHECK, params)
        skipped = [
            Skipped(kind, reason, int(n), example)
            for kind, reason, n, example in con.execute(_SKIPPED).fetchall()
        ]
        ((patients,),) = con.execute(
            "SELECT count(DISTINCT id) FROM pat WHERE rtype = 'Patient'"
        ).fetchall()
        ((candidates,),) = con.execute("SELECT count(*) FROM candidate").fetchall()
        tables = {name: con.sql(sql).to_arrow_table() for name, sql in _FLAT.items()}
    except duckdb.Error as exc:
        raise unreadable_export(folder, exc) from None
    finally:
        # Closed before any worker process is forked: DuckDB runs threads of its own.
        con.close()
    return Export(int(patients), int(candidates), skipped, tables, kinds)


def _load_for_figures() -> None:
    # The drug lexicon first: the reading needs it as soon as DuckDB has named the medications.
    read_ldn(Medication("naltrexone"))
    knowledge_base()  # loaded once here, not once in every worker
    statistics.load()


def outcomes_from_export(
    folder: Path, as_of: dt.date, grace_days: int | None = None, workers: int | None = None
) -> tuple[OutcomeRun, Export]:
    """The clinic's outcome figures from a Bulk Data export, and what the reading skipped.

    The courses are assessed in `workers` processes (default: one per CPU for large exports),
    each tallying a range of patients; the tallies are merged before the figures are made.
    """
    # The knowledge base and the statistics library load while DuckDB reads (its threads do
    # not hold Python's lock): most of a second that the run would otherwise wait for after.
    loading = threading.Thread(target=_load_for_figures, daemon=True)
    loading.start()
    try:
        export = read_export(folder)
    finally:
        # Before any worker is forked: a fork must not happen while another thread runs.
        loading.join()
    grace, graces = grace_periods(grace_days)
    count = default_workers(export.candidates) if workers is None else workers
    bounds = [export.candidates * part // max(count, 1) for part in range(max(count, 1) + 1)]

    def tally(part: int) -> OutcomeTally:
        with paused_gc():
            courses = export.courses(bounds[part], bounds[part + 1])
            return OutcomeTally(as_of, graces).add_courses(courses)

    tallies = fork_map(tally, len(bounds) - 1, count)
    total = tallies[0]
    for other in tallies[1:]:
        total.merge(other)
    return outcome_run(total, grace), export
