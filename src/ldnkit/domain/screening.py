"""The safety screen: small rules, each with a stable id, over one patient profile.

Each rule reads facts recognised once per profile (drugs, conditions, allergies) and yields
findings whose words and sources come from `knowledge/data/rules.yaml`. The verdict is the most
severe finding; `earliest_start` is the first day the screen would pass.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

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


class Finding(BaseModel):
    """One thing the clinician should know, with the rule that found it and its sources."""

    model_config = ConfigDict(frozen=True)

    rule: str
    severity: Severity
    subject: str
    message: str
    sources: tuple[str, ...]
    # The day this finding stops applying (a washout's end); drives earliest_start only.
    resolves_on: dt.date | None = Field(default=None, exclude=True)


class Screening(BaseModel):
    """The screen's answer: verdict, first possible start day, and every finding."""

    model_config = ConfigDict(frozen=True)

    verdict: Verdict
    earliest_start: dt.date | None
    findings: tuple[Finding, ...]


@dataclass(frozen=True, slots=True)
class _Facts:
    """What the rules read: the profile plus what was recognised in it, once."""

    profile: PatientProfile
    medications: tuple[tuple[Medication, Recognition], ...]
    conditions: tuple[tuple[str, Condition], ...]  # (label as given, recognised condition)
    allergies: tuple[tuple[str, Recognition], ...]


Rule = Callable[[_Facts], Iterator[Finding]]


def _finding(
    rule_id: str,
    subject: str,
    *,
    extra_sources: tuple[str, ...] = (),
    resolves_on: dt.date | None = None,
    **values: object,
) -> Finding:
    text = rule_texts()[rule_id]
    sources = tuple(dict.fromkeys(text.sources + extra_sources))
    # model_construct: the values are ours and already valid; the screen runs per patient in
    # population screening, where validating our own output again would double its cost.
    return Finding.model_construct(
        rule=rule_id,
        severity=text.severity,
        subject=subject,
        message=text.render(subject=subject, **values),
        sources=sources,
        resolves_on=resolves_on,
    )


def _ingredients(recognition: Recognition) -> str:
    return " + ".join(m.name for m in recognition.ingredients if _is_opioid_ingredient(m.classes))


def _is_opioid_ingredient(classes: frozenset[DrugClass]) -> bool:
    return bool(classes & {DrugClass.OPIOID_AGONIST, DrugClass.OPIOID_PARTIAL_AGONIST})


def washout_days(recognition: Recognition) -> int:
    """Opioid-free days needed before naltrexone after this opioid product."""
    if any(m.id in _MAINTENANCE_OPIOIDS for m in recognition.ingredients):
        return WASHOUT_MAINTENANCE
    return WASHOUT_LONG_ACTING if recognition.long_acting else WASHOUT_SHORT_ACTING


def _acting(recognition: Recognition) -> str:
    return "long-acting" if recognition.long_acting else "short-acting"


def opioid_active(facts: _Facts) -> Iterator[Finding]:
    for med, rec in facts.medications:
        if med.status == "active" and rec.is_opioid:
            yield _finding(
                "opioid-active",
                med.label,
                ingredients=_ingredients(rec),
                kind=f"({_acting(rec)})",
                washout=washout_days(rec),
                extra_sources=rec.sources,
            )


def opioid_washout(facts: _Facts) -> Iterator[Finding]:
    as_of = facts.profile.as_of
    for med, rec in facts.medications:
        if med.status != "stopped" or not rec.is_opioid:
            continue
        washout = washout_days(rec)
        ingredients, kind = _ingredients(rec), _acting(rec)
        if med.last_dose is None:
            yield _finding(
                "opioid-washout-undated",
                med.label,
                ingredients=ingredients,
                kind=kind,
                washout=washout,
            )
            continue
        earliest = med.last_dose + dt.timedelta(days=washout)
        if earliest > as_of:
            yield _finding(
                "opioid-washout",
                med.label,
                resolves_on=earliest,
                ingredients=ingredients,
                kind=kind,
                washout=washout,
                last_dose=med.last_dose.isoformat(),
                days_since=(as_of - med.last_dose).days,
                as_of=as_of.isoformat(),
                earliest=earliest.isoformat(),
            )


def procedure_hold(facts: _Facts) -> Iterator[Finding]:
    as_of = facts.profile.as_of
    for procedure in facts.profile.planned_procedures:
        if not procedure.opioids_expected or procedure.date < as_of:
            continue
        last_dose = procedure.date - dt.timedelta(days=HOLD_DAYS)
        latest = procedure.date - dt.timedelta(days=HOLD_DAYS_MINIMUM)
        yield _finding(
            "procedure-hold",
            procedure.name or "A planned procedure",
            procedure_date=procedure.date.isoformat(),
            last_dose=last_dose.isoformat() if last_dose >= as_of else "none before it",
            latest_last_dose=latest.isoformat(),
        )


def _roles(facts: _Facts, role: str) -> Iterator[tuple[str, Condition]]:
    for label, condition in facts.conditions:
        if condition.screen_role == role:
            yield label, condition


def liver(facts: _Facts) -> Iterator[Finding]:
    state = facts.profile.liver
    if state in ("acute_hepatitis", "decompensated_cirrhosis"):
        yield _finding("liver-acute", "Liver: " + state.replace("_", " "))
    elif state == "chronic_disease":
        yield _finding("liver-chronic", "Liver: chronic disease")
    for label, _ in _roles(facts, "liver_acute"):
        yield _finding("liver-acute", label)
    for label, _ in _roles(facts, "liver_chronic"):
        yield _finding("liver-chronic", label)


def kidney(facts: _Facts) -> Iterator[Finding]:
    if facts.profile.kidney == "impaired":
        yield _finding("kidney-impaired", "Kidney function: impaired")
    for label, _ in _roles(facts, "kidney_impaired"):
        yield _finding("kidney-impaired", label)


def pregnancy(facts: _Facts) -> Iterator[Finding]:
    if facts.profile.pregnant:
        yield _finding("pregnancy", "Pregnant")
    for label, _ in _roles(facts, "pregnancy"):
        yield _finding("pregnancy", label)


def breastfeeding(facts: _Facts) -> Iterator[Finding]:
    if facts.profile.breastfeeding:
        yield _finding("breastfeeding", "Breastfeeding")


def thyroid(facts: _Facts) -> Iterator[Finding]:
    for med, rec in facts.medications:
        if med.status == "active" and rec.classes & {
            DrugClass.THYROID_HORMONE,
            DrugClass.ANTITHYROID,
        }:
            yield _finding("thyroid-medication", med.label, extra_sources=rec.sources)
    for label, _ in _roles(facts, "thyroid"):
        yield _finding("thyroid-medication", label)


def alcohol(facts: _Facts) -> Iterator[Finding]:
    if facts.profile.alcohol == "heavy":
        yield _finding("alcohol", "Alcohol: heavy use")
    for label, _ in _roles(facts, "alcohol_heavy"):
        yield _finding("alcohol", label)


_PRODUCT_NAMES = {
    "standard": "standard-dose naltrexone (50 mg)",
    "extended_release_injection": "extended-release naltrexone injection",
    "naltrexone_bupropion": "naltrexone-bupropion",
}


def naltrexone_products(facts: _Facts) -> Iterator[Finding]:
    for med, rec in facts.medications:
        if med.status != "active" or DrugClass.NALTREXONE not in rec.classes:
            continue
        kind = rec.naltrexone_kind
        if kind == "ldn":
            yield _finding("already-on-ldn", med.label, extra_sources=rec.sources)
        elif kind in _PRODUCT_NAMES:
            yield _finding(
                "not-ldn-product",
                med.label,
                product=_PRODUCT_NAMES[kind],
                extra_sources=rec.sources,
            )


def hypersensitivity(facts: _Facts) -> Iterator[Finding]:
    for label, rec in facts.allergies:
        if DrugClass.NALTREXONE in rec.classes:
            yield _finding("hypersensitivity", f"Allergy: {label}")


def opioid_use_disorder(facts: _Facts) -> Iterator[Finding]:
    for label, _ in _roles(facts, "opioid_use_disorder"):
        yield _finding("opioid-use-disorder", label)


_CONDITION_RULES = {
    "not_recommended": "condition-not-recommended",
    "limited_evidence": "condition-limited-evidence",
}


def condition_positions(facts: _Facts) -> Iterator[Finding]:
    for label, condition in facts.conditions:
        rule_id = _CONDITION_RULES.get(condition.screen_role)
        if rule_id is not None:
            yield _finding(
                rule_id,
                label,
                condition=condition.name,
                summary=condition.summary.strip(),
                extra_sources=tuple(condition.sources),
            )


def unrecognised_medications(facts: _Facts) -> Iterator[Finding]:
    for med, rec in facts.medications:
        if med.status == "active" and not rec.ingredients:
            yield _finding("medication-unrecognised", med.label)


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
    unrecognised_medications,
)


def _condition_facts(profile: PatientProfile) -> tuple[tuple[str, Condition], ...]:
    kb = knowledge_base()
    found: dict[str, tuple[str, Condition]] = {}
    for entry in profile.conditions:
        if isinstance(entry, CodedCondition):
            label = f"{entry.system.upper()} {entry.code}"
            condition = kb.find_condition(entry.code, entry.system)
        else:
            label = entry
            condition = kb.find_condition(entry)
        if condition is not None:
            # One finding per condition, even when it arrives as text and as a code.
            found.setdefault(condition.id, (label, condition))
    return tuple(found.values())


def _allergy_facts(profile: PatientProfile) -> tuple[tuple[str, Recognition], ...]:
    facts = []
    for allergy in profile.allergies:
        if isinstance(allergy, Substance):
            label = allergy.name or f"RxNorm {allergy.rxnorm}"
            facts.append((label, recognise(allergy.name, allergy.rxnorm)))
        else:
            facts.append((allergy, recognise(allergy)))
    return tuple(facts)


def gather_facts(profile: PatientProfile) -> _Facts:
    """Recognise the profile's drugs, conditions and allergies once, for all rules."""
    return _Facts(
        profile=profile,
        medications=tuple((m, recognise(m.name, m.rxnorm)) for m in profile.medications),
        conditions=_condition_facts(profile),
        allergies=_allergy_facts(profile),
    )


def screen(profile: PatientProfile) -> Screening:
    """Screen one patient for starting LDN on `profile.as_of`."""
    facts = gather_facts(profile)
    findings = [finding for rule in RULES for finding in rule(facts)]
    findings.sort(key=lambda f: -SEVERITY_RANK[f.severity])  # stable: rule order within a severity
    worst = findings[0].severity if findings else "info"
    if worst == "contraindicated":
        earliest: dt.date | None = None
    else:
        earliest = max(
            [profile.as_of, *(f.resolves_on for f in findings if f.resolves_on is not None)]
        )
    return Screening.model_construct(
        verdict=_VERDICT[worst], earliest_start=earliest, findings=tuple(findings)
    )
