"""Synthetic Bulk Data exports shaped like Synthea's, for scale tests and benchmarks.

The resources copy the shape of the real Synthea export in `shared/data/synthea-bulk-10`
(US Core profiles, `Patient/<id>` subjects, conditional `Practitioner?identifier=` requesters,
SNOMED CT conditions with active/resolved status, RxNorm orders mostly stopped), with the mix
tilted towards what the LDN screen looks at: candidate conditions, opioids (some stopped days
ago), naltrexone, pregnancy, planned procedures. Codes are real: Synthea's own RxNorm and SNOMED
codes, RxNorm ingredient codes from the project's FACTS sheet for the opioids and naltrexone.
Deterministic for a given seed.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import random
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
SNOMED = "http://snomed.info/sct"
LOINC = "http://loinc.org"
US_CORE = "http://hl7.org/fhir/us/core/StructureDefinition/"

# (SNOMED code, display, weight, chronic): chronic ones are mostly still active.
CONDITIONS: tuple[tuple[str, str, float, bool], ...] = (
    ("160903007", "Full-time employment (finding)", 6, False),
    ("73595000", "Stress (finding)", 4, False),
    ("195662009", "Acute viral pharyngitis (disorder)", 3, False),
    ("444814009", "Viral sinusitis (disorder)", 3, False),
    ("10509002", "Acute bronchitis (disorder)", 2, False),
    ("162864005", "Body mass index 30+ - obesity (finding)", 2, True),
    ("15777000", "Prediabetes", 2, True),
    ("59621000", "Essential hypertension (disorder)", 2, True),
    ("55822004", "Hyperlipidemia", 1.5, True),
    ("271737000", "Anemia (disorder)", 1, False),
    ("95417003", "Primary fibromyalgia syndrome", 1, True),
    ("278860009", "Chronic low back pain (finding)", 1.2, True),
    ("1121000119107", "Chronic neck pain (finding)", 0.8, True),
    ("82423001", "Chronic pain (finding)", 0.8, True),
    ("24700007", "Multiple sclerosis (disorder)", 0.2, True),
    ("34000006", "Crohn's disease (disorder)", 0.2, True),
    ("72892002", "Normal pregnancy", 0.3, False),
    ("431857002", "Chronic kidney disease stage 4 (disorder)", 0.2, True),
    ("10939881000119105", "Unhealthy alcohol drinking behavior (finding)", 0.4, True),
    ("254637007", "Non-small cell lung cancer (disorder)", 0.1, True),
)

# (RxNorm code, display, weight, chance the order is still active)
MEDICATIONS: tuple[tuple[str, str, float, float], ...] = (
    ("314076", "lisinopril 10 MG Oral Tablet", 5, 0.3),
    ("860975", "24 HR Metformin hydrochloride 500 MG Extended Release Oral Tablet", 3, 0.3),
    ("314231", "Simvastatin 10 MG Oral Tablet", 3, 0.3),
    ("310798", "Hydrochlorothiazide 25 MG Oral Tablet", 2, 0.3),
    ("313782", "Acetaminophen 325 MG Oral Tablet", 2, 0.05),
    ("206905", "Ibuprofen 400 MG Oral Tablet [Ibu]", 2, 0.05),
    ("849574", "Naproxen sodium 220 MG Oral Tablet", 1, 0.05),
    ("308192", "Amoxicillin 500 MG Oral Tablet", 2, 0.0),
    ("904419", "Alendronic acid 10 MG Oral Tablet", 0.5, 0.3),
    ("351137", "albuterol 0.21 MG/ML Inhalation Solution", 1, 0.2),
    ("10689", "tramadol hydrochloride 50 MG Oral Tablet", 0.6, 0.25),
    ("7804", "Acetaminophen 325 MG / Oxycodone Hydrochloride 5 MG Oral Tablet", 0.5, 0.2),
    ("861467", "Meperidine Hydrochloride 50 MG Oral Tablet", 0.1, 0.1),
    ("6813", "Methadone Hydrochloride 10 MG Oral Tablet", 0.05, 0.5),
    ("7243", "Naltrexone hydrochloride 4.5 MG Oral Capsule", 0.15, 0.7),
    ("7243", "Naltrexone hydrochloride 50 MG Oral Tablet", 0.05, 0.5),
)

PROCEDURES: tuple[tuple[str, str], ...] = (
    ("430193006", "Medication Reconciliation (procedure)"),
    ("171207006", "Depression screening (procedure)"),
    ("710824005", "Assessment of health and social care needs (procedure)"),
    ("76601001", "Intramuscular injection"),
)
PLANNED = (("609588000", "Total knee replacement"), ("80146002", "Excision of appendix"))

_PROFILE = {
    "Patient": "us-core-patient",
    "Condition": "us-core-condition-encounter-diagnosis",
    "MedicationRequest": "us-core-medicationrequest",
    "AllergyIntolerance": "us-core-allergyintolerance",
    "Procedure": "us-core-procedure",
    "Observation": "us-core-observation-pregnancystatus",
}

Emit = Callable[[dict[str, Any]], None]


class _Generator:
    def __init__(self, seed: int, as_of: dt.date) -> None:
        self.rng = random.Random(seed)  # noqa: S311 (test data, not secrets)
        self.as_of = as_of
        self.condition_weights = [c[2] for c in CONDITIONS]
        self.medication_weights = [m[2] for m in MEDICATIONS]

    def uid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def moment(self, start: dt.date, end: dt.date) -> str:
        span = max((end - start).days, 0)
        day = start + dt.timedelta(days=self.rng.randint(0, span))
        seconds = self.rng.randint(0, 86_399)
        clock = f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
        return f"{day.isoformat()}T{clock}-05:00"

    def meta(self, kind: str) -> dict[str, Any]:
        return {"profile": [US_CORE + _PROFILE[kind]]}

    def patient(self, emit: Emit) -> None:
        rng, as_of = self.rng, self.as_of
        pid = self.uid()
        gender = rng.choice(("female", "female", "male"))
        birth = as_of - dt.timedelta(days=rng.randint(18 * 365, 90 * 365))
        resource: dict[str, Any] = {
            "resourceType": "Patient",
            "id": pid,
            "meta": self.meta("Patient"),
            "identifier": [{"system": "https://github.com/synthetichealth/synthea", "value": pid}],
            "name": [
                {
                    "use": "official",
                    "family": f"Family{rng.randint(1, 999)}",
                    "given": [f"Given{rng.randint(1, 999)}"],
                }
            ],
            "gender": gender,
            "birthDate": birth.isoformat(),
            "address": [{"city": "Olathe", "state": "Kansas", "country": "US"}],
        }
        if rng.random() < 0.03:
            resource["deceasedDateTime"] = self.moment(birth + dt.timedelta(days=20 * 365), as_of)
        emit(resource)
        subject = {"reference": f"Patient/{pid}"}
        encounter = {"reference": f"Encounter/{self.uid()}"}
        since = max(birth, as_of - dt.timedelta(days=12 * 365))
        for _ in range(rng.randint(2, 10)):
            self.condition(emit, subject, encounter, since)
        for _ in range(rng.randint(1, 12)):
            self.medication(emit, subject, encounter, since)
        if rng.random() < 0.12:
            self.allergy(emit, subject)
        for _ in range(rng.randint(0, 4)):
            self.procedure(emit, subject, encounter, since, planned=rng.random() < 0.02)
        age = (as_of - birth).days // 365
        if gender == "female" and age < 45 and rng.random() < 0.1:
            self.pregnancy_status(emit, subject)

    def condition(self, emit: Emit, subject: Any, encounter: Any, since: dt.date) -> None:
        rng = self.rng
        code, display, _, chronic = rng.choices(CONDITIONS, self.condition_weights)[0]
        active = rng.random() < (0.85 if chronic else 0.15)
        onset = self.moment(since, self.as_of)
        resource: dict[str, Any] = {
            "resourceType": "Condition",
            "id": self.uid(),
            "meta": self.meta("Condition"),
            "clinicalStatus": {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                        "code": "active" if active else "resolved",
                    }
                ]
            },
            "verificationStatus": {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/condition-ver-status",
                        "code": "confirmed",
                    }
                ]
            },
            "category": [
                {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/condition-category",
                            "code": "encounter-diagnosis",
                            "display": "Encounter Diagnosis",
                        }
                    ]
                }
            ],
            "code": {
                "coding": [{"system": SNOMED, "code": code, "display": display}],
                "text": display,
            },
            "subject": subject,
            "encounter": encounter,
            "onsetDateTime": onset,
            "recordedDate": onset,
        }
        if not active:
            resource["abatementDateTime"] = self.moment(
                dt.date.fromisoformat(onset[:10]), self.as_of
            )
        emit(resource)

    def medication(self, emit: Emit, subject: Any, encounter: Any, since: dt.date) -> None:
        rng = self.rng
        code, display, _, active_chance = rng.choices(MEDICATIONS, self.medication_weights)[0]
        active = rng.random() < active_chance
        # A few stopped orders are recent, so washouts are still running on as_of.
        recent = not active and rng.random() < 0.08
        start = self.as_of - dt.timedelta(days=20) if recent else since
        resource: dict[str, Any] = {
            "resourceType": "MedicationRequest",
            "id": self.uid(),
            "meta": self.meta("MedicationRequest"),
            "status": "active" if active else "stopped",
            "intent": "order",
            "category": [
                {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/medicationrequest-category",
                            "code": "community",
                            "display": "Community",
                        }
                    ],
                    "text": "Community",
                }
            ],
            "medicationCodeableConcept": {
                "coding": [{"system": RXNORM, "code": code, "display": display}],
                "text": display,
            },
            "subject": subject,
            "encounter": encounter,
            "authoredOn": self.moment(start, self.as_of),
            "requester": {
                "reference": "Practitioner?identifier=http://hl7.org/fhir/sid/us-npi|"
                f"99999{rng.randint(10000, 99999)}",
                "display": "Dr. Synthetic Clinician",
            },
            "dosageInstruction": [
                {
                    "sequence": 1,
                    "timing": {"repeat": {"frequency": 1, "period": 1.0, "periodUnit": "d"}},
                    "asNeededBoolean": False,
                    "doseAndRate": [{"doseQuantity": {"value": 1.0}}],
                }
            ],
        }
        if rng.random() < 0.5:
            resource["dispenseRequest"] = {
                "numberOfRepeatsAllowed": rng.choice((0, 0, 1, 2)),
                "quantity": {"value": 30.0},
                "expectedSupplyDuration": {
                    "value": rng.choice((7, 14, 30)),
                    "unit": "days",
                    "system": "http://unitsofmeasure.org",
                    "code": "d",
                },
            }
        emit(resource)

    def allergy(self, emit: Emit, patient: Any) -> None:
        rng = self.rng
        if rng.random() < 0.05:
            code = {
                "coding": [{"system": RXNORM, "code": "7243", "display": "naltrexone"}],
                "text": "naltrexone",
            }
        else:
            code = {
                "coding": [{"system": RXNORM, "code": "1191", "display": "Aspirin"}],
                "text": "Aspirin",
            }
        emit(
            {
                "resourceType": "AllergyIntolerance",
                "id": self.uid(),
                "meta": self.meta("AllergyIntolerance"),
                "clinicalStatus": {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical",
                            "code": "active",
                        }
                    ]
                },
                "verificationStatus": {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification",
                            "code": "confirmed",
                        }
                    ]
                },
                "type": "allergy",
                "category": ["medication"],
                "criticality": "low",
                "code": code,
                "patient": patient,
                "recordedDate": self.moment(self.as_of - dt.timedelta(days=3650), self.as_of),
            }
        )

    def procedure(
        self, emit: Emit, subject: Any, encounter: Any, since: dt.date, planned: bool
    ) -> None:
        rng = self.rng
        if planned:
            code, display = rng.choice(PLANNED)
            when = self.moment(
                self.as_of + dt.timedelta(days=1), self.as_of + dt.timedelta(days=40)
            )
        else:
            code, display = rng.choice(PROCEDURES)
            when = self.moment(since, self.as_of)
        emit(
            {
                "resourceType": "Procedure",
                "id": self.uid(),
                "meta": self.meta("Procedure"),
                "status": "preparation" if planned else "completed",
                "code": {
                    "coding": [{"system": SNOMED, "code": code, "display": display}],
                    "text": display,
                },
                "subject": subject,
                "encounter": encounter,
                "performedPeriod": {"start": when, "end": when},
            }
        )

    def pregnancy_status(self, emit: Emit, subject: Any) -> None:
        pregnant = self.rng.random() < 0.3
        answer = ("77386006", "Pregnant") if pregnant else ("60001007", "Not pregnant")
        emit(
            {
                "resourceType": "Observation",
                "id": self.uid(),
                "meta": self.meta("Observation"),
                "status": "final",
                "code": {
                    "coding": [{"system": LOINC, "code": "82810-3", "display": "Pregnancy status"}]
                },
                "subject": subject,
                "effectiveDateTime": self.moment(self.as_of - dt.timedelta(days=60), self.as_of),
                "valueCodeableConcept": {
                    "coding": [{"system": SNOMED, "code": answer[0], "display": answer[1]}]
                },
            }
        )


class BulkWriter:
    """Writes `Type.000.ndjson[.gz]`, starting a new numbered file every `per_file` lines."""

    def __init__(self, folder: Path, compress: bool, per_file: int) -> None:
        self.folder, self.compress, self.per_file = folder, compress, per_file
        self.handles: dict[str, tuple[IO[str], int, int]] = {}
        self.counts: dict[str, int] = {}

    def _open(self, kind: str, number: int) -> IO[str]:
        name = f"{kind}.{number:03d}.ndjson"
        if self.compress:
            return gzip.open(self.folder / (name + ".gz"), "wt", encoding="utf-8", compresslevel=1)
        return (self.folder / name).open("w", encoding="utf-8")

    def emit(self, resource: dict[str, Any]) -> None:
        kind = resource["resourceType"]
        handle, number, lines = self.handles.get(kind) or (self._open(kind, 0), 0, 0)
        if lines >= self.per_file:
            handle.close()
            number, lines = number + 1, 0
            handle = self._open(kind, number)
        handle.write(json.dumps(resource, separators=(",", ":")) + "\n")
        self.handles[kind] = (handle, number, lines + 1)
        self.counts[kind] = self.counts.get(kind, 0) + 1

    def close(self) -> None:
        for handle, _, _ in self.handles.values():
            handle.close()


def generate(
    patients: int,
    out: Path,
    *,
    seed: int = 0,
    as_of: dt.date | None = None,
    compress: bool = False,
    per_file: int = 250_000,
    progress: Callable[[int], None] | None = None,
) -> dict[str, int]:
    """Write a synthetic Bulk Data export of `patients` patients; returns resources per type."""
    out.mkdir(parents=True, exist_ok=True)
    generator = _Generator(seed, as_of or dt.date.today())
    files = BulkWriter(out, compress, per_file)
    try:
        for index in range(patients):
            generator.patient(files.emit)
            if progress is not None and (index + 1) % 1000 == 0:
                progress(1000)
        if progress is not None and patients % 1000:
            progress(patients % 1000)
    finally:
        files.close()
    return dict(sorted(files.counts.items()))
