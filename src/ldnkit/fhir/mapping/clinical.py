"""Conditions, allergies, observations and procedures -> the screen's facts.

What counts, and why (each choice errs on the side of the patient's safety):

Condition
    counts when clinicalStatus is active, recurrence or relapse (or absent) and
    verificationStatus is not refuted or entered-in-error. Of its ICD-10-CM and SNOMED CT codings,
    text and displays, the first the knowledge base recognises is sent; else the first code.
AllergyIntolerance
    active (or no clinicalStatus), not refuted or entered-in-error -> an allergy by RxNorm code
    and name; the screen decides which substances matter.
Observation
    the latest final/amended/corrected pregnancy status (LOINC 82810-3 or 11449-6) sets
    `pregnant`: SNOMED 77386006 or LOINC LA15173-0 -> true; SNOMED 60001007 or LOINC LA26683-5
    -> false; any other answer (unknown) leaves it unset.
Procedure / ServiceRequest
    a Procedure in preparation (or on hold) or an active/draft/on-hold ServiceRequest, dated on
    or after `as_of`, is a planned procedure; opioids are assumed expected unless known otherwise.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any, NamedTuple

from ldnkit.domain.profile import CodedCondition, Condition, PlannedProcedure, Substance
from ldnkit.fhir.mapping.datatypes import (
    ICD10CM,
    LOINC,
    RXNORM,
    SNOMED,
    codings,
    concept_name,
    fhir_date,
    rxnorm_code,
    status_code,
    system_code,
)
from ldnkit.knowledge import knowledge_base

CONDITION_ACTIVE = frozenset({"active", "recurrence", "relapse"})
NOT_TRUE = frozenset({"refuted", "entered-in-error"})
PREGNANCY_STATUS_LOINC = frozenset({"82810-3", "11449-6"})
# Answers seen for pregnancy status: SNOMED CT findings (as in CQF test cases) or the LOINC
# answer list of HL7's pregnancy-status value set (LA15173-0 pregnant, LA26683-5 not pregnant).
_PREGNANT = {
    (SNOMED, "77386006"): True,
    (SNOMED, "60001007"): False,
    (LOINC, "LA15173-0"): True,
    (LOINC, "LA26683-5"): False,
}
FINAL_OBSERVATION = frozenset({"final", "amended", "corrected"})
PLANNED_PROCEDURE = frozenset({"preparation", "on-hold"})
PLANNED_REQUEST = frozenset({"active", "draft", "on-hold"})


class PregnancyStatus(NamedTuple):
    """What a pregnancy-status observation says, and the day it was true."""

    date: dt.date
    pregnant: bool


def condition_from_fhir(resource: Mapping[str, Any]) -> Condition | None:
    """An active, not refuted Condition as a screening condition; None otherwise."""
    clinical = status_code(resource.get("clinicalStatus"))
    if clinical is not None and clinical not in CONDITION_ACTIVE:
        return None
    if status_code(resource.get("verificationStatus")) in NOT_TRUE:
        return None
    return condition_entry(resource.get("code"))


def condition_entry(code: Any) -> Condition | None:
    """The form of a condition's code the screen recognises (see the module notes)."""
    # The knowledge base may know a condition by one of its codings or only by its name;
    # send the screen the form it recognises, else the first ICD-10-CM/SNOMED code, else text.
    kb = knowledge_base()
    candidates: list[Condition] = []
    for system, short in ((ICD10CM, "icd10cm"), (SNOMED, "snomed")):
        for coding in codings(code):
            if coding.get("system") == system and coding.get("code"):
                candidates.append(CodedCondition(system=short, code=str(coding["code"])))
    names = [code.get("text")] if isinstance(code, dict) else []
    names += [c.get("display") for c in codings(code)]
    candidates += [str(n).strip() for n in names if isinstance(n, str) and n.strip()]
    for candidate in candidates:
        if isinstance(candidate, CodedCondition):
            found = kb.find_condition(candidate.code, candidate.system)
        else:
            found = kb.find_condition(candidate)
        if found is not None:
            return candidate
    return candidates[0] if candidates else None


def allergy_from_fhir(resource: Mapping[str, Any]) -> Substance | None:
    """An active, not refuted AllergyIntolerance as a substance; None otherwise."""
    clinical = status_code(resource.get("clinicalStatus"))
    if clinical is not None and clinical != "active":
        return None
    if status_code(resource.get("verificationStatus")) in NOT_TRUE:
        return None
    code = resource.get("code")
    rxnorm = rxnorm_code(code)
    name = concept_name(code, prefer=RXNORM)
    return Substance(name=name, rxnorm=rxnorm) if rxnorm or name else None


def pregnancy_from_fhir(resource: Mapping[str, Any]) -> PregnancyStatus | None:
    """(date, pregnant) from a final pregnancy-status Observation; None for anything else."""
    if resource.get("status") not in FINAL_OBSERVATION:
        return None
    if system_code(resource.get("code"), LOINC) not in PREGNANCY_STATUS_LOINC:
        return None
    answers = [
        _PREGNANT[key]
        for c in codings(resource.get("valueCodeableConcept"))
        if (key := (c.get("system"), c.get("code"))) in _PREGNANT
    ]
    if not answers:
        return None
    when = (
        fhir_date(resource.get("effectiveDateTime"))
        or fhir_date((resource.get("effectivePeriod") or {}).get("start"))
        or fhir_date(resource.get("issued"))
        or dt.date.min
    )
    return PregnancyStatus(when, answers[0])


def planned_procedure_from_fhir(
    resource: Mapping[str, Any], as_of: dt.date
) -> PlannedProcedure | None:
    """A Procedure or ServiceRequest planned on or after `as_of`; None otherwise."""
    kind = resource.get("resourceType")
    if kind == "Procedure":
        if resource.get("status") not in PLANNED_PROCEDURE:
            return None
        when = fhir_date(resource.get("performedDateTime")) or fhir_date(
            (resource.get("performedPeriod") or {}).get("start")
        )
    elif kind == "ServiceRequest":
        if resource.get("status") not in PLANNED_REQUEST:
            return None
        when = fhir_date(resource.get("occurrenceDateTime")) or fhir_date(
            (resource.get("occurrencePeriod") or {}).get("start")
        )
    else:
        return None
    if when is None or when < as_of:
        return None
    return PlannedProcedure(date=when, name=concept_name(resource.get("code"), prefer=SNOMED))
