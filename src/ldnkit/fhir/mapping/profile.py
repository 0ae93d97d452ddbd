"""One patient's FHIR resources -> the safety screen's profile.

The profile is a fold: each resource gives at most one fact (`fold`), and the facts add up
(`ProfileFacts`): conditions and allergies once each, medications one per drug and status (the
latest stopped dose), the latest pregnancy status, every planned procedure. The population
engines fold the fragments they reduce with these same two pieces, so a resource counts the
same whether one patient is screened or a whole export.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from ldnkit.domain.profile import (
    Condition,
    Medication,
    PatientProfile,
    PlannedProcedure,
    Sex,
    Substance,
)
from ldnkit.fhir.boundary import resource_problems
from ldnkit.fhir.mapping.clinical import (
    PregnancyStatus,
    allergy_from_fhir,
    condition_from_fhir,
    planned_procedure_from_fhir,
    pregnancy_from_fhir,
)
from ldnkit.fhir.mapping.datatypes import age_on, fhir_date
from ldnkit.fhir.mapping.medications import (
    Medications,
    cap_last_dose,
    distinct_medications,
    medication_from_fragment,
    medication_index,
)
from ldnkit.fhir.mapping.references import patient_ref_id, subject_id
from ldnkit.validation import InputError, Problem

Fact = Condition | Medication | Substance | PregnancyStatus | PlannedProcedure

PROFILE_TYPES = frozenset(
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


def fold(
    resource: Mapping[str, Any], as_of: dt.date, medications: Medications | None = None
) -> Fact | None:
    """The one fact a resource adds to its patient's profile on `as_of` (None: nothing)."""
    kind = resource.get("resourceType")
    if kind == "Condition":
        return condition_from_fhir(resource)
    if kind in ("MedicationRequest", "MedicationStatement"):
        medication = medication_from_fragment(resource, medications)
        return None if medication is None else cap_last_dose(medication, as_of)
    if kind == "AllergyIntolerance":
        return allergy_from_fhir(resource)
    if kind == "Observation":
        return pregnancy_from_fhir(resource)
    if kind in ("Procedure", "ServiceRequest"):
        return planned_procedure_from_fhir(resource, as_of)
    return None


class ProfileFacts:
    """The facts of one patient's resources, added up as the profile holds them."""

    __slots__ = ("allergies", "conditions", "medications", "pregnancy", "procedures")

    def __init__(self) -> None:
        # Dicts keep the first occurrence of each (hashable, frozen) fact in order.
        self.conditions: dict[Condition, None] = {}
        self.medications: list[Medication] = []
        self.allergies: dict[Substance, None] = {}
        self.pregnancy: PregnancyStatus | None = None
        self.procedures: list[PlannedProcedure] = []

    def add(self, fact: Fact | None) -> None:
        """Count one fact (what `fold` gave for a resource)."""
        if fact is None:
            return
        if isinstance(fact, Medication):
            self.medications.append(fact)
        elif isinstance(fact, Substance):
            self.allergies[fact] = None
        elif isinstance(fact, PregnancyStatus):
            # The latest status wins; of two on one day, the one read last.
            if self.pregnancy is None or fact.date >= self.pregnancy.date:
                self.pregnancy = fact
        elif isinstance(fact, PlannedProcedure):
            self.procedures.append(fact)
        else:
            self.conditions[fact] = None

    def fields(self) -> dict[str, Any]:
        """The profile's fields these facts fill (all but as_of, age and sex)."""
        return {
            "conditions": list(self.conditions),
            "medications": distinct_medications(self.medications),
            "allergies": list(self.allergies),
            "pregnant": None if self.pregnancy is None else self.pregnancy.pregnant,
            "planned_procedures": self.procedures,
        }


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


def profile_from_resources(
    resources: Iterable[dict[str, Any]],
    as_of: dt.date,
    patient_id: str | None = None,
    *,
    validate: bool = True,
) -> PatientProfile:
    """One patient's FHIR resources as the safety screen's profile on `as_of`.

    Resources of other types (Encounter, Immunization...) are ignored; resources about another
    patient are ignored when the patient is known (by `patient_id` or the one Patient resource):
    so is one whose subject names no patient of the input (a contained patient). One that names
    nobody readable (no subject, or a search) is kept: it may well be this patient's.
    Every resource read is validated first; all problems are reported together as InputError.
    `validate=False` skips that check, for input already validated (or benchmark baselines).
    """
    items = list(resources)
    problems: list[Problem] = []
    for item in items if validate else ():
        problems.extend(resource_problems(item))
    if problems:
        raise InputError(problems)
    patient = _the_patient(items, patient_id)
    wanted = patient_ref_id(patient_id) or patient_id or (patient or {}).get("id")
    medications = medication_index(r for r in items if r.get("resourceType") == "Medication")
    facts = ProfileFacts()
    for item in items:
        if item.get("resourceType") not in PROFILE_TYPES:
            continue
        about = subject_id(item)
        if wanted is not None and about != wanted and (about is not None or _contained(item)):
            continue
        facts.add(fold(item, as_of, medications))
    age, sex = demographics(patient or {}, as_of)
    return PatientProfile.model_validate({"as_of": as_of, "age": age, "sex": sex, **facts.fields()})


def _contained(resource: Mapping[str, Any]) -> bool:
    # About a patient contained in the resource: not one of the input's patients.
    about = resource.get("subject") or resource.get("patient")
    return isinstance(about, dict) and str(about.get("reference", "")).startswith("#")


def _the_patient(items: list[dict[str, Any]], patient_id: str | None) -> dict[str, Any] | None:
    patients = [r for r in items if r.get("resourceType") == "Patient"]
    if patient_id is not None:
        wanted = patient_ref_id(patient_id) or patient_id
        known = [str(p.get("id")) for p in patients]
        patients = [p for p in patients if p.get("id") == wanted]
        if known and not patients:
            raise InputError.single(
                "patient", wanted, "one of the patients in the input: " + ", ".join(known[:5])
            )
    elif len(patients) > 1:
        raise InputError.single(
            "patient", f"{len(patients)} Patient resources", "one patient (choose one by id)"
        )
    return patients[0] if patients else None
