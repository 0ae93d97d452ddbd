"""A patient's course of therapy as clinic outcomes read it, whatever it was recorded in.

FHIR exports and the clinic database are both mapped onto these records, so the definitions
in `definitions.py` are written once. Statuses use the FHIR R4 value sets because both sources
speak them (the database writes FHIR when it exports). The records are typed named tuples, not
pydantic models or frozen dataclasses: a clinic-wide run builds a million of them, and building
either of those costs several times more. Their fields are checked where they are read (the
FHIR reading skips, and counts, what does not fit).
"""

from __future__ import annotations

import datetime as dt
from typing import Literal, NamedTuple

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


class Medication(NamedTuple):
    """What an order or a fill names, and the dose per administration when it states one."""

    name: str | None
    rxnorm: str | None = None
    dose_mg: float | None = None  # the stated dose in mg (FHIR doseQuantity in mg), if any


class Prescription(NamedTuple):
    """An order for a medicine (FHIR MedicationRequest)."""

    id: str | None
    authored: dt.date
    status: RequestStatus
    medication: Medication


class Dispense(NamedTuple):
    """A fill handed to the patient (FHIR MedicationDispense)."""

    id: str | None
    prescription_id: str | None  # the order it fills, when it says so
    handed_over: dt.date
    status: DispenseStatus
    days_supply: int | None
    medication: Medication


class PainScore(NamedTuple):
    """A pain score on the 0-10 numeric rating scale."""

    day: dt.date
    value: float
    status: ObservationStatus
    # Orders the scores of one day (the time as recorded, e.g. "2024-03-01T20:15:00Z"): of two
    # scores on the same day the later one is "the last".
    moment: str = ""


class Diagnosis(NamedTuple):
    """A recorded condition with its codes."""

    codes: tuple[tuple[CodeSystem, str], ...]
    clinical_status: str | None
    verification_status: str | None
    recorded: dt.date | None


class TherapyCourse(NamedTuple):
    """Everything about one patient that clinic outcomes read."""

    patient_id: str
    prescriptions: tuple[Prescription, ...]
    dispenses: tuple[Dispense, ...] = ()
    pain: tuple[PainScore, ...] = ()
    diagnoses: tuple[Diagnosis, ...] = ()
