"""The safety screen: small rules, each with a stable id, over one patient profile.

Each rule reads facts recognised once per profile (drugs, conditions, allergies) and yields
findings whose words and sources come from `knowledge/data/rules.yaml`. The verdict is the most
severe finding; `earliest_start` is the first day the screen would pass.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from types import MappingProxyType
from typing import Any, Literal, NamedTuple

from ldnkit.domain.drugs import DrugClass, Recognition, recognise
from ldnkit.domain.profile import CodedCondition, Medication, PatientProfile, Substance
from ldnkit.knowledge import Condition, knowledge_base
from ldnkit.knowledge.rules import Severity, rule_texts

Verdict = Literal["eligible", "caution", "wait", "contraindicated"]

SEVERITY_RANK: dict[str, int] = {"info": 0, "caution": 1, "wait": 2, "contraindicated": 3}
_VERDICT: dict[str, Verdict] = {
    "info": "eligible",
    "caution": "caution",
    "wait": "wait",
    "contraindicated": "contraindicated",
}

# Opioid-free days before the first naltrexone dose (FACTS §1, §3: 7 to 10 days; switching from
# methadone or buprenorphine can precipitate withdrawal for up to about two weeks).
WASHOUT_SHORT_ACTING = 7
WASHOUT_LONG_ACTING = 10
WASHOUT_MAINTENANCE = 14
_MAINTENANCE_OPIOIDS = frozenset({"methadone", "buprenorphine"})

# Perioperative hold: 3 days before (anaesthesia guidance), 2 days at the least (FACTS §3).
HOLD_DAYS = 3
HOLD_DAYS_MINIMUM = 2


def _shift(day: dt.date, days: int) -> dt.date:
    """`day` moved by `days`, held at the calendar's ends instead of overflowing.

    EHR data carries placeholder dates (0001-01-01, 9999-12-31); they must not crash the screen.
    """
    try:
        return day + dt.timedelta(days=days)
    except OverflowError:
        return dt.date.max if days > 0 else dt.date.min


# Results are plain frozen dataclasses rather than pydantic models: the screen builds them for
# every patient of a population run, and they are never parsed from untrusted input.
@dataclass(frozen=True, slots=True)
class Finding:
    """One thing the clinician should know, with the rule that found it and its sources."""

    rule: str
    severity: Severity
    subject: str
    message: str
    sources: tuple[str, ...]
    # The day this finding stops applying (a washout's end); drives earliest_start only.
    resolves_on: dt.date | None = None

    def model_dump(self, mode: Literal["python", "json"] = "python") -> dict[str, Any]:
        """The contract's finding object (`resolves_on` is internal and left out)."""
        sources: Any = list(self.sources) if mode == "json" else self.sources
        return {
            "rule": self.rule,
            "severity": self.severity,
            "subject": self.subject,
            "message": self.message,
            "sources": sources,
        }


# A NamedTuple: immutable like a frozen dataclass, at a third of the cost to build, which
# matters when a population run screens every patient of a health system.
class Screening(NamedTuple):
    """The screen's answer: verdict, first possible start day, and every finding."""

    verdict: Verdict
    earliest_start: dt.date | None
    findings: tuple[Finding, ...]

    def model_dump(self, mode: Literal["python", "json"] = "python") -> dict[str, Any]:
        """The contract's JSON shape (`ldnkit screen --json`)."""
        start: Any = self.earliest_start
        if mode == "json" and start is not None:
            start = start.isoformat()
        return {
            "verdict": self.verdict,
            "earliest_start": start,
            "findings": [f.model_dump(mode) for f in self.findings],
        }


def _finding(
    rule_id: str,
    subject: str,
    *,
    extra_sources: tuple[str, ...] = (),
    resolves_on: dt.date | None = None,
    **values: object,
) -> Finding:
    return _cached_finding(rule_id, subject, extra_sources, resolves_on, tuple(values.items()))


# Findings are immutable and repeat across patients (the same drug names, the same
# conditions); building and rendering each only once keeps population screening fast.
@lru_cache(maxsize=65536)
def _cached_finding(
    rule_id: str,
    subject: str,
    extra_sources: tuple[str, ...],
    resolves_on: dt.date | None,
    values: tuple[tuple[str, object], ...],
) -> Finding:
    text = rule_texts()[rule_id]
    return Finding(
        rule=rule_id,
        severity=text.severity,
        subject=subject,
        message=text.render(subject=subject, **dict(values)),
        sources=tuple(dict.fromkeys(text.sources + extra_sources)),
        resolves_on=resolves_on,
    )


@dataclass(frozen=True, slots=True)
class DrugFacts:
    """What the rules need to know about one medication name or code, derived once."""

    recognition: Recognition
    opioid_ingredients: str  # "oxycodone + ..." for messages; empty when no opioid
    acting: str  # "short-acting" | "long-acting"
    washout: int  # opioid-free days needed before naltrexone
    thyroid: bool
    naltrexone_kind: str | None  # None also when the product has no naltrexone
    peripheral_opioids: str  # gut-acting opioid agonists (loperamide): information only
    # Which medication rules read this drug while it is taken: "opioid", "thyroid",
    # "naltrexone", "peripheral", "unrecognised". Grouping once per patient spares every rule
    # a pass over all medications.
    groups: tuple[str, ...]

    @property
    def is_opioid(self) -> bool:
        return self.recognition.is_opioid is True


_OPIOID_CLASSES = frozenset({DrugClass.OPIOID_AGONIST, DrugClass.OPIOID_PARTIAL_AGONIST})
_THYROID_CLASSES = frozenset({DrugClass.THYROID_HORMONE, DrugClass.ANTITHYROID})


def washout_days(recognition: Recognition) -> int:
    """Opioid-free days needed before naltrexone after this opioid product."""
    if any(m.id in _MAINTENANCE_OPIOIDS for m in recognition.ingredients):
        return WASHOUT_MAINTENANCE
    return WASHOUT_LONG_ACTING if recognition.long_acting else WASHOUT_SHORT_ACTING


# Keyed by the medication's name and code (cheap to hash), not by the recognition itself.
@lru_cache(maxsize=65536)
def drug_facts(name: str | None, rxnorm: str | None) -> DrugFacts:
    """Recognise a medication and derive what the screen's rules read from it."""
    rec = recognise(name, rxnorm)
    thyroid = bool(rec.classes & _THYROID_CLASSES)
    naltrexone_kind = rec.naltrexone_kind if DrugClass.NALTREXONE in rec.classes else None
    peripheral = " + ".join(
        m.name for m in rec.ingredients if DrugClass.PERIPHERAL_OPIOID_AGONIST in m.classes
    )
    flags = {
        "opioid": rec.is_opioid,
        "thyroid": thyroid,
        "naltrexone": naltrexone_kind is not None,
        "peripheral": bool(peripheral) and not rec.is_opioid,
        "unrecognised": not rec.ingredients,
    }
    return DrugFacts(
        recognition=rec,
        opioid_ingredients=" + ".join(
            m.name for m in rec.ingredients if m.classes & _OPIOID_CLASSES
        ),
        acting="long-acting" if rec.long_acting else "short-acting",
        washout=washout_days(rec),
        thyroid=thyroid,
        naltrexone_kind=naltrexone_kind,
        peripheral_opioids=peripheral,
        groups=tuple(group for group, applies in flags.items() if applies),
    )


@dataclass(slots=True)  # not frozen: built per patient, and frozen init costs a microsecond
class _Facts:
    """What the rules read: the profile plus what was recognised in it, once."""

    profile: PatientProfile
    # Medications grouped for the rules: DrugFacts.groups for active ones, "stopped_opioid".
    medications: Mapping[str, list[tuple[Medication, DrugFacts]]]
    allergies: tuple[tuple[str, Recognition], ...]
    # Recognised conditions by screen role, each with the label it arrived under.
    by_role: Mapping[str, Sequence[tuple[str, Condition]]]


# A rule appends what it finds; plain calls cost less than generators at population scale.
Rule = Callable[[_Facts, list[Finding]], None]


def opioid_active(facts: _Facts, out: list[Finding]) -> None:
    for med, drug in facts.medications.get("opioid", _NO_MEDS):
        out.append(
            _finding(
                "opioid-active",
                med.label,
                ingredients=drug.opioid_ingredients,
                kind=f"({drug.acting})",
                washout=drug.washout,
                extra_sources=drug.recognition.sources,
            )
        )


def opioid_peripheral(facts: _Facts, out: list[Finding]) -> None:
    for med, drug in facts.medications.get("peripheral", _NO_MEDS):
        out.append(_finding("opioid-peripheral", med.label, ingredients=drug.peripheral_opioids))


def opioid_washout(facts: _Facts, out: list[Finding]) -> None:
    as_of = facts.profile.as_of
    for med, drug in facts.medications.get("stopped_opioid", _NO_MEDS):
        if med.last_dose is None:
            out.append(
                _finding(
                    "opioid-washout-undated",
                    med.label,
                    ingredients=drug.opioid_ingredients,
                    kind=drug.acting,
                    washout=drug.washout,
                )
            )
            continue
        # Counted in days so that a washout ending past the calendar's end still applies.
        if (as_of - med.last_dose).days < drug.washout:
            earliest = _shift(med.last_dose, drug.washout)
            out.append(
                _finding(
                    "opioid-washout",
                    med.label,
                    resolves_on=earliest,
                    ingredients=drug.opioid_ingredients,
                    kind=drug.acting,
                    washout=drug.washout,
                    last_dose=med.last_dose.isoformat(),
                    days_since=(as_of - med.last_dose).days,
                    as_of=as_of.isoformat(),
                    earliest=earliest.isoformat(),
                )
            )


def procedure_hold(facts: _Facts, out: list[Finding]) -> None:
    as_of = facts.profile.as_of
    for procedure in facts.profile.planned_procedures:
        if not procedure.opioids_expected or procedure.date < as_of:
            continue
        last_dose = _shift(procedure.date, -HOLD_DAYS)
        latest = _shift(procedure.date, -HOLD_DAYS_MINIMUM)
        out.append(
            _finding(
                "procedure-hold",
                procedure.name or "A planned procedure",
                procedure_date=procedure.date.isoformat(),
                last_dose=last_dose.isoformat() if last_dose >= as_of else "none before it",
                latest_last_dose=latest.isoformat(),
            )
        )


_NONE: tuple[tuple[str, Condition], ...] = ()
_NO_MEDS: tuple[tuple[Medication, DrugFacts], ...] = ()
_NO_GROUPS: Mapping[str, list[tuple[Medication, DrugFacts]]] = MappingProxyType({})
_NO_ROLES: Mapping[str, Sequence[tuple[str, Condition]]] = MappingProxyType({})


def liver(facts: _Facts, out: list[Finding]) -> None:
    state = facts.profile.liver
    if state in ("acute_hepatitis", "decompensated_cirrhosis"):
        out.append(_finding("liver-acute", "Liver: " + state.replace("_", " ")))
    elif state == "chronic_disease":
        out.append(_finding("liver-chronic", "Liver: chronic disease"))
    for label, _ in facts.by_role.get("liver_acute", _NONE):
        out.append(_finding("liver-acute", label))
    for label, _ in facts.by_role.get("liver_chronic", _NONE):
        out.append(_finding("liver-chronic", label))


def kidney(facts: _Facts, out: list[Finding]) -> None:
    if facts.profile.kidney == "impaired":
        out.append(_finding("kidney-impaired", "Kidney function: impaired"))
    for label, _ in facts.by_role.get("kidney_impaired", _NONE):
        out.append(_finding("kidney-impaired", label))


def pregnancy(facts: _Facts, out: list[Finding]) -> None:
    if facts.profile.pregnant:
        out.append(_finding("pregnancy", "Pregnant"))
    for label, _ in facts.by_role.get("pregnancy", _NONE):
        out.append(_finding("pregnancy", label))


def breastfeeding(facts: _Facts, out: list[Finding]) -> None:
    if facts.profile.breastfeeding:
        out.append(_finding("breastfeeding", "Breastfeeding"))


def thyroid(facts: _Facts, out: list[Finding]) -> None:
    for med, drug in facts.medications.get("thyroid", _NO_MEDS):
        out.append(
            _finding("thyroid-medication", med.label, extra_sources=drug.recognition.sources)
        )
    for label, _ in facts.by_role.get("thyroid", _NONE):
        out.append(_finding("thyroid-medication", label))


def alcohol(facts: _Facts, out: list[Finding]) -> None:
    if facts.profile.alcohol == "heavy":
        out.append(_finding("alcohol", "Alcohol: heavy use"))
    for label, _ in facts.by_role.get("alcohol_heavy", _NONE):
        out.append(_finding("alcohol", label))


_PRODUCT_NAMES = {
    "standard": "standard-dose naltrexone (50 mg)",
    "extended_release_injection": "extended-release naltrexone injection",
    "naltrexone_bupropion": "naltrexone-bupropion",
}


def naltrexone_products(facts: _Facts, out: list[Finding]) -> None:
    for med, drug in facts.medications.get("naltrexone", _NO_MEDS):
        kind = drug.naltrexone_kind
        sources = drug.recognition.sources
        if kind == "ldn":
            out.append(_finding("already-on-ldn", med.label, extra_sources=sources))
        elif kind in _PRODUCT_NAMES:
            out.append(
                _finding(
                    "not-ldn-product",
                    med.label,
                    product=_PRODUCT_NAMES[kind],
                    extra_sources=sources,
                )
            )


def hypersensitivity(facts: _Facts, out: list[Finding]) -> None:
    for label, rec in facts.allergies:
        if DrugClass.NALTREXONE in rec.classes:
            out.append(_finding("hypersensitivity", f"Allergy: {label}"))


def opioid_use_disorder(facts: _Facts, out: list[Finding]) -> None:
    for label, _ in facts.by_role.get("opioid_use_disorder", _NONE):
        out.append(_finding("opioid-use-disorder", label))


_CONDITION_RULES = {
    "not_recommended": "condition-not-recommended",
    "limited_evidence": "condition-limited-evidence",
}


def condition_positions(facts: _Facts, out: list[Finding]) -> None:
    for role, rule_id in _CONDITION_RULES.items():
        for label, condition in facts.by_role.get(role, _NONE):
            out.append(
                _finding(
                    rule_id,
                    label,
                    summary=condition.summary.strip(),
                    extra_sources=tuple(condition.sources),
                )
            )


def unrecognised_medications(facts: _Facts, out: list[Finding]) -> None:
    for med, _ in facts.medications.get("unrecognised", _NO_MEDS):
        out.append(_finding("medication-unrecognised", med.label))


# The screen, in the order findings of equal severity are listed.
RULES: tuple[Rule, ...] = (
    opioid_active,
    hypersensitivity,
    liver,
    opioid_washout,
    procedure_hold,
    pregnancy,
    breastfeeding,
    kidney,
    thyroid,
    alcohol,
    naltrexone_products,
    opioid_use_disorder,
    condition_positions,
    opioid_peripheral,
    unrecognised_medications,
)


def _conditions_by_role(profile: PatientProfile) -> dict[str, list[tuple[str, Condition]]]:
    """Recognised conditions grouped by screen role, each condition once (first label kept)."""
    by_role: dict[str, list[tuple[str, Condition]]] = {}
    seen: set[str] = set()
    for entry in profile.conditions:
        label, condition = _recognise_condition(entry)
        # One finding per condition, even when it arrives as text and as a code.
        if condition is not None and condition.id not in seen:
            seen.add(condition.id)
            by_role.setdefault(condition.screen_role, []).append((label, condition))
    return by_role


def _recognise_condition(entry: str | CodedCondition) -> tuple[str, Condition | None]:
    if isinstance(entry, CodedCondition):
        return _recognised(entry.code, entry.system)
    return _recognised(entry, None)


# Keyed by plain strings: the same conditions recur across the patients of a population.
@lru_cache(maxsize=65536)
def _recognised(text: str, system: str | None) -> tuple[str, Condition | None]:
    """The condition a text or code names, and how findings should name it.

    A code (or a synonym) means little to most readers, so the label adds the name it was
    recognised as: "SNOMED 431857002 (Chronic kidney disease)".
    """
    condition = knowledge_base().find_condition(text, system)
    label = text if system is None else f"{system.upper()} {text}"
    if condition is not None and label.casefold() != condition.name.casefold():
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
        elif drug.is_opioid:
            groups.setdefault("stopped_opioid", []).append((med, drug))
    return groups


def gather_facts(profile: PatientProfile) -> _Facts:
    """Recognise the profile's drugs, conditions and allergies once, for all rules."""
    return _Facts(
        profile=profile,
        medications=_medications_by_group(profile) if profile.medications else _NO_GROUPS,
        allergies=_allergy_facts(profile) if profile.allergies else (),
        by_role=_conditions_by_role(profile) if profile.conditions else _NO_ROLES,
    )


def _most_severe_first(finding: Finding) -> int:
    return -SEVERITY_RANK[finding.severity]


def screen(profile: PatientProfile) -> Screening:
    """Screen one patient for starting LDN on `profile.as_of`."""
    facts = gather_facts(profile)
    findings: list[Finding] = []
    for rule in RULES:
        rule(facts, findings)
    if len(findings) > 1:
        findings.sort(key=_most_severe_first)  # stable: rule order within a severity
    worst = findings[0].severity if findings else "info"
    earliest: dt.date | None = None
    if worst != "contraindicated":
        earliest = profile.as_of
        for f in findings:
            if f.resolves_on is not None and f.resolves_on > earliest:
                earliest = f.resolves_on
    return Screening(_VERDICT[worst], earliest, tuple(findings))
