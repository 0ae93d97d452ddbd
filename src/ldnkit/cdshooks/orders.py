"""From the FHIR of one call to the drugs the order-time rule reads, and the patient's profile.

The FHIR -> medication mapping is `ldnkit.fhir.mapping`; this module only chooses what to hand
it. Resources are read for what says which drug it is (dosage text, timing, dispense details
are left out first), and what is not valid FHIR in that is taken out and logged rather than
refused (`salvage`): the spec's own order-sign example writes an STU3-style `doseQuantity` in an
R4 order, and the CDC's requests miss elements FHIR requires. The ordered dose is read here
from the dosage instruction, because the screening profile has no place for it.

Unknown is never "no":
- a medication in the patient's record whose drug cannot be read at all (no RxNorm code, name,
  text or resolvable reference) enters the profile as an unnamed medication, which the screen
  reports as unrecognised (a caution) instead of it silently counting as no opioid;
- a draft order whose drug cannot be read at all is an `UnreadableOrder`: the service answers it
  with a warning card saying the order was not checked against naltrexone and opioids (the safe
  side: a 200 with no card would read as "no problem", a refusal shows the clinician nothing).
A record medication with a status that is no FHIR code is read as `unknown` status, which the
mapping counts as active (unknown cannot be assumed over).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from ldnkit.cdshooks.errors import CdsError
from ldnkit.cdshooks.models import DraftEntry
from ldnkit.cdshooks.salvage import salvage
from ldnkit.cdshooks.tolerance import Tolerated
from ldnkit.domain.drugs import drug_facts
from ldnkit.domain.profile import Medication, PatientProfile
from ldnkit.domain.rules import SessionDrug
from ldnkit.fhir.mapping import (
    REQUEST_ACTIVE,
    REQUEST_STOPPED,
    STATEMENT_ACTIVE,
    STATEMENT_STOPPED,
    medication_from_fragment,
    profile_from_resources,
    subject_id,
)
from ldnkit.validation import InputError, problems_from

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
# The statuses under which a record says the patient takes or took the medication.
_TAKEN = {
    "MedicationRequest": (REQUEST_ACTIVE, REQUEST_STOPPED),
    "MedicationStatement": (STATEMENT_ACTIVE, STATEMENT_STOPPED),
}
# The name an unreadable medication goes by: a word no lexicon reads, so the screen reports it
# as unrecognised (a test holds the lexicon to that).
UNNAMED = "Unnamed medication"
_MG = {"mg", "milligram", "milligrams"}
_NOT_BEING_ORDERED = frozenset({"cancelled", "completed", "entered-in-error", "stopped"})


def _text(value: Any) -> str | None:
    # Looked up in sets of codes: an object or a list where a code belongs is no code (and
    # would not even be hashable).
    return value if isinstance(value, str) else None


def _label(resource: dict[str, Any]) -> str:
    kind, rid = _text(resource.get("resourceType")), _text(resource.get("id"))
    return f"{kind}/{rid}" if rid else str(kind)


def _readable(resource: dict[str, Any], where: str, notes: Tolerated) -> dict[str, Any]:
    """The elements ldnkit reads of a resource of a type it reads, salvaged (see module doc)."""
    kind = str(resource["resourceType"])
    kept = {k: resource[k] for k in _CLINICAL_FIELDS[kind] if k in resource}
    if isinstance(kept.get("contained"), list):  # only a contained Medication's code is read
        kept["contained"] = [
            {k: c[k] for k in _CLINICAL_FIELDS["Medication"] if k in c}
            for c in kept["contained"]
            if isinstance(c, dict) and c.get("resourceType") == "Medication"
        ]
    return salvage(kept, where, notes)


def _medication_index(resources: Iterable[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {
        f"Medication/{r['id']}": r
        for r in resources
        if r.get("resourceType") == "Medication" and isinstance(r.get("id"), str)
    }


def _medication(
    resource: dict[str, Any], index: dict[str, dict[str, Any]], where: str, notes: Tolerated
) -> Medication | None:
    """The drug a (salvaged) medication resource names; None when it names none readable."""
    try:
        return medication_from_fragment(resource, index)
    except (InputError, ValidationError) as exc:  # e.g. a name longer than a profile holds
        notes.problem(f"{where}: {exc}")
        return None


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


@dataclass(frozen=True)
class UnreadableOrder:
    """A draft MedicationRequest whose drug could not be read: it cannot be checked."""

    reference: str | None  # `MedicationRequest/<id>`, when it has a usable id
    where: str


@dataclass(frozen=True)
class Drafts:
    """The session's draft medication orders as the order rule reads them."""

    ordered: list[SessionDrug]  # being signed or selected now
    pending: list[SessionDrug]  # the session's other drafts
    unreadable: list[UnreadableOrder]  # being ordered, drug unknown


def draft_drugs(
    entries: Sequence[DraftEntry], selections: Sequence[str] | None, notes: Tolerated
) -> Drafts:
    """The drafts being acted on, the session's other drafts, and those that cannot be read.

    order-sign acts on every draft (`selections` None); order-select on the selected ones,
    matched by `MedicationRequest/<id>`, bare id or fullUrl. When no selection names any draft,
    every draft is acted on (the safe side: a check too many, never one missed).
    """
    index = _medication_index(e.resource for e in entries)
    orders = [
        e
        for e in entries
        if e.resource.get("resourceType") == "MedicationRequest"
        # a re-signed order that stops or voids a drug does not start it
        and _text(e.resource.get("status")) not in _NOT_BEING_ORDERED
    ]
    chosen = set(selections or ())
    if chosen and not any(_handles(e) & chosen for e in orders):
        notes.problem("context.selections: name none of the draft orders; every draft is checked")
        chosen = set()
    found = Drafts([], [], [])
    for entry in orders:
        order = _readable(entry.resource, entry.where, notes)
        rid = _text(order.get("id"))
        reference = f"MedicationRequest/{rid}" if rid else None
        acted_on = not chosen or bool(_handles(entry) & chosen)
        # A draft is read as an order being placed, whatever its status says.
        medication = _medication({**order, "status": "draft"}, index, entry.where, notes)
        if medication is None:
            notes.problem(f"{entry.where}: names no medication that can be read")
            if acted_on:
                found.unreadable.append(UnreadableOrder(reference, entry.where))
            continue
        item = drug(medication, _ordered_mg(entry.resource), reference, draft=True)
        (found.ordered if acted_on else found.pending).append(item)
    return found


def _handles(entry: DraftEntry) -> set[str]:
    """What a selection may call a draft: `MedicationRequest/<id>`, its id, its fullUrl."""
    rid = _text(entry.resource.get("id"))
    names = {f"MedicationRequest/{rid}", rid} if rid else set()
    return names | ({entry.full_url} if entry.full_url else set())


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
    resources: Sequence[dict[str, Any]], patient_id: str, as_of: dt.date, notes: Tolerated
) -> PatientProfile:
    """The screening profile from the patient's prefetched or fetched resources.

    Each resource is read for what it holds (module doc); a Patient with another id than the
    call's patient is left out, and so (by the mapping) is what is about another patient.
    """
    kept: list[dict[str, Any]] = []
    for resource in resources:
        kind = _text(resource.get("resourceType"))
        if kind not in _CLINICAL_FIELDS:
            continue
        where = _label(resource)
        readable = _readable(resource, where, notes)
        if kind == "Patient":
            if readable.get("id", patient_id) != patient_id:
                notes.problem(f"{where}: another patient than Patient/{patient_id}; not read")
                continue
            readable["id"] = patient_id
        elif kind in _TAKEN and _text(readable.get("status")) is None:
            notes.problem(f"{where}.status: got nothing; read as unknown (counted as taken)")
            readable["status"] = "unknown"
        kept.append(readable)
    unnamed = _unnamed(kept, patient_id, notes)
    try:
        profile = profile_from_resources(
            [r for r in kept if not any(r is u for u, _ in unnamed)],
            as_of,
            patient_id=patient_id,
            validate=False,  # validated (and salvaged) above, resource by resource
        )
    except ValidationError as exc:  # more medications or conditions than one profile holds
        raise CdsError(413, [f"the patient's record: {p}" for p in problems_from(exc)]) from exc
    if not unnamed:
        return profile
    added = [Medication(name=UNNAMED, status=status) for _, status in unnamed]
    return profile.model_copy(update={"medications": [*profile.medications, *added]})


def _unnamed(
    resources: Sequence[dict[str, Any]], patient_id: str, notes: Tolerated
) -> list[tuple[dict[str, Any], str]]:
    """The patient's medication records naming no drug that can be read, with their status."""
    index = _medication_index(resources)
    found = []
    for resource in resources:
        taken = _TAKEN.get(str(resource.get("resourceType")))
        if taken is None or subject_id(resource) not in (None, patient_id):
            continue
        status = resource.get("status")
        active, stopped = taken
        if status not in active and status not in stopped:
            continue  # entered in error, not taken: no medication of this patient
        where = _label(resource)
        if _medication(resource, index, where, notes) is None:
            notes.problem(f"{where}: names no medication that can be read; counted as unnamed")
            found.append((resource, "active" if status in active else "stopped"))
    return found


def active_drugs(profile: PatientProfile) -> list[SessionDrug]:
    return [drug(m) for m in profile.medications if m.status == "active"]
