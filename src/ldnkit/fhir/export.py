"""ldnkit records -> FHIR R4 resources (plain dicts, validated with the fhir.resources R4 models).

- a titration plan -> one MedicationRequest with one dosageInstruction per step (sequence, dose,
  bounds of the step, bedtime or morning as timing.repeat.when HS / MORN);
- diary entries -> Observations: pain with LOINC 72514-3 (pain severity 0-10 numeric rating,
  FACTS §7); fatigue, sleep quality and mood have no single-item LOINC (FACTS §7), so they are
  coded by text only rather than under a borrowed code;
  with the diary's records, Observation.performer says who entered the day (the patient, or a
  clinician's account) and a day changed after its first entry is `amended`;
- FIQR answers and scores -> one QuestionnaireResponse, items grouped by domain;
- a dispense of LDN -> a MedicationDispense (daysSupply, the plan it fills, the dose that day);
- a clinician's stop of LDN -> a MedicationStatement (stopped, the day and the reason), and the
  plan's MedicationRequest is `stopped` with the reason;
- a profile's condition -> a Condition (its code, the text as written, the day first recorded).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ldnkit.domain.diary import DiaryEntry
from ldnkit.domain.outcomes.clinic import NALTREXONE_RXNORM, plan_medication_text
from ldnkit.domain.outcomes.course import CodeSystem
from ldnkit.domain.titration import Plan
from ldnkit.fhir.boundary import validated
from ldnkit.fhir.mapping import ICD10CM, LOINC, RXNORM, SNOMED
from ldnkit.store.records import Author, DiaryRecord

UCUM = "http://unitsofmeasure.org"
ORAL_ROUTE = {"system": SNOMED, "code": "26643006", "display": "Oral route"}
PAIN_LOINC = "72514-3"
# Identifies the ldnkit account that entered a diary day (Observation.performer.identifier).
ACCOUNT_SYSTEM = "urn:ldnkit:account"
# ldnkit's own codes for why a clinician stopped LDN (MedicationStatement.statusReason).
STOP_REASON_SYSTEM = "urn:ldnkit:ldn-stop-reason"
CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
CONDITION_VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
_CODE_SYSTEMS = {"icd10cm": ICD10CM, "snomed": SNOMED}
_WHEN = {"bedtime": "HS", "morning": "MORN"}
_SURVEY = {
    "coding": [
        {
            "system": "http://terminology.hl7.org/CodeSystem/observation-category",
            "code": "survey",
            "display": "Survey",
        }
    ]
}
# (diary field, code): pain has a LOINC code; the others are named, not coded (see above).
_DIARY_ITEMS: tuple[tuple[str, dict[str, Any]], ...] = (
    (
        "pain",
        {
            "coding": [
                {
                    "system": LOINC,
                    "code": PAIN_LOINC,
                    "display": "Pain severity - 0-10 verbal numeric rating [Score] - Reported",
                }
            ],
            "text": "Pain (0-10)",
        },
    ),
    ("fatigue", {"text": "Fatigue (0-10, ldnkit diary)"}),
    ("sleep_quality", {"text": "Sleep quality (0-10, ldnkit diary)"}),
    ("mood", {"text": "Mood (0-10, ldnkit diary)"}),
)


def _patient(patient_id: str) -> dict[str, str]:
    return {"reference": f"Patient/{patient_id}"}


def _mg(value: float) -> dict[str, Any]:
    return {"value": value, "unit": "mg", "system": UCUM, "code": "mg"}


def _medication(plan: Plan) -> dict[str, Any]:
    return {
        "coding": [{"system": RXNORM, "code": NALTREXONE_RXNORM, "display": "naltrexone"}],
        "text": plan_medication_text(plan.protocol, plan.target_mg),
    }


def _dosage(dose_mg: float, time: str) -> dict[str, Any]:
    return {
        "route": {"coding": [ORAL_ROUTE]},
        "timing": {
            "repeat": {"frequency": 1, "period": 1, "periodUnit": "d", "when": [_WHEN[time]]}
        },
        "doseAndRate": [{"doseQuantity": _mg(dose_mg)}],
    }


def plan_to_medication_request(
    plan: Plan,
    patient_id: str,
    *,
    authored_on: dt.date | None = None,
    request_id: str | None = None,
    status: str = "active",
    status_reason: str | None = None,
) -> dict[str, Any]:
    """A titration plan as one MedicationRequest, one dosageInstruction per step.

    `status_reason` says why a plan that is no longer active ended (stopped, replaced)."""
    dosages = []
    for number, step in enumerate(plan.steps, start=1):
        period = {"start": step.start.isoformat()}
        if step.end is not None:
            period["end"] = step.end.isoformat()
        until = f" to {step.end.isoformat()}" if step.end else " onwards"
        text = f"{step.dose_mg:g} mg at {step.time} from {step.start.isoformat()}{until}"
        dosage: dict[str, Any] = {
            "sequence": number,
            "text": text + (f" ({step.note})" if step.note else ""),
            "timing": {
                "repeat": {
                    "boundsPeriod": period,
                    "frequency": 1,
                    "period": 1,
                    "periodUnit": "d",
                    "when": [_WHEN[step.time]],
                }
            },
            "route": {"coding": [ORAL_ROUTE]},
            "doseAndRate": [{"doseQuantity": _mg(step.dose_mg)}],
        }
        dosages.append(dosage)
    resource: dict[str, Any] = {
        "resourceType": "MedicationRequest",
        "status": status,
        "intent": "order",
        "medicationCodeableConcept": _medication(plan),
        "subject": _patient(patient_id),
        "authoredOn": (authored_on or plan.steps[0].start).isoformat(),
        "dosageInstruction": dosages,
        "note": [{"text": "Titration protocol sources: " + ", ".join(plan.sources)}],
    }
    if request_id:
        resource["id"] = request_id
    if status_reason:
        resource["statusReason"] = {"text": status_reason}
    return validated(resource)


def dispense_to_medication_dispense(
    plan: Plan,
    patient_id: str,
    *,
    dispense_id: str,
    request_id: str,
    handed_over: dt.date,
    days_supply: int,
    dose_mg: float,
    status: str = "completed",
) -> dict[str, Any]:
    """LDN handed to the patient for a plan: the day, the days' supply and the dose that day."""
    return validated(
        {
            "resourceType": "MedicationDispense",
            "id": dispense_id,
            "status": status,
            "medicationCodeableConcept": _medication(plan),
            "subject": _patient(patient_id),
            "authorizingPrescription": [{"reference": f"MedicationRequest/{request_id}"}],
            "daysSupply": {"value": days_supply, "unit": "days", "system": UCUM, "code": "d"},
            "whenHandedOver": handed_over.isoformat(),
            "dosageInstruction": [_dosage(dose_mg, plan.steps[0].time)],
        }
    )


def stop_to_medication_statement(
    plan: Plan,
    patient_id: str,
    *,
    statement_id: str,
    request_id: str,
    started: dt.date | None,
    stopped_on: dt.date,
    reason: str,
    reason_text: str,
    note: str,
    asserted_at: dt.datetime,
) -> dict[str, Any]:
    """A clinician's stop of LDN: stopped on a day, for a reason, based on the plan it ends."""
    period = {"end": stopped_on.isoformat()}
    if started is not None and started <= stopped_on:
        period["start"] = started.isoformat()
    resource: dict[str, Any] = {
        "resourceType": "MedicationStatement",
        "id": statement_id,
        "status": "stopped",
        "statusReason": [
            {
                "coding": [{"system": STOP_REASON_SYSTEM, "code": reason, "display": reason_text}],
                "text": reason_text,
            }
        ],
        "basedOn": [{"reference": f"MedicationRequest/{request_id}"}],
        "medicationCodeableConcept": _medication(plan),
        "subject": _patient(patient_id),
        "effectivePeriod": period,
        "dateAsserted": asserted_at.isoformat(timespec="seconds"),
    }
    if note:
        resource["note"] = [{"text": note}]
    return validated(resource)


def condition_to_resource(
    patient_id: str,
    *,
    condition_id: str,
    written: str,
    codes: Sequence[tuple[CodeSystem, str]],
    display: str | None,
    recorded: dt.date | None,
    clinical_status: str = "active",
    verification_status: str = "confirmed",
) -> dict[str, Any]:
    """A condition from the patient's profile: its codes (if any), the words as written."""
    code: dict[str, Any] = {"text": written}
    if codes:
        code["coding"] = [
            {
                "system": _CODE_SYSTEMS[system],
                "code": value,
                **({"display": display} if display else {}),
            }
            for system, value in codes
        ]
    resource: dict[str, Any] = {
        "resourceType": "Condition",
        "id": condition_id,
        "clinicalStatus": {"coding": [{"system": CONDITION_CLINICAL, "code": clinical_status}]},
        "verificationStatus": {
            "coding": [{"system": CONDITION_VERIFICATION, "code": verification_status}]
        },
        "code": code,
        "subject": _patient(patient_id),
    }
    if recorded is not None:
        resource["recordedDate"] = recorded.isoformat()
    return validated(resource)


def patient_resource(patient_id: str, name: str) -> dict[str, Any]:
    """The patient, by the id the other resources refer to, and the name the clinic knows."""
    resource: dict[str, Any] = {"resourceType": "Patient", "id": patient_id}
    if name.strip():
        resource["name"] = [{"text": name}]
    return validated(resource)


def diary_to_observations(entries: Iterable[DiaryEntry], patient_id: str) -> list[dict[str, Any]]:
    """Each diary score as an Observation (pain coded LOINC 72514-3), oldest day first."""
    observations = []
    for entry in sorted(entries, key=lambda e: e.day):
        observations.extend(_day_observations(entry, patient_id))
    return observations


def diary_records_to_observations(
    records: Iterable[DiaryRecord], patient_id: str, id_prefix: str = "diary"
) -> list[dict[str, Any]]:
    """As `diary_to_observations`, saying who entered each day (Observation.performer): the
    patient (patient-reported), or a clinician's account. A day changed after it was first
    entered is `amended`; a day from before authors were kept has no performer."""
    observations = []
    for record in sorted(records, key=lambda r: r.entry.day):
        extra: dict[str, Any] = {}
        performer = _performer(record.author, patient_id)
        if performer is not None:
            extra["performer"] = [performer]
        if record.earlier_versions:
            extra["status"] = "amended"
        observations.extend(_day_observations(record.entry, patient_id, extra, id_prefix))
    return observations


def _performer(author: Author, patient_id: str) -> dict[str, Any] | None:
    if author.role == "patient":
        return _patient(patient_id)
    if author.role == "clinician" and author.account_id is not None:
        # A logical reference: the bundle carries no Practitioner resource to point at.
        reference: dict[str, Any] = {
            "type": "Practitioner",
            "identifier": {"system": ACCOUNT_SYSTEM, "value": str(author.account_id)},
        }
        if author.email:
            reference["display"] = author.email
        return reference
    return None


def _day_observations(
    entry: DiaryEntry,
    patient_id: str,
    extra: Mapping[str, Any] | None = None,
    id_prefix: str = "diary",
) -> list[dict[str, Any]]:
    observations = []
    for field, code in _DIARY_ITEMS:
        value = getattr(entry, field)
        if value is None:
            continue
        observations.append(
            validated(
                {
                    "resourceType": "Observation",
                    "id": f"{id_prefix}-{entry.day.isoformat()}-{field.replace('_', '-')}",
                    "status": "final",
                    "category": [_SURVEY],
                    "code": code,
                    "subject": _patient(patient_id),
                    "effectiveDateTime": entry.day.isoformat(),
                    "valueInteger": int(value),
                    **(extra or {}),
                }
            )
        )
    return observations


def fiqr_to_questionnaire_response(
    answers: Mapping[str, Sequence[float | None]],
    scores: Mapping[str, Any],
    patient_id: str,
    taken_on: dt.date,
) -> dict[str, Any]:
    """FIQR answers (function/overall/symptoms lists) and scores as a QuestionnaireResponse.

    Items are `function.1` ... `symptoms.10` with the questionnaire's own item texts;
    unanswered items are left out (FHIR has no empty answer). The scores computed by
    `ldnkit criteria fiqr` follow as a `scores` group.
    """
    from ldnkit.domain.criteria import FIQR_ITEMS

    groups = []
    for domain, texts in FIQR_ITEMS.items():
        items = []
        for number, (text, value) in enumerate(
            zip(texts, answers.get(domain, ()), strict=False), start=1
        ):
            item: dict[str, Any] = {"linkId": f"{domain}.{number}", "text": text}
            if value is not None:
                item["answer"] = [{"valueDecimal": value}]
            items.append(item)
        groups.append({"linkId": domain, "text": domain.capitalize(), "item": items})
    score_items = [
        {
            "linkId": f"score.{name}",
            "text": f"FIQR {name} score",
            "answer": [{"valueDecimal": scores[name]}],
        }
        for name in ("function", "overall", "symptoms", "total")
        if scores.get(name) is not None
    ]
    if score_items:
        groups.append({"linkId": "score", "text": "Scores", "item": score_items})
    return validated(
        {
            "resourceType": "QuestionnaireResponse",
            "status": "completed",
            "subject": _patient(patient_id),
            "authored": taken_on.isoformat(),
            "item": groups,
        }
    )
