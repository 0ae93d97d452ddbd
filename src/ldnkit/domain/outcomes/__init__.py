"""Clinic outcomes of LDN: therapy courses in, the published case series' figures out.

`clinic_outcomes(courses, as_of, grace_days)` computes the `ldnkit outcomes` figures from
`TherapyCourse` records, whatever they were read from (a FHIR export, the clinic database).
The definitions are in `definitions`, the statistics (scipy) in `statistics`.
"""

from ldnkit.domain.outcomes.course import (
    Diagnosis,
    Dispense,
    Medication,
    PainScore,
    Prescription,
    TherapyCourse,
)
from ldnkit.domain.outcomes.figures import (
    ClinicOutcomes,
    OutcomeRun,
    OutcomeTally,
    PersistenceFigures,
    PredictorFigures,
    Skipped,
    clinic_outcomes,
    grace_periods,
    outcome_run,
)

__all__ = [
    "ClinicOutcomes",
    "Diagnosis",
    "Dispense",
    "Medication",
    "OutcomeRun",
    "OutcomeTally",
    "PainScore",
    "PersistenceFigures",
    "PredictorFigures",
    "Prescription",
    "Skipped",
    "TherapyCourse",
    "clinic_outcomes",
    "grace_periods",
    "outcome_run",
]
