"""Synthetic Bulk Data exports of an LDN clinic, for `ldnkit outcomes --fhir` tests and benchmarks.

Shaped like a pain clinic's export in the way the outcomes read it:
- every generated patient has an LDN order (1.5, 3 or 4.5 mg capsules, or LDN made from the
  50 mg tablet with a 4.5 mg dose), some with titration re-orders; a few percent more patients
  are on 50 mg naltrexone only (not LDN) or on other drugs;
- about 44% never fill it (the share McKenzie-Brown et al. 2023 report); the others fill 30
  or 90 days at a time (some fills say no supply), refill mostly on time, sometimes late, and
  stop more often early than late;
- pain scores (LOINC 72514-3, some 38208-5) at intake and at follow-up visits around weeks 6-10,
  months 3 and 6; the change depends on the main diagnosis (neuropathic pain and CRPS fall
  most, spondylosis least, as the case series found);
- diagnoses with ICD-10-CM codes (neuropathic pain, CRPS, spondylosis, fibromyalgia, low back
  pain, chronic pain syndrome, diabetic neuropathy, osteoarthritis, and comorbidities), most
  recorded before the start, some after, a few without a recorded date;
- other orders, fills and vital signs, so that the reading has to pick LDN out.
Deterministic for a given seed.
"""

from __future__ import annotations

import datetime as dt
import random
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ldnkit.population.synth import BulkWriter

RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
NEVER_FILLED = 0.44

# (ICD-10-CM code, display, weight as a main diagnosis, mean change in pain on LDN)
PAIN_DIAGNOSES: tuple[tuple[str, str, float, float], ...] = (
    ("M79.2", "Neuralgia and neuritis, unspecified", 1.2, -2.0),
    ("G90.50", "Complex regional pain syndrome I, unspecified", 0.4, -2.2),
    ("G90.512", "Complex regional pain syndrome I of left upper limb", 0.2, -2.2),
    ("M47.816", "Spondylosis without myelopathy or radiculopathy, lumbar region", 1.0, -0.2),
    ("M47.812", "Spondylosis without myelopathy or radiculopathy, cervical region", 0.5, -0.2),
    ("M79.7", "Fibromyalgia", 1.2, -1.2),
    ("M54.50", "Low back pain, unspecified", 0.8, -0.9),
    ("G89.4", "Chronic pain syndrome", 0.8, -1.0),
    ("E11.42", "Type 2 diabetes mellitus with diabetic polyneuropathy", 0.3, -1.6),
    ("M17.11", "Unilateral primary osteoarthritis, right knee", 0.4, -0.6),
)
COMORBIDITIES: tuple[tuple[str, str], ...] = (
    ("I10", "Essential (primary) hypertension"),
    ("F32.A", "Depression, unspecified"),
    ("F41.1", "Generalized anxiety disorder"),
    ("E66.9", "Obesity, unspecified"),
)
# (text, RxNorm code, dose in mg stated on the order or None, weight)
LDN_ORDERS: tuple[tuple[str, str, float | None, float], ...] = (
    ("Naltrexone 1.5 MG Oral Capsule", "7243", None, 4),
    ("Naltrexone 4.5 MG Oral Capsule", "7243", None, 4),
    ("Naltrexone 3 MG Oral Capsule", "7243", 3.0, 1),
    # LDN from the 50 mg tablet dissolved in water: the dose, not the tablet, is LDN.
    ("Naltrexone hydrochloride 50 MG Oral Tablet", "7243", 4.5, 1),
)
TITRATION = ("Naltrexone 3 MG Oral Capsule", "Naltrexone 4.5 MG Oral Capsule")
OTHER_DRUGS: tuple[tuple[str, str], ...] = (
    ("310431", "Gabapentin 300 MG Oral Capsule"),
    ("596926", "Duloxetine 60 MG Delayed Release Oral Capsule"),
    ("197806", "Ibuprofen 600 MG Oral Tablet"),
    ("313782", "Acetaminophen 325 MG Oral Tablet"),
    ("314076", "lisinopril 10 MG Oral Tablet"),
)
STANDARD_NALTREXONE = ("7243", "Naltrexone hydrochloride 50 MG Oral Tablet")
VITALS: tuple[tuple[str, str, str, float, float], ...] = (
    ("8867-4", "Heart rate", "/min", 60, 100),
    ("29463-7", "Body weight", "kg", 50, 120),
    ("39156-5", "Body mass index (BMI) [Ratio]", "kg/m2", 19, 40),
)

Emit = Callable[[dict[str, Any]], None]


class _Clinic:
    def __init__(self, seed: int, as_of: dt.date) -> None:
        self.rng = random.Random(seed)  # noqa: S311 (test data, not secrets)
        self.as_of = as_of
        self.weights = [d[2] for d in PAIN_DIAGNOSES]
        self.order_weights = [o[3] for o in LDN_ORDERS]

    def uid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def moment(self, day: dt.date) -> str:
        seconds = self.rng.randint(7 * 3600, 19 * 3600)
        return f"{day.isoformat()}T{seconds // 3600:02d}:{seconds // 60 % 60:02d}:00-05:00"

    def patient(self, emit: Emit, ldn: bool) -> None:
        rng, as_of = self.rng, self.as_of
        pid = self.uid()
        birth = as_of - dt.timedelta(days=rng.randint(20 * 365, 85 * 365))
        emit(
            {
                "resourceType": "Patient",
                "id": pid,
                "gender": rng.choice(("female", "female", "male")),
                "birthDate": birth.isoformat(),
            }
        )
        subject = {"reference": f"Patient/{pid}"}
        index = as_of - dt.timedelta(days=rng.randint(0, 3 * 365))
        for _ in range(rng.randint(0, 3)):
            self.other_drug(emit, subject, index)
        for _ in range(rng.randint(2, 5)):
            self.vital(emit, subject, index)
        if not ldn:
            if rng.random() < 0.5:
                code, text = STANDARD_NALTREXONE
                self.order(emit, subject, index, text, code, None)
            return
        main = rng.choices(PAIN_DIAGNOSES, self.weights)[0]
        self.diagnoses(emit, subject, index, main)
        text, code, dose, _ = rng.choices(LDN_ORDERS, self.order_weights)[0]
        first = self.order(emit, subject, index, text, code, dose)
        baseline = min(10, max(1, round(rng.gauss(6.5, 1.5))))
        if rng.random() < 0.85:
            self.pain(emit, subject, index - dt.timedelta(days=rng.randint(0, 30)), baseline)
        if rng.random() < NEVER_FILLED:
            return
        start = index + dt.timedelta(days=rng.randint(0, 21))
        if start > as_of:
            return
        orders = [(first, text)]
        if text == "Naltrexone 1.5 MG Oral Capsule":
            for step, later in enumerate(TITRATION, start=1):
                when = index + dt.timedelta(days=14 * step)
                if when <= as_of and rng.random() < 0.8:
                    rid = self.order(emit, subject, when, later, "7243", None, may_be_in_error=True)
                    orders.append((rid, later))
        self.fills(emit, subject, start, orders)
        change = main[3] + rng.gauss(0, 1.8)
        for low, high, chance in ((35, 70, 0.6), (80, 110, 0.5), (150, 200, 0.35)):
            when = start + dt.timedelta(days=rng.randint(low, high))
            if when <= as_of and rng.random() < chance:
                value = min(10, max(0, round(baseline + change + rng.gauss(0, 0.8))))
                self.pain(emit, subject, when, value)

    def diagnoses(
        self, emit: Emit, subject: Any, index: dt.date, main: tuple[str, str, float, float]
    ) -> None:
        rng = self.rng
        chosen = [main[:2]]
        for _ in range(rng.randint(0, 2)):
            extra = rng.choices(PAIN_DIAGNOSES, self.weights)[0][:2]
            if extra not in chosen:
                chosen.append(extra)
        chosen += rng.sample(COMORBIDITIES, rng.randint(0, 2))
        for position, (code, display) in enumerate(chosen):
            # The main diagnosis is on file before LDN; the others mostly, some only later.
            late = position > 0 and rng.random() < 0.12
            recorded = index + dt.timedelta(
                days=rng.randint(30, 300) if late else -rng.randint(0, 900)
            )
            resource: dict[str, Any] = {
                "resourceType": "Condition",
                "id": self.uid(),
                "clinicalStatus": {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                            "code": "active" if rng.random() < 0.93 else "resolved",
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
                "code": {
                    "coding": [{"system": ICD10CM, "code": code, "display": display}],
                    "text": display,
                },
                "subject": subject,
                "onsetDateTime": recorded.isoformat(),
            }
            if rng.random() > 0.02:
                resource["recordedDate"] = recorded.isoformat()
            emit(resource)

    def order(
        self,
        emit: Emit,
        subject: Any,
        when: dt.date,
        text: str,
        code: str,
        dose: float | None,
        *,
        may_be_in_error: bool = False,
    ) -> str:
        rid = self.uid()
        # Naltrexone orders code the ingredient (RxNorm 7243); others their clinical drug.
        display = "naltrexone" if code == "7243" else text
        roll = self.rng.random()
        status = "active" if roll < 0.6 else "completed"
        if may_be_in_error and roll > 0.98:
            status = "entered-in-error"
        resource: dict[str, Any] = {
            "resourceType": "MedicationRequest",
            "id": rid,
            "status": status,
            "intent": "order",
            "medicationCodeableConcept": {
                "coding": [{"system": RXNORM, "code": code, "display": display}],
                "text": text,
            },
            "subject": subject,
            "authoredOn": self.moment(when),
            "dosageInstruction": [
                {
                    "text": "Take at bedtime",
                    "timing": {"repeat": {"frequency": 1, "period": 1, "periodUnit": "d"}},
                }
            ],
        }
        if dose is not None:
            resource["dosageInstruction"][0]["doseAndRate"] = [
                {"doseQuantity": {"value": dose, "unit": "mg", "system": UCUM, "code": "mg"}}
            ]
        emit(resource)
        return rid

    def fills(
        self, emit: Emit, subject: Any, start: dt.date, orders: list[tuple[str, str]]
    ) -> None:
        rng, as_of = self.rng, self.as_of
        when, number = start, 0
        while when <= as_of:
            days = rng.choices((30, 90, None), (80, 10, 10))[0]
            # Each fill is of the latest order written by then (titration steps in turn).
            order_id, text = orders[min(number, len(orders) - 1)]
            resource: dict[str, Any] = {
                "resourceType": "MedicationDispense",
                "id": self.uid(),
                "status": "completed" if rng.random() < 0.98 else "in-progress",
                "medicationCodeableConcept": {
                    "coding": [{"system": RXNORM, "code": "7243", "display": "naltrexone"}],
                    "text": text,
                },
                "subject": subject,
                "quantity": {"value": days or 30, "unit": "capsule"},
                "whenHandedOver": self.moment(when),
            }
            if rng.random() < 0.95:
                resource["authorizingPrescription"] = [
                    {"reference": f"MedicationRequest/{order_id}"}
                ]
            if days is not None:
                resource["daysSupply"] = {"value": days, "unit": "day", "system": UCUM, "code": "d"}
            emit(resource)
            number += 1
            # Most stop early: 30% after the first fill, then 8% at each refill.
            if rng.random() < (0.3 if number == 1 else 0.08):
                return
            roll = rng.random()
            late = (
                rng.randint(-5, 10)
                if roll < 0.8
                else rng.randint(11, 45)
                if roll < 0.95
                else rng.randint(46, 120)
            )
            when += dt.timedelta(days=(days or 30) + late)

    def pain(self, emit: Emit, subject: Any, when: dt.date, value: int) -> None:
        rng = self.rng
        code, display = ("72514-3", "Pain severity - 0-10 verbal numeric rating [Score] - Reported")
        if rng.random() < 0.2:
            code, display = ("38208-5", "Pain severity - Reported")
        emit(
            {
                "resourceType": "Observation",
                "id": self.uid(),
                "status": "final" if rng.random() < 0.97 else "preliminary",
                "category": [
                    {
                        "coding": [
                            {
                                "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                                "code": "survey",
                            }
                        ]
                    }
                ],
                "code": {
                    "coding": [{"system": LOINC, "code": code, "display": display}],
                    "text": display,
                },
                "subject": subject,
                "effectiveDateTime": self.moment(when),
                "valueQuantity": {
                    "value": value,
                    "unit": "{score}",
                    "system": UCUM,
                    "code": "{score}",
                },
            }
        )

    def vital(self, emit: Emit, subject: Any, index: dt.date) -> None:
        rng = self.rng
        code, display, unit, low, high = rng.choice(VITALS)
        emit(
            {
                "resourceType": "Observation",
                "id": self.uid(),
                "status": "final",
                "category": [
                    {
                        "coding": [
                            {
                                "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                                "code": "vital-signs",
                            }
                        ]
                    }
                ],
                "code": {
                    "coding": [{"system": LOINC, "code": code, "display": display}],
                    "text": display,
                },
                "subject": subject,
                "effectiveDateTime": self.moment(index - dt.timedelta(days=rng.randint(0, 400))),
                "valueQuantity": {
                    "value": round(rng.uniform(low, high), 1),
                    "unit": unit,
                    "system": UCUM,
                    "code": unit,
                },
            }
        )

    def other_drug(self, emit: Emit, subject: Any, index: dt.date) -> None:
        rng = self.rng
        code, text = rng.choice(OTHER_DRUGS)
        when = index - dt.timedelta(days=rng.randint(0, 700))
        rid = self.order(emit, subject, when, text, code, None, may_be_in_error=True)
        if rng.random() < 0.6:
            emit(
                {
                    "resourceType": "MedicationDispense",
                    "id": self.uid(),
                    "status": "completed",
                    "medicationCodeableConcept": {
                        "coding": [{"system": RXNORM, "code": code, "display": text}],
                        "text": text,
                    },
                    "subject": subject,
                    "authorizingPrescription": [{"reference": f"MedicationRequest/{rid}"}],
                    "daysSupply": {"value": 30, "unit": "day", "system": UCUM, "code": "d"},
                    "whenHandedOver": self.moment(when + dt.timedelta(days=rng.randint(0, 5))),
                }
            )


def generate_clinic(
    prescribed: int,
    out: Path,
    *,
    seed: int = 0,
    as_of: dt.date | None = None,
    others: float = 0.05,
    compress: bool = False,
    per_file: int = 250_000,
) -> dict[str, int]:
    """Write a clinic export with `prescribed` LDN patients (and `others` x that many more)."""
    out.mkdir(parents=True, exist_ok=True)
    clinic = _Clinic(seed, as_of or dt.date.today())
    files = BulkWriter(out, compress, per_file)
    extra = round(prescribed * others)
    try:
        for _ in range(prescribed):
            clinic.patient(files.emit, ldn=True)
        for _ in range(extra):
            clinic.patient(files.emit, ldn=False)
    finally:
        files.close()
    return dict(sorted(files.counts.items()))
