"""From the FHIR of one call to the drugs the order-time rule reads.

The FHIR -> medication mapping is `ldnkit.fhir.mapping`; this module only chooses what to hand
it. Draft orders are read for what they order: fields that say nothing about which drug it is
(dosage text, timing, dispense details) are left out before validation, so an order that is
valid FHIR in what matters is not refused over an unrelated field (the spec's own order-sign
example writes an STU3-style `doseQuantity` in an R4 order). The ordered dose is read here
from the dosage instruction, because the screening profile has no place for it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from ldnkit.cdshooks.errors import CdsError
from ldnkit.cdshooks.models import DraftOrders
from ldnkit.domain.drugs import drug_facts
from ldnkit.domain.profile import Medication, PatientProfile
from ldnkit.domain.rules import SessionDrug
from ldnkit.fhir.mapping import medication_from_fhir, profile_from_resources
from ldnkit.validation import InputError

# What identifies the drug of a MedicationRequest; everything else is left out (see above).
_ORDER_FIELDS = (
    "resourceType",
    "id",
    "status",
    "intent",
    "medicationCodeableConcept",
    "medicationReference",
    "contained",
    "subject",
)
_CLINICAL_FIELDS = {
    "Patient": ("resourceType", "id", "birthDate", "gender", "deceasedDateTime"),
    "MedicationRequest": (*_ORDER_FIELDS, "authoredOn"),
    "MedicationStatement": (
        "resourceType", "id", "status", "medicationCodeableConcept", "medicationReference",
        "contained", "subject", "effectiveDateTime", "effectivePeriod", "dateAsserted",
    ),
    "Medication": ("resourceType", "id", "code"),
    "Condition": (
        "resourceType", "id", "clinicalStatus", "verificationStatus", "code", "subject",
    ),
}  # fmt: skip
_MG = {"mg", "milligram", "milligrams"}
_NOT_BEING_ORDERED = frozenset({"cancelled", "completed", "entered-in-error", "stopped"})


def _text(value: Any) -> str | None:
    # Looked up in sets of codes: an object or a list where a code belongs is no code (and
    # would not even be hashable); FHIR validation then names the field.
    return value if isinstance(value, str) else None


def _only(resource: dict[str, Any], fields: Sequence[str]) -> dict[str, Any]:
    return {k: resource[k] for k in fields if k in resource}


def drug(
    medication: Medication,
    dose_mg: float | None = None,
    reference: str | None = None,
    *,
    draft: bool = False,
) -> SessionDrug:
    return SessionDrug(
        label=medication.label,
        facts=drug_facts(medication.name, medication.rxnorm),
        dose_mg=dose_mg,
        draft=draft,
        reference=reference,
    )


def draft_drugs(
    orders: DraftOrders, selections: Sequence[str] | None
) -> tuple[list[SessionDrug], list[SessionDrug]]:
    """(ordered, pending): the drafts being acted on, and the session's other drafts.

    order-sign acts on every draft (`selections` None); order-select on the selected ones.
    """
    resources = orders.resources()
    medications = {
        f"Medication/{r['id']}": _only(r, _CLINICAL_FIELDS["Medication"])
        for r in resources
        if r.get("resourceType") == "Medication" and isinstance(r.get("id"), str)
    }
    selected = set(selections) if selections is not None else None
    ordered: list[SessionDrug] = []
    pending: list[SessionDrug] = []
    for index, resource in enumerate(orders.entry):
        order = resource.get("resource") if isinstance(resource, dict) else None
        if not isinstance(order, dict) or order.get("resourceType") != "MedicationRequest":
            continue  # diets, labs, procedures: nothing the LDN rules read
        if _text(order.get("status")) in _NOT_BEING_ORDERED:
            continue  # a re-signed order that stops or voids a drug does not start it
        reference = f"MedicationRequest/{order['id']}" if isinstance(order.get("id"), str) else None
        # A draft is read as an order being placed, whatever its status says.
        trimmed = {**_only(order, _ORDER_FIELDS), "status": "draft"}
        try:
            medication = medication_from_fhir(trimmed, medications)
        except InputError as exc:
            where = f"context.draftOrders.entry[{index}].resource"
            raise CdsError(400, [f"{where}: {problem}" for problem in exc.problems]) from exc
        if medication is None:
            continue
        item = drug(medication, _ordered_mg(order), reference, draft=True)
        if selected is None or (reference is not None and reference in selected):
            ordered.append(item)
        else:
            pending.append(item)
    return ordered, pending


def _ordered_mg(order: dict[str, Any]) -> float | None:
    """The dose per administration in mg, when the first dosage instruction states it so."""
    dosages = order.get("dosageInstruction")
    if not isinstance(dosages, list):
        return None
    for dosage in dosages:
        if not isinstance(dosage, dict):
            continue
        rates = dosage.get("doseAndRate")
        candidates = (
            [r.get("doseQuantity") for r in rates if isinstance(r, dict)]
            if isinstance(rates, list)
            else []
        )
        candidates.append(dosage.get("doseQuantity"))  # STU3 placement, still seen in the wild
        for quantity in candidates:
            if not isinstance(quantity, dict):
                continue
            unit = str(quantity.get("code") or quantity.get("unit") or "").lower()
            value = quantity.get("value")
            if unit in _MG and isinstance(value, int | float) and value >= 0:
                return float(value)
    return None


def patient_profile(
    resources: Sequence[dict[str, Any]], patient_id: str, as_of: dt.date
) -> PatientProfile:
    """The screening profile from the patient's prefetched or fetched resources."""
    kept = [
        _only(r, _CLINICAL_FIELDS[kind])
        for r in resources
        if (kind := _text(r.get("resourceType"))) in _CLINICAL_FIELDS
    ]
    try:
        return profile_from_resources(kept, as_of, patient_id=patient_id)
    except InputError as exc:
        raise CdsError(400, [f"prefetch: {problem}" for problem in exc.problems]) from exc


def active_drugs(profile: PatientProfile) -> list[SessionDrug]:
    return [drug(m) for m in profile.medications if m.status == "active"]
