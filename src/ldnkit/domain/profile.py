"""The screening profile: what the safety screen needs to know about one patient.

This is the public input contract of `ldnkit screen` (see the README). Unknown fields are
errors, so a misspelled `pregnent` is refused instead of silently meaning a healthy patient.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

Liver = Literal[
    "normal", "chronic_disease", "acute_hepatitis", "decompensated_cirrhosis", "unknown"
]
# "severe": severe impairment, where the UK product information and the US label disagree.
Kidney = Literal["normal", "impaired", "severe", "unknown"]
Alcohol = Literal["none", "moderate", "heavy", "unknown"]
Sex = Literal["female", "male", "other", "unknown"]
MedicationStatus = Literal["active", "stopped"]

# Integrators send code systems by FHIR URI as often as by short name; both mean the same.
CODE_SYSTEM_ALIASES: dict[str, str] = {
    "icd10cm": "icd10cm",
    "icd-10-cm": "icd10cm",
    "icd10": "icd10cm",
    "http://hl7.org/fhir/sid/icd-10-cm": "icd10cm",
    "http://hl7.org/fhir/sid/icd-10": "icd10cm",
    "snomed": "snomed",
    "snomedct": "snomed",
    "snomed-ct": "snomed",
    "http://snomed.info/sct": "snomed",
}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


# Bounds on what one profile may list, far above any real record (the Synthea export's fullest
# patient has 22 conditions and 17 medications) and low enough that no input makes the screen
# read drug names by the hundred thousand. A name or code longer than 500 characters is no name.
Text = Annotated[str, Field(min_length=1, max_length=500)]
MAX_CONDITIONS = 1000
MAX_MEDICATIONS = 1000
MAX_ALLERGIES = 500
MAX_PROCEDURES = 100


class CodedCondition(_Strict):
    """A condition given as a code: `{"system": "icd10cm", "code": "G93.32"}`."""

    system: Annotated[str, Field(max_length=500)]
    code: Text

    @field_validator("system")
    @classmethod
    def _known_system(cls, value: str) -> str:
        key = value.strip().lower()
        if key not in CODE_SYSTEM_ALIASES:
            raise ValueError("one of icd10cm, snomed (or their FHIR system URIs)")
        return CODE_SYSTEM_ALIASES[key]


Condition = Text | CodedCondition


class Medication(_Strict):
    """A medication by name, by RxNorm code, or both."""

    name: Annotated[str, Field(max_length=500)] | None = None
    rxnorm: Annotated[str, Field(pattern=r"^\d{1,10}$")] | None = None
    status: MedicationStatus = "active"
    last_dose: dt.date | None = None

    @model_validator(mode="after")
    def _named_or_coded(self) -> Medication:
        if not self.name and not self.rxnorm:
            raise ValueError("a medication with a name or an rxnorm code")
        return self

    @property
    def label(self) -> str:
        """How the medication is shown to a clinician: its name, else its RxNorm code."""
        return self.name or f"RxNorm {self.rxnorm}"


class Substance(_Strict):
    """An allergy given as a substance name or RxNorm code."""

    name: Annotated[str, Field(max_length=500)] | None = None
    rxnorm: Annotated[str, Field(pattern=r"^\d{1,10}$")] | None = None

    @model_validator(mode="after")
    def _named_or_coded(self) -> Substance:
        if not self.name and not self.rxnorm:
            raise ValueError("an allergy with a name or an rxnorm code")
        return self


Allergy = Text | Substance


class PlannedProcedure(_Strict):
    """A planned procedure; `opioids_expected` drives the perioperative hold."""

    date: dt.date
    opioids_expected: bool = True
    name: Annotated[str, Field(max_length=500)] | None = None


class PatientProfile(_Strict):
    """Everything the safety screen reads about one patient, as of one day."""

    as_of: dt.date = Field(default_factory=dt.date.today)
    age: Annotated[int, Field(ge=0, le=130)] | None = None
    sex: Sex = "unknown"
    conditions: list[Condition] = Field(default_factory=list, max_length=MAX_CONDITIONS)
    medications: list[Medication] = Field(default_factory=list, max_length=MAX_MEDICATIONS)
    allergies: list[Allergy] = Field(default_factory=list, max_length=MAX_ALLERGIES)
    pregnant: bool | None = None
    breastfeeding: bool | None = None
    liver: Liver = "unknown"
    kidney: Kidney = "unknown"
    alcohol: Alcohol = "unknown"
    planned_procedures: list[PlannedProcedure] = Field(
        default_factory=list, max_length=MAX_PROCEDURES
    )

    @field_validator("age", mode="before")
    @classmethod
    def _age_is_not_a_flag(cls, value: object) -> object:
        # pydantic reads true as 1: an age of true is a mistake, not a one-year-old.
        if isinstance(value, bool):
            raise ValueError("a whole number of years")
        return value

    @model_validator(mode="after")
    def _no_last_dose_after_the_screening_day(self) -> PatientProfile:
        # A last dose after as_of is a typing error (or a wrong as_of); read as given it would
        # count the washout backwards, so it is refused, naming the medication's field.
        errors = [
            InitErrorDetails(
                type=PydanticCustomError(
                    "last_dose_after_as_of",
                    "a date on or before the screening date as_of ({as_of})",
                    {"as_of": self.as_of.isoformat()},
                ),
                loc=("medications", i, "last_dose"),
                input=med.last_dose.isoformat(),
            )
            for i, med in enumerate(self.medications)
            if med.last_dose is not None and med.last_dose > self.as_of
        ]
        if errors:
            raise ValidationError.from_exception_data(type(self).__name__, errors)
        return self
