"""FHIR R4 resources -> the screening profile (`ldnkit.domain.profile`).

What counts, and why (each choice errs on the side of the patient's safety):

MedicationRequest.status
    active, on-hold, draft, unknown -> "active". on-hold is a pause, not an end; draft is the
    order being written (what CDS Hooks `order-select` sends); unknown cannot be assumed over.
    completed, stopped, cancelled -> "stopped", with the last dose estimated (below).
    entered-in-error -> not a medication of this patient at all (None).
MedicationStatement.status
    active, on-hold, intended, unknown -> "active" (intended: about to be taken).
    completed, stopped -> "stopped". not-taken, entered-in-error -> None.
Last dose of a stopped medication
    MedicationStatement: the end of effectivePeriod, else effectiveDateTime, else dateAsserted.
    MedicationRequest: authoredOn (or dispenseRequest.validityPeriod.start) plus the supply:
    dispenseRequest.expectedSupplyDuration x (1 + numberOfRepeatsAllowed); else the dispensed
    quantity divided by the daily dose of the dosage instruction, x (1 + repeats); else
    DEFAULT_SUPPLY_DAYS, a usual community supply, because an order with no supply information
    may well have been taken for weeks after it was written. A cancelled order never started:
    its last dose is at most the order date. The profile caps any estimate at `as_of`.
Condition
    counts when clinicalStatus is active, recurrence or relapse (or absent) and
    verificationStatus is not refuted or entered-in-error. Of its ICD-10-CM and SNOMED CT codings,
    text and displays, the first the knowledge base recognises is sent; else the first code.
AllergyIntolerance
    active (or no clinicalStatus), not refuted or entered-in-error -> an allergy by RxNorm code
    and name; the screen decides which substances matter.
Observation
    the latest final/amended/corrected pregnancy status (LOINC 82810-3 or 11449-6) sets
    `pregnant`: SNOMED 77386006 or LOINC LA15173-0 -> true; SNOMED 60001007 or LOINC LA26683-5
    -> false; any other answer (unknown) leaves it unset.
Procedure / ServiceRequest
    a Procedure in preparation (or on hold) or an active/draft/on-hold ServiceRequest, dated on
    or after `as_of`, is a planned procedure; opioids are assumed expected unless known otherwise.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from typing import Any

from ldnkit.domain.profile import (
    CodedCondition,
    Condition,
    Medication,
    PatientProfile,
    PlannedProcedure,
    Sex,
    Substance,
)
from ldnkit.fhir.boundary import label, resource_problems, validated
from ldnkit.knowledge import knowledge_base
from ldnkit.validation import InputError, Problem

RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
SNOMED = "http://snomed.info/sct"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
LOINC = "http://loinc.org"

DEFAULT_SUPPLY_DAYS = 30

REQUEST_ACTIVE = frozenset({"active", "on-hold", "draft", "unknown"})
REQUEST_STOPPED = frozenset({"completed", "stopped", "cancelled"})
STATEMENT_ACTIVE = frozenset({"active", "on-hold", "intended", "unknown"})
STATEMENT_STOPPED = frozenset({"completed", "stopped"})
CONDITION_ACTIVE = frozenset({"active", "recurrence", "relapse"})
NOT_TRUE = frozenset({"refuted", "entered-in-error"})
PREGNANCY_STATUS_LOINC = frozenset({"82810-3", "11449-6"})
# Answers seen for pregnancy status: SNOMED CT findings (as in CQF test cases) or the LOINC
# answer list of HL7's pregnancy-status value set (LA15173-0 pregnant, LA26683-5 not pregnant).
_PREGNANT = {
    (SNOMED, "77386006"): True,
    (SNOMED, "60001007"): False,
    (LOINC, "LA15173-0"): True,
    (LOINC, "LA26683-5"): False,
}
_FINAL_OBSERVATION = frozenset({"final", "amended", "corrected"})
PLANNED_PROCEDURE = frozenset({"preparation", "on-hold"})
PLANNED_REQUEST = frozenset({"active", "draft", "on-hold"})

# UCUM / FHIR duration units -> days.
_UNIT_DAYS = {
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


def _codings(concept: Any) -> list[dict[str, Any]]:
    if not isinstance(concept, dict):
        return []
    return [c for c in concept.get("coding") or [] if isinstance(c, dict)]


def _code(concept: Any, system: str) -> str | None:
    for coding in _codings(concept):
        if coding.get("system") == system and coding.get("code"):
            return str(coding["code"])
    return None


def _status_code(concept: Any) -> str | None:
    for coding in _codings(concept):
        if coding.get("code"):
            return str(coding["code"])
    return None


def _concept_name(concept: Any, prefer: str | None = None) -> str | None:
    """The best human name of a concept: the preferred system's display, the text, any display."""
    if not isinstance(concept, dict):
        return None
    codings = _codings(concept)
    for coding in codings:
        if coding.get("system") == prefer and coding.get("display"):
            return str(coding["display"]).strip() or None
    if concept.get("text"):
        return str(concept["text"]).strip() or None
    for coding in codings:
        if coding.get("display"):
            return str(coding["display"]).strip() or None
    return None


def _rxnorm(concept: Any) -> str | None:
    code = _code(concept, RXNORM)
    # RxNorm concept ids are digits; anything else would not be an RxNorm code.
    return code if code and code.isdigit() and len(code) <= 10 else None


def _contained_index(
    resource: Mapping[str, Any], supplied: Mapping[str, dict[str, Any]] | None
) -> dict[str, dict[str, Any]]:
    index: dict[str, dict[str, Any]] = {}
    for key, med in (supplied or {}).items():
        index[key] = med
        if isinstance(med, dict) and med.get("id"):
            index[f"Medication/{med['id']}"] = med
    for med in resource.get("contained") or []:
        if isinstance(med, dict) and med.get("id"):
            index[f"#{med['id']}"] = med
    return index


def _medication_concept(
    resource: Mapping[str, Any], supplied: Mapping[str, dict[str, Any]] | None
) -> Any:
    if resource.get("medicationCodeableConcept") is not None:
        return resource["medicationCodeableConcept"]
    ref = (resource.get("medicationReference") or {}).get("reference")
    if not isinstance(ref, str):
        return None
    index = _contained_index(resource, supplied)
    candidates = [ref, ref.lstrip("#"), ref.rsplit("/", 1)[-1], f"Medication/{ref.lstrip('#')}"]
    for key in candidates:
        med = index.get(key)
        if med is not None:
            return med.get("code")
    # An unresolved reference still carries what the sender called the drug.
    display = (resource.get("medicationReference") or {}).get("display")
    return {"text": display} if display else None


def duration_days(duration: Any) -> float | None:
    """A FHIR Duration in days (None when it is missing or in an unknown unit)."""
    if not isinstance(duration, dict):
        return None
    value = duration.get("value")
    unit = duration.get("code") or duration.get("unit")
    if not isinstance(value, int | float) or not isinstance(unit, str):
        return None
    factor = _UNIT_DAYS.get(unit.strip().lower()) or _UNIT_DAYS.get(unit.strip())
    return float(value) * factor if factor else None


def _daily_units(dosages: Any) -> float | None:
    """Units taken per day by the first dosage instruction with a dose and a timing."""
    for dosage in dosages or []:
        if not isinstance(dosage, dict):
            continue
        repeat = (dosage.get("timing") or {}).get("repeat") or {}
        per_period = repeat.get("frequencyMax") or repeat.get("frequency") or 1
        period = repeat.get("period")
        unit_days = _UNIT_DAYS.get(str(repeat.get("periodUnit")))
        for dose_rate in dosage.get("doseAndRate") or []:
            dose = (dose_rate.get("doseQuantity") or {}).get("value")
            if isinstance(dose, int | float) and dose > 0 and period and unit_days:
                return float(dose) * float(per_period) / (float(period) * unit_days)
    return None


def request_supply_days(resource: Mapping[str, Any]) -> float:
    """How many days a MedicationRequest's supply (with refills) covers at most."""
    dispense = resource.get("dispenseRequest") or {}
    repeats = dispense.get("numberOfRepeatsAllowed")
    fills = 1 + (repeats if isinstance(repeats, int) and repeats > 0 else 0)
    days = duration_days(dispense.get("expectedSupplyDuration"))
    if days is None:
        quantity = (dispense.get("quantity") or {}).get("value")
        daily = _daily_units(resource.get("dosageInstruction"))
        if isinstance(quantity, int | float) and quantity > 0 and daily:
            days = float(quantity) / daily
    if days is None:
        return float(DEFAULT_SUPPLY_DAYS)
    return days * fills


def request_start(resource: Mapping[str, Any]) -> dt.date | None:
    """The day a MedicationRequest's supply starts: authoredOn, else the validity start."""
    validity = (resource.get("dispenseRequest") or {}).get("validityPeriod") or {}
    return fhir_date(resource.get("authoredOn"), latest=True, field="authoredOn") or fhir_date(
        validity.get("start"), latest=True
    )


def request_dose_days(resource: Mapping[str, Any]) -> int:
    """Days from a stopped request's start to its estimated last dose (0 when cancelled)."""
    if resource.get("status") == "cancelled":
        return 0
    return round(request_supply_days(resource))


def _request_last_dose(resource: Mapping[str, Any]) -> dt.date | None:
    start = request_start(resource)
    return None if start is None else start + dt.timedelta(days=request_dose_days(resource))


def _statement_last_dose(resource: Mapping[str, Any]) -> dt.date | None:
    period = resource.get("effectivePeriod") or {}
    return (
        fhir_date(period.get("end"), latest=True)
        or fhir_date(resource.get("effectiveDateTime"), latest=True)
        or fhir_date(period.get("start"), latest=True)
        or fhir_date(resource.get("dateAsserted"), latest=True)
    )


def medication_from_fhir(
    resource: dict[str, Any], contained: Mapping[str, dict[str, Any]] | None = None
) -> Medication | None:
    """A MedicationRequest or MedicationStatement as a screening medication.

    `contained` supplies Medication resources that `medicationReference` may point to, keyed
    by their reference (`Medication/123`, `#med1`) or id; the resource's own `contained` list is
    always searched. Returns None for records that say nothing about the patient's medication
    (entered in error, not taken) and for a medication with neither an RxNorm code nor a name.
    Raises InputError when the resource is not valid FHIR R4.
    """
    return medication_from_fragment(validated(resource), contained)


def medication_from_fragment(
    resource: Mapping[str, Any], contained: Mapping[str, dict[str, Any]] | None
) -> Medication | None:
    """medication_from_fhir without validation, for fragments the caller already checked."""
    kind = resource["resourceType"]
    status = resource.get("status")
    if kind == "MedicationRequest":
        active, stopped = REQUEST_ACTIVE, REQUEST_STOPPED
    elif kind == "MedicationStatement":
        active, stopped = STATEMENT_ACTIVE, STATEMENT_STOPPED
    else:
        raise InputError.single(
            f"{label(resource)}.resourceType", kind, "MedicationRequest or MedicationStatement"
        )
    if status not in active and status not in stopped:
        return None
    concept = _medication_concept(resource, contained)
    rxnorm = _rxnorm(concept)
    name = _concept_name(concept, prefer=RXNORM)
    if not rxnorm and not name:
        return None
    if status in active:
        return Medication(name=name, rxnorm=rxnorm, status="active")
    last_dose = (
        _request_last_dose(resource)
        if kind == "MedicationRequest"
        else _statement_last_dose(resource)
    )
    return Medication(name=name, rxnorm=rxnorm, status="stopped", last_dose=last_dose)


def condition_from_fhir(resource: Mapping[str, Any]) -> Condition | None:
    """An active, not refuted Condition as a screening condition; None otherwise."""
    clinical = _status_code(resource.get("clinicalStatus"))
    if clinical is not None and clinical not in CONDITION_ACTIVE:
        return None
    if _status_code(resource.get("verificationStatus")) in NOT_TRUE:
        return None
    return _condition_entry(resource.get("code"))


def _condition_entry(code: Any) -> Condition | None:
    # The knowledge base may know a condition by one of its codings or only by its name;
    # send the screen the form it recognises, else the first ICD-10-CM/SNOMED code, else text.
    kb = knowledge_base()
    candidates: list[Condition] = []
    for system, short in ((ICD10CM, "icd10cm"), (SNOMED, "snomed")):
        for coding in _codings(code):
            if coding.get("system") == system and coding.get("code"):
                candidates.append(CodedCondition(system=short, code=str(coding["code"])))
    names = [code.get("text")] if isinstance(code, dict) else []
    names += [c.get("display") for c in _codings(code)]
    candidates += [str(n).strip() for n in names if isinstance(n, str) and n.strip()]
    for candidate in candidates:
        if isinstance(candidate, CodedCondition):
            found = kb.find_condition(candidate.code, candidate.system)
        else:
            found = kb.find_condition(candidate)
        if found is not None:
            return candidate
    return candidates[0] if candidates else None


def allergy_from_fhir(resource: Mapping[str, Any]) -> Substance | None:
    """An active, not refuted AllergyIntolerance as a substance; None otherwise."""
    clinical = _status_code(resource.get("clinicalStatus"))
    if clinical is not None and clinical != "active":
        return None
    if _status_code(resource.get("verificationStatus")) in NOT_TRUE:
        return None
    code = resource.get("code")
    rxnorm = _rxnorm(code)
    name = _concept_name(code, prefer=RXNORM)
    return Substance(name=name, rxnorm=rxnorm) if rxnorm or name else None


def pregnancy_from_fhir(resource: Mapping[str, Any]) -> tuple[dt.date, bool] | None:
    """(date, pregnant) from a final pregnancy-status Observation; None for anything else."""
    if resource.get("status") not in _FINAL_OBSERVATION:
        return None
    if _code(resource.get("code"), LOINC) not in PREGNANCY_STATUS_LOINC:
        return None
    answers = [
        _PREGNANT[key]
        for c in _codings(resource.get("valueCodeableConcept"))
        if (key := (c.get("system"), c.get("code"))) in _PREGNANT
    ]
    if not answers:
        return None
    when = (
        fhir_date(resource.get("effectiveDateTime"))
        or fhir_date((resource.get("effectivePeriod") or {}).get("start"))
        or fhir_date(resource.get("issued"))
        or dt.date.min
    )
    return when, answers[0]


def planned_procedure_from_fhir(
    resource: Mapping[str, Any], as_of: dt.date
) -> PlannedProcedure | None:
    """A Procedure or ServiceRequest planned on or after `as_of`; None otherwise."""
    kind = resource.get("resourceType")
    if kind == "Procedure":
        if resource.get("status") not in PLANNED_PROCEDURE:
            return None
        when = fhir_date(resource.get("performedDateTime")) or fhir_date(
            (resource.get("performedPeriod") or {}).get("start")
        )
    elif kind == "ServiceRequest":
        if resource.get("status") not in PLANNED_REQUEST:
            return None
        when = fhir_date(resource.get("occurrenceDateTime")) or fhir_date(
            (resource.get("occurrencePeriod") or {}).get("start")
        )
    else:
        return None
    if when is None or when < as_of:
        return None
    return PlannedProcedure(date=when, name=_concept_name(resource.get("code"), prefer=SNOMED))


def demographics(patient: Mapping[str, Any], as_of: dt.date) -> tuple[int | None, Sex]:
    """(age, sex) of a Patient resource on a day; a deceased patient keeps the age they died at."""
    age = None
    birth = fhir_date(patient.get("birthDate"))
    died = fhir_date(patient.get("deceasedDateTime"))
    until = min(as_of, died) if died else as_of
    if birth is not None and birth <= until:
        age = min(age_on(birth, until), 130)
    gender = patient.get("gender")
    sex: Sex = gender if gender in ("female", "male", "other") else "unknown"
    return age, sex


def age_on(birth: dt.date, day: dt.date) -> int:
    """Whole years between a birth date and a day."""
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def patient_ref_id(reference: Any) -> str | None:
    """The patient id in `Patient/<id>`, `urn:uuid:<id>`, an absolute URL or a bare id."""
    if isinstance(reference, dict):
        reference = reference.get("reference")
    if not isinstance(reference, str) or not reference or "?" in reference:
        return None
    if reference.startswith("urn:uuid:"):
        return reference[len("urn:uuid:") :]
    if "/" in reference:
        parts = reference.rstrip("/").split("/")
        # .../Patient/<id>/_history/<v> names the same patient.
        if len(parts) >= 4 and parts[-2] == "_history":
            parts = parts[:-2]
        return parts[-1]
    return reference


def subject_id(resource: Mapping[str, Any]) -> str | None:
    """The id of the patient a clinical resource is about."""
    return patient_ref_id(resource.get("subject") or resource.get("patient"))


_PROFILE_TYPES = frozenset(
    {
        "Condition",
        "MedicationRequest",
        "MedicationStatement",
        "Observation",
        "Procedure",
        "ServiceRequest",
        "AllergyIntolerance",
    }
)


def profile_from_resources(
    resources: Iterable[dict[str, Any]],
    as_of: dt.date,
    patient_id: str | None = None,
    *,
    validate: bool = True,
) -> PatientProfile:
    """One patient's FHIR resources as the safety screen's profile on `as_of`.

    Resources of other types (Encounter, Immunization...) are ignored; resources about another
    patient are ignored when the patient is known (by `patient_id` or the one Patient resource).
    Every resource read is validated first; all problems are reported together as InputError.
    `validate=False` skips that check, for input already validated (or benchmark baselines).
    """
    items = list(resources)
    problems: list[Problem] = []
    for item in items if validate else ():
        problems.extend(resource_problems(item))
    if problems:
        raise InputError(problems)
    patients = [r for r in items if r.get("resourceType") == "Patient"]
    if patient_id is not None:
        patient_id = patient_ref_id(patient_id) or patient_id
        known = [str(p.get("id")) for p in patients]
        patients = [p for p in patients if p.get("id") == patient_id]
        if known and not patients:
            raise InputError.single(
                "patient", patient_id, "one of the patients in the input: " + ", ".join(known[:5])
            )
    elif len(patients) > 1:
        raise InputError.single(
            "patient", f"{len(patients)} Patient resources", "one patient (choose one by id)"
        )
    patient = patients[0] if patients else None
    wanted = patient_id or (patient or {}).get("id")

    medications_index = {
        f"Medication/{r['id']}": r
        for r in items
        if r.get("resourceType") == "Medication" and r.get("id")
    }
    conditions: list[Condition] = []
    medications: list[Medication] = []
    allergies: list[Substance] = []
    procedures: list[PlannedProcedure] = []
    pregnancy: tuple[dt.date, bool] | None = None
    for item in items:
        kind = item.get("resourceType")
        if kind not in _PROFILE_TYPES:
            continue
        about = subject_id(item)
        if wanted is not None and about is not None and about != wanted:
            continue
        if kind == "Condition":
            condition = condition_from_fhir(item)
            if condition is not None and condition not in conditions:
                conditions.append(condition)
        elif kind in ("MedicationRequest", "MedicationStatement"):
            medication = medication_from_fragment(item, medications_index)
            if medication is not None:
                medications.append(_cap_last_dose(medication, as_of))
        elif kind == "AllergyIntolerance":
            allergy = allergy_from_fhir(item)
            if allergy is not None and allergy not in allergies:
                allergies.append(allergy)
        elif kind == "Observation":
            found = pregnancy_from_fhir(item)
            if found is not None and (pregnancy is None or found[0] >= pregnancy[0]):
                pregnancy = found
        else:
            procedure = planned_procedure_from_fhir(item, as_of)
            if procedure is not None:
                procedures.append(procedure)

    age, sex = demographics(patient or {}, as_of)
    return PatientProfile.model_validate(
        {
            "as_of": as_of,
            "age": age,
            "sex": sex,
            "conditions": conditions,
            "medications": distinct_medications(medications),
            "allergies": allergies,
            "pregnant": pregnancy[1] if pregnancy else None,
            "planned_procedures": procedures,
        }
    )


def distinct_medications(medications: Iterable[Medication]) -> list[Medication]:
    """One entry per drug and status; of repeated stopped orders only the latest dose matters."""
    kept: dict[tuple[str | None, str | None, str], Medication] = {}
    for med in medications:
        key = (med.name, med.rxnorm, med.status)
        seen = kept.get(key)
        if seen is None or (
            med.last_dose is not None and (seen.last_dose is None or med.last_dose > seen.last_dose)
        ):
            kept[key] = med
    return list(kept.values())


def _cap_last_dose(medication: Medication, as_of: dt.date) -> Medication:
    # A stopped medication cannot have been taken after the day the screen looks from.
    if medication.last_dose is not None and medication.last_dose > as_of:
        return medication.model_copy(update={"last_dose": as_of})
    return medication
