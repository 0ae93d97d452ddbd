"""A patient's course of therapy as clinic outcomes read it, whatever it was recorded in.

FHIR exports and the clinic database are both mapped onto these records, so the definitions
in `definitions.py` are written once. Statuses use the FHIR R4 value sets because both sources
speak them (the database writes FHIR when it exports). The records are plain frozen dataclasses,
not pydantic models: a clinic-wide run builds a million of them, and their fields are checked
where they are read (the FHIR reading skips, and counts, what does not fit).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

RequestStatus = Literal[
    "active", "on-hold", "cancelled", "completed", "entered-in-error", "stopped", "draft", "unknown"
]
DispenseStatus = Literal[
    "preparation",
    "in-progress",
    "cancelled",
    "on-hold",
    "completed",
    "entered-in-error",
    "stopped",
    "declined",
    "unknown",
]
ObservationStatus = Literal[
    "registered",
    "preliminary",
    "final",
    "amended",
    "corrected",
    "cancelled",
    "entered-in-error",
    "unknown",
]
CodeSystem = Literal["icd10cm", "snomed"]


@dataclass(frozen=True, slots=True)
class Medication:
    """What an order or a fill names, and the dose per administration when it states one."""

    name: str | None
    rxnorm: str | None = None
    dose_mg: float | None = None  # the stated dose in mg (FHIR doseQuantity in mg), if any


@dataclass(frozen=True, slots=True)
class Prescription:
    """An order for a medicine (FHIR MedicationRequest)."""

    id: str | None
    authored: dt.date
    status: RequestStatus
    medication: Medication


@dataclass(frozen=True, slots=True)
class Dispense:
    """A fill handed to the patient (FHIR MedicationDispense)."""

    id: str | None
    prescription_id: str | None  # the order it fills, when it says so
    handed_over: dt.date
    status: DispenseStatus
    days_supply: int | None
    medication: Medication


@dataclass(frozen=True, slots=True)
class PainScore:
    """A pain score on the 0-10 numeric rating scale."""

    day: dt.date
    value: float
    status: ObservationStatus
    # Orders the scores of one day (the time as recorded, e.g. "2024-03-01T20:15:00Z"): of two
    # scores on the same day the later one is "the last".
    moment: str = ""


@dataclass(frozen=True, slots=True)
class Diagnosis:
    """A recorded condition with its codes."""

    codes: tuple[tuple[CodeSystem, str], ...]
    clinical_status: str | None
    verification_status: str | None
    recorded: dt.date | None


@dataclass(frozen=True, slots=True)
class TherapyCourse:
    """Everything about one patient that clinic outcomes read."""

    patient_id: str
    prescriptions: tuple[Prescription, ...]
    dispenses: tuple[Dispense, ...] = ()
    pain: tuple[PainScore, ...] = ()
    diagnoses: tuple[Diagnosis, ...] = ()
