"""FHIR R4 resources become the screening profile the safety screen reads."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from ldnkit.domain.profile import CodedCondition, Substance
from ldnkit.fhir.mapping import (
    DEFAULT_SUPPLY_DAYS,
    medication_from_fhir,
    patient_ref_id,
    profile_from_resources,
)
from ldnkit.validation import InputError

RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
AS_OF = dt.date(2026, 11, 23)


def request(status: str = "active", **extra: Any) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "MedicationRequest",
        "id": "rx1",
        "status": status,
        "intent": "order",
        "subject": {"reference": "Patient/p1"},
        "medicationCodeableConcept": {
            "coding": [{"system": RXNORM, "code": "835603", "display": "tramadol 50 MG"}],
            "text": "Ultram 50 mg",
        },
        "authoredOn": "2026-11-01T10:00:00-05:00",
    }
    resource.update(extra)
    return resource


def test_active_request_keeps_rxnorm_code_and_display() -> None:
    med = medication_from_fhir(request())
    assert med is not None
    assert (med.rxnorm, med.name, med.status, med.last_dose) == (
        "835603",
        "tramadol 50 MG",
        "active",
        None,
    )


@pytest.mark.parametrize("status", ["on-hold", "draft", "unknown"])
def test_paused_draft_or_unknown_orders_count_as_active(status: str) -> None:
    med = medication_from_fhir(request(status))
    assert med is not None
    assert med.status == "active"


def test_stopped_request_last_dose_is_order_date_plus_supply_with_refills() -> None:
    med = medication_from_fhir(
        request(
            "stopped",
            dispenseRequest={
                "expectedSupplyDuration": {"value": 10, "unit": "days", "code": "d"},
                "numberOfRepeatsAllowed": 1,
            },
        )
    )
    assert med is not None
    assert med.status == "stopped"
    assert med.last_dose == dt.date(2026, 11, 21)


def test_supply_from_quantity_and_dosage_when_no_duration() -> None:
    med = medication_from_fhir(
        request(
            "completed",
            dispenseRequest={"quantity": {"value": 28}},
            dosageInstruction=[
                {
                    "timing": {"repeat": {"frequency": 2, "period": 1, "periodUnit": "d"}},
                    "doseAndRate": [{"doseQuantity": {"value": 1}}],
                }
            ],
        )
    )
    assert med is not None
    assert med.last_dose == dt.date(2026, 11, 15)


def test_stopped_request_without_supply_assumes_a_usual_supply() -> None:
    med = medication_from_fhir(request("stopped"))
    assert med is not None
    assert med.last_dose == dt.date(2026, 11, 1) + dt.timedelta(days=DEFAULT_SUPPLY_DAYS)


def test_cancelled_order_was_never_taken_after_its_date() -> None:
    med = medication_from_fhir(request("cancelled"))
    assert med is not None
    assert med.last_dose == dt.date(2026, 11, 1)


def test_entered_in_error_is_not_a_medication_of_the_patient() -> None:
    assert medication_from_fhir(request("entered-in-error")) is None


def test_medication_reference_resolves_to_contained_medication() -> None:
    resource = request()
    del resource["medicationCodeableConcept"]
    resource["medicationReference"] = {"reference": "#med"}
    resource["contained"] = [
        {
            "resourceType": "Medication",
            "id": "med",
            "code": {"coding": [{"system": RXNORM, "code": "7804", "display": "oxycodone"}]},
        }
    ]
    med = medication_from_fhir(resource)
    assert med is not None
    assert (med.rxnorm, med.name) == ("7804", "oxycodone")


def test_medication_reference_resolves_to_supplied_medication() -> None:
    resource = request()
    del resource["medicationCodeableConcept"]
    resource["medicationReference"] = {"reference": "Medication/m9"}
    supplied = {
        "Medication/m9": {
            "resourceType": "Medication",
            "id": "m9",
            "code": {"text": "Methadone 10 mg"},
        }
    }
    med = medication_from_fhir(resource, supplied)
    assert med is not None
    assert (med.rxnorm, med.name) == (None, "Methadone 10 mg")


def test_statement_stopped_last_dose_is_end_of_effective_period() -> None:
    statement = {
        "resourceType": "MedicationStatement",
        "id": "s1",
        "status": "completed",
        "subject": {"reference": "Patient/p1"},
        "medicationCodeableConcept": {"text": "codeine 30 mg"},
        "effectivePeriod": {"start": "2026-10-01", "end": "2026-11-18"},
    }
    med = medication_from_fhir(statement)
    assert med is not None
    assert (med.name, med.status, med.last_dose) == (
        "codeine 30 mg",
        "stopped",
        dt.date(2026, 11, 18),
    )


def test_invalid_request_names_resource_and_field() -> None:
    with pytest.raises(InputError) as caught:
        medication_from_fhir(request("actve", authoredOn="yesterday"))
    fields = {p.field for p in caught.value.problems}
    assert fields == {"MedicationRequest/rx1.status", "MedicationRequest/rx1.authoredOn"}


@pytest.mark.parametrize(
    ("reference", "expected"),
    [
        ("Patient/p1", "p1"),
        ("urn:uuid:5f2c", "5f2c"),
        ("https://ehr.example.org/fhir/Patient/p1/_history/3", "p1"),
        ("Patient?identifier=x|1", None),
    ],
)
def test_patient_references_in_every_form(reference: str, expected: str | None) -> None:
    assert patient_ref_id(reference) == expected


def condition(code: str, clinical: str, system: str = "http://snomed.info/sct") -> dict[str, Any]:
    return {
        "resourceType": "Condition",
        "id": f"c-{code}",
        "clinicalStatus": {"coding": [{"code": clinical}]},
        "code": {"coding": [{"system": system, "code": code}]},
        "subject": {"reference": "urn:uuid:p1"},
    }


def test_profile_counts_only_active_conditions_and_other_patients_are_ignored() -> None:
    patient = {"resourceType": "Patient", "id": "p1", "gender": "female", "birthDate": "1979-05-02"}
    other = condition("24700007", "active") | {"subject": {"reference": "Patient/p2"}}
    profile = profile_from_resources(
        [
            patient,
            condition("95417003", "active"),
            condition("M79.7", "active", "http://hl7.org/fhir/sid/icd-10-cm"),
            condition("72892002", "resolved"),
            other,
            request("stopped"),
        ],
        AS_OF,
    )
    assert (profile.age, profile.sex) == (47, "female")
    assert profile.conditions == [
        CodedCondition(system="snomed", code="95417003"),
        CodedCondition(system="icd10cm", code="M79.7"),
    ]
    # The stopped order's estimated last dose lies after as_of: it is capped there.
    assert [m.last_dose for m in profile.medications] == [AS_OF]


def test_profile_reads_pregnancy_allergy_and_planned_procedure() -> None:
    resources: list[dict[str, Any]] = [
        {"resourceType": "Patient", "id": "p1", "gender": "female", "birthDate": "1990"},
        {
            "resourceType": "Observation",
            "id": "o1",
            "status": "final",
            "code": {"coding": [{"system": "http://loinc.org", "code": "82810-3"}]},
            "subject": {"reference": "Patient/p1"},
            "effectiveDateTime": "2026-11-01",
            "valueCodeableConcept": {
                "coding": [{"system": "http://snomed.info/sct", "code": "77386006"}]
            },
        },
        {
            "resourceType": "AllergyIntolerance",
            "id": "a1",
            "patient": {"reference": "Patient/p1"},
            "code": {"coding": [{"system": RXNORM, "code": "7243", "display": "naltrexone"}]},
        },
        {
            "resourceType": "ServiceRequest",
            "id": "sr1",
            "status": "active",
            "intent": "order",
            "subject": {"reference": "Patient/p1"},
            "code": {"text": "knee arthroscopy"},
            "occurrenceDateTime": "2026-12-10",
        },
        {
            "resourceType": "Procedure",
            "id": "pr1",
            "status": "completed",
            "subject": {"reference": "Patient/p1"},
            "code": {"text": "appendectomy"},
            "performedDateTime": "2020-01-01",
        },
    ]
    profile = profile_from_resources(resources, AS_OF)
    assert profile.pregnant is True
    assert profile.allergies == [Substance(name="naltrexone", rxnorm="7243")]
    assert [(p.name, p.date) for p in profile.planned_procedures] == [
        ("knee arthroscopy", dt.date(2026, 12, 10))
    ]


def test_several_patients_without_a_choice_is_an_input_error() -> None:
    patients = [{"resourceType": "Patient", "id": i} for i in ("a", "b")]
    with pytest.raises(InputError) as caught:
        profile_from_resources(patients, AS_OF)
    assert caught.value.problems[0].field == "patient"


def pregnancy_status(when: str, system: str, code: str) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": f"o-{when}",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "82810-3"}]},
        "subject": {"reference": "Patient/p1"},
        "effectiveDateTime": when,
        "valueCodeableConcept": {"coding": [{"system": system, "code": code}]},
    }


def test_latest_pregnancy_status_wins_in_snomed_or_loinc_answers() -> None:
    patient = {"resourceType": "Patient", "id": "p1", "gender": "female"}
    earlier = pregnancy_status("2026-06-01", "http://snomed.info/sct", "77386006")
    later = pregnancy_status("2026-11-01", "http://loinc.org", "LA26683-5")
    assert profile_from_resources([patient, later, earlier], AS_OF).pregnant is False
    unknown = pregnancy_status("2026-11-20", "http://loinc.org", "LA4489-6")
    assert profile_from_resources([patient, earlier, unknown], AS_OF).pregnant is True
