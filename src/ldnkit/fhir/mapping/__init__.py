"""FHIR R4 resources -> the screening profile (`ldnkit.domain.profile`).

One module per concept: `datatypes` (dates, codings, quantities), `references` (every reference
form, one normaliser), `medications` (orders and statements), `clinical` (conditions, allergies,
observations, procedures) and `profile` (the per-resource fold and the profile it adds up to).
Each module's notes say what counts and why; the names callers use are gathered here.
"""

from ldnkit.fhir.mapping.clinical import (
    CONDITION_ACTIVE,
    NOT_TRUE,
    PLANNED_PROCEDURE,
    PLANNED_REQUEST,
    PREGNANCY_STATUS_LOINC,
    PregnancyStatus,
    allergy_from_fhir,
    condition_from_fhir,
    planned_procedure_from_fhir,
    pregnancy_from_fhir,
)
from ldnkit.fhir.mapping.datatypes import ICD10CM, LOINC, RXNORM, SNOMED, age_on, fhir_date
from ldnkit.fhir.mapping.medications import (
    DEFAULT_SUPPLY_DAYS,
    REQUEST_ACTIVE,
    REQUEST_STOPPED,
    STATEMENT_ACTIVE,
    STATEMENT_STOPPED,
    distinct_medications,
    medication_from_fhir,
    medication_from_fragment,
)
from ldnkit.fhir.mapping.profile import (
    ProfileFacts,
    demographics,
    fold,
    profile_from_resources,
)
from ldnkit.fhir.mapping.references import patient_ref_id, reference_target, subject_id

__all__ = [
    "CONDITION_ACTIVE",
    "DEFAULT_SUPPLY_DAYS",
    "ICD10CM",
    "LOINC",
    "NOT_TRUE",
    "PLANNED_PROCEDURE",
    "PLANNED_REQUEST",
    "PREGNANCY_STATUS_LOINC",
    "REQUEST_ACTIVE",
    "REQUEST_STOPPED",
    "RXNORM",
    "SNOMED",
    "STATEMENT_ACTIVE",
    "STATEMENT_STOPPED",
    "PregnancyStatus",
    "ProfileFacts",
    "age_on",
    "allergy_from_fhir",
    "condition_from_fhir",
    "demographics",
    "distinct_medications",
    "fhir_date",
    "fold",
    "medication_from_fhir",
    "medication_from_fragment",
    "patient_ref_id",
    "planned_procedure_from_fhir",
    "pregnancy_from_fhir",
    "profile_from_resources",
    "reference_target",
    "subject_id",
]
