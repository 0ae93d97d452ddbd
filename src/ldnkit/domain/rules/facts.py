"""Recognising one patient's profile once, for every rule: drugs, conditions, allergies."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from functools import lru_cache
from types import MappingProxyType
from typing import Literal

from ldnkit.domain.drugs import DrugFacts, Recognition, drug_facts, recognise
from ldnkit.domain.profile import CodedCondition, Medication, PatientProfile, Substance
from ldnkit.domain.rules.model import Facts
from ldnkit.knowledge import Condition, knowledge_base
from ldnkit.knowledge.valuesets import SOURCE_ID as VALUE_SETS_SOURCE
from ldnkit.knowledge.valuesets import value_sets

_ICD_LIKE = re.compile(r"^[A-Za-z]\d[0-9A-Za-z](?:\.?[0-9A-Za-z]{1,4})?$")
_SNOMED_LIKE = re.compile(r"^\d{6,18}$")

_NO_GROUPS: Mapping[str, list[tuple[Medication, DrugFacts]]] = MappingProxyType({})
_NO_ROLES: Mapping[str, Sequence[tuple[str, Condition]]] = MappingProxyType({})


def _conditions(
    profile: PatientProfile,
) -> tuple[dict[str, list[tuple[str, Condition]]], tuple[str, ...]]:
    """Recognised conditions by screen role (each once, first label kept), and unknown text."""
    by_role: dict[str, list[tuple[str, Condition]]] = {}
    unknown: list[str] = []
    seen: set[str] = set()
    for entry in profile.conditions:
        label, condition = _recognise_condition(entry)
        if condition is None:
            if not isinstance(entry, CodedCondition) and not _looks_like_code(entry):
                unknown.append(entry)
            continue
        # One finding per condition, even when it arrives as text and as a code.
        if condition.id not in seen:
            seen.add(condition.id)
            by_role.setdefault(condition.screen_role, []).append((label, condition))
    return by_role, tuple(dict.fromkeys(unknown))


def _looks_like_code(text: str) -> bool:
    """A bare ICD-10-CM or SNOMED CT code: the knowledge base lists only the codes that matter
    for LDN, so a code it lacks is a condition with nothing to check, not unread text."""
    return code_system_of(text) is not None


def code_system_of(text: str) -> Literal["icd10cm", "snomed"] | None:
    """The code system of a condition written as a bare code, or None for a name."""
    compact = text.strip()
    if _ICD_LIKE.match(compact):
        return "icd10cm"
    return "snomed" if _SNOMED_LIKE.match(compact) else None


def _recognise_condition(entry: str | CodedCondition) -> tuple[str, Condition | None]:
    if isinstance(entry, CodedCondition):
        return _recognised(entry.code, entry.system)
    return _recognised(entry, None)


@lru_cache(maxsize=1)
def _opioid_misuse_condition() -> Condition:
    return next(c for c in knowledge_base().conditions if c.screen_role == "opioid_use_disorder")


def _misuse_code(text: str, system: str | None) -> tuple[str, Condition] | None:
    """A code of the CDC opioid misuse disorders value set, as the opioid use disorder entry."""
    sets = value_sets()
    candidates = [system] if system else (["snomed"] if text.isdigit() else ["icd10cm"])
    for candidate in candidates:
        found = sets.condition(candidate, text.strip().upper() if candidate == "icd10cm" else text)
        if found is not None:
            display = found.display.removesuffix(" (disorder)")
            condition = _opioid_misuse_condition()
            cited = condition.model_copy(
                update={"sources": (*condition.sources, VALUE_SETS_SOURCE)}
            )
            return f"{candidate.upper()} {text} ({display})", cited
    return None


# Keyed by plain strings: the same conditions recur across the patients of a population.
@lru_cache(maxsize=65536)
def _recognised(text: str, system: str | None) -> tuple[str, Condition | None]:
    """The condition a text or code names, and how findings should name it.

    A code (or a synonym) means little to most readers, so the label adds the name it was
    recognised as: "SNOMED 431857002 (Chronic kidney disease)". Codes the knowledge base lacks
    are looked up in the CDC opioid misuse disorders value set.
    """
    condition = knowledge_base().find_condition(text, system)
    label = text if system is None else f"{system.upper()} {text}"
    if condition is None:
        misuse = _misuse_code(text, system)
        if misuse is not None:
            return misuse
        return label, None
    if label.casefold() != condition.name.casefold():
        label = f"{label} ({condition.name})"
    return label, condition


def _allergy_facts(profile: PatientProfile) -> tuple[tuple[str, Recognition], ...]:
    facts = []
    for allergy in profile.allergies:
        if isinstance(allergy, Substance):
            label = allergy.name or f"RxNorm {allergy.rxnorm}"
            facts.append((label, recognise(allergy.name, allergy.rxnorm)))
        else:
            facts.append((allergy, recognise(allergy)))
    return tuple(facts)


def _medications_by_group(
    profile: PatientProfile,
) -> dict[str, list[tuple[Medication, DrugFacts]]]:
    groups: dict[str, list[tuple[Medication, DrugFacts]]] = {}
    for med in profile.medications:
        drug = drug_facts(med.name, med.rxnorm)
        if med.status == "active":
            for group in drug.groups:
                groups.setdefault(group, []).append((med, drug))
        elif (stopped := _stopped_group(drug)) is not None:
            groups.setdefault(stopped, []).append((med, drug))
    return groups


def _stopped_group(drug: DrugFacts) -> str | None:
    # A stopped opioid needs its washout; a stopped drug not fully read might have been one.
    if drug.is_opioid:
        return "stopped_opioid"
    if drug.unknown:
        return "stopped_unknown"
    return None


def read_when_stopped(medication: Medication) -> bool:
    """Whether any rule reads a stopped medication beyond its being listed.

    Only a stopped opioid (its washout) or a drug the screen cannot fully read is read; any
    other stopped medication only counts toward the list not being empty, whatever its dates.
    """
    return _stopped_group(drug_facts(medication.name, medication.rxnorm)) is not None


def gather_facts(profile: PatientProfile) -> Facts:
    """Recognise the profile's drugs, conditions and allergies once, for all rules."""
    by_role, unknown = _conditions(profile) if profile.conditions else (_NO_ROLES, ())
    return Facts(
        profile=profile,
        medications=_medications_by_group(profile) if profile.medications else _NO_GROUPS,
        allergies=_allergy_facts(profile) if profile.allergies else (),
        by_role=by_role,
        unknown_conditions=unknown,
    )
