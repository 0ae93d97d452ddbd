"""MedicationRequest and MedicationStatement -> the screen's medications.

What counts, and why (each choice errs on the side of the patient's safety):

MedicationRequest.status
    active, on-hold, draft, unknown -> "active". on-hold is a pause, not an end; draft is the
    order being written (what CDS Hooks `order-select` sends); unknown cannot be assumed over.
    completed, stopped, cancelled -> "stopped", with the last dose estimated (below).
    entered-in-error -> not a medication of this patient at all (None).
MedicationStatement.status
    active, on-hold, intended, unknown -> "active" (intended: about to be taken).
    completed, stopped -> "stopped". not-taken, entered-in-error -> None.
Last dose of a stopped medication
    MedicationStatement: the end of effectivePeriod, else effectiveDateTime, else dateAsserted.
    MedicationRequest: authoredOn (or dispenseRequest.validityPeriod.start) plus the supply:
    dispenseRequest.expectedSupplyDuration x (1 + numberOfRepeatsAllowed); else the dispensed
    quantity divided by the daily dose of the dosage instruction, x (1 + repeats); else
    DEFAULT_SUPPLY_DAYS, a usual community supply, because an order with no supply information
    may well have been taken for weeks after it was written. A cancelled order never started:
    its last dose is at most the order date. The profile caps any estimate at `as_of`.
Which drug
    medicationCodeableConcept, else the Medication that medicationReference names (contained in
    the resource, or supplied by the caller: every reference form is read by
    `ldnkit.fhir.mapping.references`), else the reference's display.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from ldnkit.domain.profile import Medication
from ldnkit.fhir.boundary import label, validated
from ldnkit.fhir.mapping.datatypes import (
    RXNORM,
    UNIT_DAYS,
    concept_name,
    duration_days,
    fhir_date,
    rxnorm_code,
)
from ldnkit.fhir.mapping.references import reference_target
from ldnkit.validation import InputError

DEFAULT_SUPPLY_DAYS = 30

REQUEST_ACTIVE = frozenset({"active", "on-hold", "draft", "unknown"})
REQUEST_STOPPED = frozenset({"completed", "stopped", "cancelled"})
STATEMENT_ACTIVE = frozenset({"active", "on-hold", "intended", "unknown"})
STATEMENT_STOPPED = frozenset({"completed", "stopped"})

Medications = Mapping[str, dict[str, Any]]


def medication_index(medications: Iterable[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """Medication resources by the reference key `Medication/<id>` the mapping looks them up by."""
    return {
        f"Medication/{m['id']}": dict(m)
        for m in medications
        if m.get("resourceType", "Medication") == "Medication" and m.get("id")
    }


def _referenced(resource: Mapping[str, Any], supplied: Medications | None) -> dict[str, Any] | None:
    target = reference_target(resource.get("medicationReference"))
    # Only a Medication (or an untyped reference) can be the drug of an order.
    if target is None or target.type not in (None, "Medication"):
        return None
    if target.contained:
        for med in resource.get("contained") or ():
            if isinstance(med, dict) and med.get("id") == target.id:
                return med
    # Callers supply Medications keyed `Medication/<id>` (or by the reference as written,
    # `#<id>`, or the bare id). A contained one that is missing is looked for there too: a drug
    # found beats none.
    supplied = supplied or {}
    written = str((resource.get("medicationReference") or {}).get("reference"))
    for key in (f"Medication/{target.id}", written, f"#{target.id}", target.id):
        med = supplied.get(key)
        if med is not None:
            return med
    return None


def medication_concept(resource: Mapping[str, Any], supplied: Medications | None = None) -> Any:
    """The concept naming the drug of a medication resource (see the module notes)."""
    if resource.get("medicationCodeableConcept") is not None:
        return resource["medicationCodeableConcept"]
    med = _referenced(resource, supplied)
    if med is not None:
        return med.get("code")
    # An unresolved reference still carries what the sender called the drug.
    display = (resource.get("medicationReference") or {}).get("display")
    return {"text": display} if display else None


def _daily_units(dosages: Any) -> float | None:
    """Units taken per day by the first dosage instruction with a dose and a timing."""
    for dosage in dosages or []:
        if not isinstance(dosage, dict):
            continue
        repeat = (dosage.get("timing") or {}).get("repeat") or {}
        per_period = repeat.get("frequencyMax") or repeat.get("frequency") or 1
        period = repeat.get("period")
        unit_days = UNIT_DAYS.get(str(repeat.get("periodUnit")))
        for dose_rate in dosage.get("doseAndRate") or []:
            dose = (dose_rate.get("doseQuantity") or {}).get("value")
            if isinstance(dose, int | float) and dose > 0 and period and unit_days:
                return float(dose) * float(per_period) / (float(period) * unit_days)
    return None


def request_supply_days(resource: Mapping[str, Any]) -> float:
    """How many days a MedicationRequest's supply (with refills) covers at most."""
    dispense = resource.get("dispenseRequest") or {}
    repeats = dispense.get("numberOfRepeatsAllowed")
    fills = 1 + (repeats if isinstance(repeats, int) and repeats > 0 else 0)
    days = duration_days(dispense.get("expectedSupplyDuration"))
    if days is None:
        quantity = (dispense.get("quantity") or {}).get("value")
        daily = _daily_units(resource.get("dosageInstruction"))
        if isinstance(quantity, int | float) and quantity > 0 and daily:
            days = float(quantity) / daily
    if days is None:
        return float(DEFAULT_SUPPLY_DAYS)
    return days * fills


def request_start(resource: Mapping[str, Any]) -> dt.date | None:
    """The day a MedicationRequest's supply starts: authoredOn, else the validity start."""
    validity = (resource.get("dispenseRequest") or {}).get("validityPeriod") or {}
    return order_day(resource.get("authoredOn")) or fhir_date(validity.get("start"), latest=True)


def order_day(authored: Any) -> dt.date | None:
    """The day of a MedicationRequest's authoredOn (the last day of a partial date)."""
    return fhir_date(authored, latest=True, field="MedicationRequest.authoredOn")


def request_dose_days(resource: Mapping[str, Any]) -> int:
    """Days from a stopped request's start to its estimated last dose (0 when cancelled)."""
    if resource.get("status") == "cancelled":
        return 0
    return round(request_supply_days(resource))


def undated_order(
    resource: Mapping[str, Any], supplied: Medications | None = None
) -> tuple[Medication | None, int]:
    """A MedicationRequest read without its order date: the medication and its dose days.

    The medication of a stopped order has no last dose yet: `dated_order` gives it one. Orders
    that differ only in their date map alike, so callers map each shape of order once.
    """
    medication = _medication(resource, supplied, None)
    return medication, request_dose_days(resource)


def dated_order(
    undated: Medication, dose_days: int, start: dt.date | None, as_of: dt.date | None = None
) -> Medication:
    """An undated order's medication with the last dose its start gives (capped at `as_of`)."""
    if undated.status == "active" or start is None:
        return undated if as_of is None else cap_last_dose(undated, as_of)
    last = start + dt.timedelta(days=dose_days)
    if as_of is not None and last > as_of:
        last = as_of
    return undated.model_copy(update={"last_dose": last})


def _statement_last_dose(resource: Mapping[str, Any]) -> dt.date | None:
    period = resource.get("effectivePeriod") or {}
    return (
        fhir_date(period.get("end"), latest=True)
        or fhir_date(resource.get("effectiveDateTime"), latest=True)
        or fhir_date(period.get("start"), latest=True)
        or fhir_date(resource.get("dateAsserted"), latest=True)
    )


def medication_from_fhir(
    resource: dict[str, Any], contained: Medications | None = None
) -> Medication | None:
    """A MedicationRequest or MedicationStatement as a screening medication.

    `contained` supplies Medication resources that `medicationReference` may point to, keyed
    `Medication/<id>` (or `#<id>`); the resource's own `contained` list is always searched.
    Returns None for records that say nothing about the patient's medication (entered in
    error, not taken) and for a medication with neither an RxNorm code nor a name.
    Raises InputError when the resource is not valid FHIR R4.
    """
    return medication_from_fragment(validated(resource), contained)


def medication_from_fragment(
    resource: Mapping[str, Any], contained: Medications | None
) -> Medication | None:
    """medication_from_fhir without validation, for fragments the caller already checked."""
    if resource["resourceType"] == "MedicationRequest":
        undated, days = undated_order(resource, contained)
        return None if undated is None else dated_order(undated, days, request_start(resource))
    return _medication(resource, contained, _statement_last_dose)


def _medication(
    resource: Mapping[str, Any], contained: Medications | None, last_dose: Any
) -> Medication | None:
    kind = resource["resourceType"]
    status = resource.get("status")
    if kind == "MedicationRequest":
        active, stopped = REQUEST_ACTIVE, REQUEST_STOPPED
    elif kind == "MedicationStatement":
        active, stopped = STATEMENT_ACTIVE, STATEMENT_STOPPED
    else:
        raise InputError.single(
            f"{label(resource)}.resourceType", kind, "MedicationRequest or MedicationStatement"
        )
    if status not in active and status not in stopped:
        return None
    concept = medication_concept(resource, contained)
    rxnorm = rxnorm_code(concept)
    name = concept_name(concept, prefer=RXNORM)
    if not rxnorm and not name:
        return None
    if status in active:
        return Medication(name=name, rxnorm=rxnorm, status="active")
    when = None if last_dose is None else last_dose(resource)
    return Medication(name=name, rxnorm=rxnorm, status="stopped", last_dose=when)


def distinct_medications(medications: Iterable[Medication]) -> list[Medication]:
    """One entry per drug and status; of repeated stopped orders only the latest dose matters."""
    kept: dict[tuple[str | None, str | None, str], Medication] = {}
    for med in medications:
        key = (med.name, med.rxnorm, med.status)
        seen = kept.get(key)
        if seen is None or (
            med.last_dose is not None and (seen.last_dose is None or med.last_dose > seen.last_dose)
        ):
            kept[key] = med
    return list(kept.values())


def cap_last_dose(medication: Medication, as_of: dt.date) -> Medication:
    """A stopped medication cannot have been taken after the day the screen looks from."""
    if medication.last_dose is not None and medication.last_dose > as_of:
        return medication.model_copy(update={"last_dose": as_of})
    return medication
