"""The safety screen: small rules, each with a stable id, over one patient profile.

Each rule reads facts recognised once per profile (drugs, conditions, allergies) and yields
findings whose words and sources come from `knowledge/data/rules.yaml`. The verdict is the most
severe finding. `earliest_start` is the first day no finding stands against: not before a
washout ends, not inside a procedure's hold window, and null when a contraindication stands or
a finding's end cannot be dated (a stopped opioid without its last dose).

What the screen cannot read is never a clean pass (DESIGN convention 13): unread words, unknown
codes and ambiguous abbreviations in a medication, an empty medication list, and unrecorded
liver, kidney or pregnancy status are findings of their own.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from operator import attrgetter
from types import MappingProxyType
from typing import Any, Literal, NamedTuple

from ldnkit.domain.drugs import DrugClass, Recognition, recognise
from ldnkit.domain.profile import CodedCondition, Medication, PatientProfile, Substance
from ldnkit.knowledge import Condition, knowledge_base
from ldnkit.knowledge.limits import limits
from ldnkit.knowledge.rules import Severity, rule_texts
from ldnkit.knowledge.valuesets import SOURCE_ID as VALUE_SETS_SOURCE
from ldnkit.knowledge.valuesets import value_sets

_ICD_LIKE = re.compile(r"^[A-Za-z]\d[0-9A-Za-z](?:\.?[0-9A-Za-z]{1,4})?$")
_SNOMED_LIKE = re.compile(r"^\d{6,18}$")

Verdict = Literal["eligible", "caution", "wait", "contraindicated"]

SEVERITY_RANK: dict[str, int] = {"info": 0, "caution": 1, "wait": 2, "contraindicated": 3}
_VERDICT: dict[str, Verdict] = {
    "info": "eligible",
    "caution": "caution",
    "wait": "wait",
    "contraindicated": "contraindicated",
}


def _shift(day: dt.date, days: int) -> dt.date:
    """`day` moved by `days`, held at the calendar's ends instead of overflowing.

    EHR data carries placeholder dates (0001-01-01, 9999-12-31); they must not crash the screen.
    """
    try:
        return day + dt.timedelta(days=days)
    except OverflowError:
        return dt.date.max if days > 0 else dt.date.min


def _days(n: int) -> str:
    return "1 day" if n == 1 else f"{n} days"


def _relative(day: dt.date, as_of: dt.date) -> str:
    """How far `day` is from the screening day, in words that read right for any date."""
    n = (day - as_of).days
    if n == 0:
        return "today"
    if n == 1:
        return "tomorrow"
    if n == -1:
        return "yesterday"
    return f"in {_days(n)}" if n > 0 else f"{_days(-n)} ago"


# Results are plain frozen dataclasses rather than pydantic models: the screen builds them for
# every patient of a population run, and they are never parsed from untrusted input.
@dataclass(frozen=True, slots=True)
class Finding:
    """One thing the clinician should know, with the rule that found it and its sources.

    `resolves_on`, `blocks` and `undated` are the finding's say on the start date (internal:
    left out of the contract's JSON): no start before `resolves_on`, none in the half-open
    window `blocks`, and no date at all while `undated`.
    """

    rule: str
    severity: Severity
    subject: str
    message: str
    sources: tuple[str, ...]
    resolves_on: dt.date | None = None
    blocks: tuple[dt.date, dt.date] | None = None
    undated: bool = False
    rank: int = 0  # SEVERITY_RANK of the severity, kept for sorting many findings fast

    def model_dump(self, mode: Literal["python", "json"] = "python") -> dict[str, Any]:
        """The contract's finding object (the start-date fields are internal and left out)."""
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
    blocks: tuple[dt.date, dt.date] | None = None,
    undated: bool = False,
    **values: object,
) -> Finding:
    return _cached_finding(
        rule_id, subject, extra_sources, resolves_on, blocks, undated, tuple(values.items())
    )


# Findings are immutable and repeat across patients (the same drug names, the same
# conditions); building and rendering each only once keeps population screening fast.
@lru_cache(maxsize=65536)
def _cached_finding(
    rule_id: str,
    subject: str,
    extra_sources: tuple[str, ...],
    resolves_on: dt.date | None,
    blocks: tuple[dt.date, dt.date] | None,
    undated: bool,
    values: tuple[tuple[str, object], ...],
) -> Finding:
    texts = rule_texts()
    text = texts[rule_id]
    assert text.severity is not None, f"{rule_id} is a fragment, not a rule"
    # Paragraphs shared by several rules ({perioperative}), with their own sources.
    fragments = [texts[fid] for fid in text.fragments]
    rendered = {f.id.replace("-", "_"): f.message.strip() for f in fragments}
    sources = text.sources + tuple(s for f in fragments for s in f.sources)
    return Finding(
        rule=rule_id,
        severity=text.severity,
        subject=subject,
        message=text.render(subject=subject, **rendered, **dict(values)),
        sources=tuple(dict.fromkeys(sources + extra_sources)),
        resolves_on=resolves_on,
        blocks=blocks,
        undated=undated,
        rank=SEVERITY_RANK[text.severity],
    )


# ---------------------------------------------------------------------------------------------
# What the rules read about each medication, derived once per name and code


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
    read_as: str  # how an opioid was read when not by its plain name, for the message
    # Which medication rules read this drug while it is taken: "opioid", "thyroid",
    # "naltrexone", "peripheral", "unrecognised", "ambiguous", "guessed", "conflict". Grouping
    # once per patient spares every rule a pass over all medications.
    groups: tuple[str, ...]

    @property
    def is_opioid(self) -> bool:
        return self.recognition.is_opioid is True

    @property
    def unknown(self) -> bool:
        """The screen cannot tell whether it holds an opioid."""
        return self.recognition.is_opioid is None


_OPIOID_CLASSES = frozenset({DrugClass.OPIOID_AGONIST, DrugClass.OPIOID_PARTIAL_AGONIST})
_THYROID_CLASSES = frozenset({DrugClass.THYROID_HORMONE, DrugClass.ANTITHYROID})
_INDIRECT_READINGS = {"abbreviation": "abbreviation", "truncation": "shortened name",
                      "misspelling": "misspelling"}  # fmt: skip


def washout_days(recognition: Recognition) -> int:
    """Opioid-free days needed before naltrexone after this opioid product."""
    washout = limits().washout
    if recognition.maintenance:
        return washout.maintenance.days
    return (washout.long_acting if recognition.long_acting else washout.short_acting).days


def _read_as(rec: Recognition) -> str:
    """' (read from "HYDROC", a shortened name)' when an opioid was read indirectly."""
    parts = [
        f'"{m.matched}", {_INDIRECT_READINGS[m.how]}'
        for m in rec.ingredients
        if m.classes & _OPIOID_CLASSES and m.how in _INDIRECT_READINGS
    ]
    return f" (read from {'; '.join(dict.fromkeys(parts))})" if parts else ""


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
    opioid = rec.is_opioid is True
    flags = {
        "opioid": opioid,
        "thyroid": thyroid,
        "naltrexone": naltrexone_kind is not None,
        "peripheral": bool(peripheral) and not opioid,
        # An ambiguity alone gets its own finding, which names the readings.
        "unrecognised": bool(rec.unread)
        or rec.unresolved_code is not None
        or not (rec.ingredients or rec.ambiguous),
        "ambiguous": bool(rec.ambiguous),
        "guessed": bool(rec.guesses) and not opioid,
        "conflict": rec.code_conflict is not None,
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
        read_as=_read_as(rec),
        groups=tuple(group for group, applies in flags.items() if applies),
    )


@dataclass(slots=True)  # not frozen: built per patient, and frozen init costs a microsecond
class _Facts:
    """What the rules read: the profile plus what was recognised in it, once."""

    profile: PatientProfile
    # Medications grouped for the rules: DrugFacts.groups for active ones, and "stopped_opioid"
    # and "stopped_unknown" for stopped ones.
    medications: Mapping[str, list[tuple[Medication, DrugFacts]]]
    allergies: tuple[tuple[str, Recognition], ...]
    # Recognised conditions by screen role, each with the label it arrived under.
    by_role: Mapping[str, Sequence[tuple[str, Condition]]]
    # Conditions given as text that the knowledge base does not know.
    unknown_conditions: tuple[str, ...]


# A rule appends what it finds; plain calls cost less than generators at population scale.
Rule = Callable[[_Facts, list[Finding]], None]

_NONE: tuple[tuple[str, Condition], ...] = ()
_NO_MEDS: tuple[tuple[Medication, DrugFacts], ...] = ()
_NO_GROUPS: Mapping[str, list[tuple[Medication, DrugFacts]]] = MappingProxyType({})
_NO_ROLES: Mapping[str, Sequence[tuple[str, Condition]]] = MappingProxyType({})


# ---------------------------------------------------------------------------------------------
# Medication rules


def opioid_active(facts: _Facts, out: list[Finding]) -> None:
    for med, drug in facts.medications.get("opioid", _NO_MEDS):
        out.append(
            _finding(
                "opioid-active",
                med.label,
                ingredients=drug.opioid_ingredients,
                kind=f"({drug.acting})",
                read_as=drug.read_as,
                washout=drug.washout,
                extra_sources=drug.recognition.sources,
            )
        )


def opioid_peripheral(facts: _Facts, out: list[Finding]) -> None:
    for med, drug in facts.medications.get("peripheral", _NO_MEDS):
        out.append(_finding("opioid-peripheral", med.label, ingredients=drug.peripheral_opioids))


def _since(last_dose: dt.date, as_of: dt.date) -> str:
    n = (as_of - last_dose).days
    return f"the day of this screen ({as_of})" if n == 0 else f"{_days(n)} before {as_of}"


def opioid_washout(facts: _Facts, out: list[Finding]) -> None:
    as_of = facts.profile.as_of
    for med, drug in facts.medications.get("stopped_opioid", _NO_MEDS):
        if med.last_dose is None:
            out.append(
                _finding(
                    "opioid-washout-undated",
                    med.label,
                    undated=True,
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
                    since=_since(med.last_dose, as_of),
                    earliest=earliest.isoformat(),
                )
            )


def _words(items: Sequence[str]) -> str:
    quoted = [f'"{w}"' for w in items]
    if len(quoted) == 1:
        return f"the word {quoted[0]}"
    return "the words " + ", ".join(quoted[:-1]) + " and " + quoted[-1]


def _unreadable(rec: Recognition) -> str:
    """What the screen could not read in a medication, in words for the message."""
    parts = []
    if rec.unread:
        parts.append(_words(rec.unread))
    if rec.unresolved_code:
        parts.append(
            f"RxNorm code {rec.unresolved_code} (not in the drug lexicon or the CDC opioid "
            "value sets)"
        )
    if not parts:
        parts.append("any drug name in it")
    return " or ".join(parts)


def unrecognised_medications(facts: _Facts, out: list[Finding]) -> None:
    for med, drug in facts.medications.get("unrecognised", _NO_MEDS):
        out.append(
            _finding(
                "medication-unrecognised",
                med.label,
                what=_unreadable(drug.recognition),
                stopped="",
            )
        )
    as_of = facts.profile.as_of
    lookback = limits().screen.unrecognised_stopped_lookback.days
    for med, drug in facts.medications.get("stopped_unknown", _NO_MEDS):
        when = "on a date not recorded" if med.last_dose is None else f"on {med.last_dose}"
        if med.last_dose is not None and (as_of - med.last_dose).days >= lookback:
            continue  # stopped long enough ago that even a maintenance opioid has washed out
        what = _unreadable(drug.recognition) if "unrecognised" in drug.groups else "it fully"
        out.append(
            _finding(
                "medication-unrecognised",
                med.label,
                what=what,
                stopped=(
                    f" It was stopped {when}: if it contained an opioid, the opioid-free "
                    "interval may not have passed."
                ),
            )
        )


def _either(names: Sequence[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]


def ambiguous_medications(facts: _Facts, out: list[Finding]) -> None:
    for med, drug in facts.medications.get("ambiguous", _NO_MEDS):
        for ambiguity in drug.recognition.ambiguous:
            readings = ambiguity.readings
            note = ""
            if ambiguity.opioid_possible:
                note = (
                    " (an opioid, which would rule out starting LDN)"
                    if len(readings) == 1
                    else ", and an opioid among them would rule out starting LDN"
                )
            out.append(
                _finding(
                    "medication-ambiguous",
                    med.label,
                    written=ambiguity.written,
                    readings=_either(readings),
                    opioid_note=note,
                )
            )


_GUESSED_HOW = {"misspelling": "a misspelling", "truncation": "a shortened name"}


def guessed_medications(facts: _Facts, out: list[Finding]) -> None:
    for med, drug in facts.medications.get("guessed", _NO_MEDS):
        for guess in drug.recognition.guesses:
            out.append(
                _finding(
                    "medication-spelling",
                    med.label,
                    written=guess.written,
                    reading=guess.reading,
                    how=_GUESSED_HOW[guess.how],
                )
            )


def code_conflicts(facts: _Facts, out: list[Finding]) -> None:
    for med, drug in facts.medications.get("conflict", _NO_MEDS):
        conflict = drug.recognition.code_conflict
        assert conflict is not None
        out.append(
            _finding(
                "medication-code-conflict",
                med.label,
                code=conflict.code,
                code_reading=conflict.code_reading,
                name_reading=conflict.name_reading,
            )
        )


def medications_none(facts: _Facts, out: list[Finding]) -> None:
    if not facts.profile.medications:
        out.append(_finding("medications-none-recorded", "Medication list"))


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
        elif kind == "slow_release":
            out.append(_finding("ldn-slow-release", med.label, extra_sources=sources))
        elif kind in _PRODUCT_NAMES:
            out.append(
                _finding(
                    "not-ldn-product",
                    med.label,
                    product=_PRODUCT_NAMES[kind],
                    extra_sources=sources,
                )
            )


def thyroid(facts: _Facts, out: list[Finding]) -> None:
    for med, drug in facts.medications.get("thyroid", _NO_MEDS):
        out.append(
            _finding("thyroid-medication", med.label, extra_sources=drug.recognition.sources)
        )
    for label, _ in facts.by_role.get("thyroid", _NONE):
        out.append(_finding("thyroid-medication", label))


# ---------------------------------------------------------------------------------------------
# Planned procedures


def procedure_hold(facts: _Facts, out: list[Finding]) -> None:
    """A procedure with opioids: hold LDN before it; inside the hold window, wait until after.

    LDN started now would have to stop again 3 days (2 at the least) before the procedure, and
    may only start once the opioids given for it have stopped and the opioid-free interval has
    passed: 7 days after the procedure at the earliest, if opioids stop on its day.
    """
    as_of = facts.profile.as_of
    numbers = limits()
    hold, least = numbers.hold.usual.days, numbers.hold.minimum.days
    for procedure in facts.profile.planned_procedures:
        if not procedure.opioids_expected:
            continue
        day = procedure.date
        after = _shift(day, numbers.washout.short_acting.days)
        if after <= as_of:
            continue  # over, and so is the opioid-free interval after it
        subject = procedure.name or "A planned procedure"
        window = (_shift(day, -hold), after)
        relative = _relative(day, as_of)
        if (day - as_of).days <= hold:
            out.append(
                _finding(
                    "procedure-hold-window",
                    subject,
                    resolves_on=after,
                    blocks=window,
                    procedure_date=day.isoformat(),
                    relative=relative,
                    earliest=after.isoformat(),
                )
            )
            continue
        out.append(
            _finding(
                "procedure-hold",
                subject,
                blocks=window,
                procedure_date=day.isoformat(),
                relative=relative,
                last_dose=_shift(day, -hold).isoformat(),
                latest_last_dose=_shift(day, -least).isoformat(),
            )
        )


# ---------------------------------------------------------------------------------------------
# Health status and conditions


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
    state = facts.profile.kidney
    if state == "impaired":
        out.append(_finding("kidney-impaired", "Kidney function: impaired"))
    elif state == "severe":
        out.append(_finding("kidney-severe", "Kidney function: severely impaired"))
    for label, _ in facts.by_role.get("kidney_impaired", _NONE):
        out.append(_finding("kidney-impaired", label))


def pregnancy(facts: _Facts, out: list[Finding]) -> None:
    if facts.profile.pregnant:
        out.append(_finding("pregnancy", "Pregnant"))
    for label, _ in facts.by_role.get("pregnancy", _NONE):
        out.append(_finding("pregnancy", label))


def not_recorded(facts: _Facts, out: list[Finding]) -> None:
    """Status the profile leaves unknown is shown as not recorded, never taken as normal."""
    profile = facts.profile
    roles = facts.by_role
    if profile.liver == "unknown" and not (roles.get("liver_acute") or roles.get("liver_chronic")):
        out.append(_finding("liver-not-recorded", "Liver function: not recorded"))
    if profile.kidney == "unknown" and not roles.get("kidney_impaired"):
        out.append(_finding("kidney-not-recorded", "Kidney function: not recorded"))
    if profile.pregnant is None and profile.sex != "male" and not roles.get("pregnancy"):
        out.append(_finding("pregnancy-not-recorded", "Pregnancy: not recorded"))


def breastfeeding(facts: _Facts, out: list[Finding]) -> None:
    if facts.profile.breastfeeding:
        out.append(_finding("breastfeeding", "Breastfeeding"))


def alcohol(facts: _Facts, out: list[Finding]) -> None:
    if facts.profile.alcohol == "heavy":
        out.append(_finding("alcohol", "Alcohol: heavy use"))
    for label, _ in facts.by_role.get("alcohol_heavy", _NONE):
        out.append(_finding("alcohol", label))


def hypersensitivity(facts: _Facts, out: list[Finding]) -> None:
    for label, rec in facts.allergies:
        if DrugClass.NALTREXONE in rec.classes:
            out.append(_finding("hypersensitivity", f"Allergy: {label}"))


def opioid_use_disorder(facts: _Facts, out: list[Finding]) -> None:
    for label, condition in facts.by_role.get("opioid_use_disorder", _NONE):
        out.append(_finding("opioid-use-disorder", label, extra_sources=condition.sources))


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


def unknown_conditions(facts: _Facts, out: list[Finding]) -> None:
    for text in facts.unknown_conditions:
        out.append(_finding("condition-unrecognised", text))


# The screen, in the order findings of equal severity are listed, each rule with what it needs
# present: a medication group or condition role (or "allergies", "procedures",
# "unknown_conditions"); None for the profile's own fields, read for every patient. A rule whose
# needs are absent is skipped: population screening runs the screen for every patient, and most
# take a few drugs and have a few conditions.
_NEEDS: tuple[tuple[Rule, frozenset[str] | None], ...] = (
    (opioid_active, frozenset({"opioid"})),
    (hypersensitivity, frozenset({"allergies"})),
    (liver, None),
    (opioid_washout, frozenset({"stopped_opioid"})),
    (procedure_hold, frozenset({"procedures"})),
    (pregnancy, None),
    (breastfeeding, None),
    (kidney, None),
    (thyroid, frozenset({"thyroid"})),
    (alcohol, None),
    (naltrexone_products, frozenset({"naltrexone"})),
    (opioid_use_disorder, frozenset({"opioid_use_disorder"})),
    (condition_positions, frozenset(_CONDITION_RULES)),
    (medications_none, None),
    (unrecognised_medications, frozenset({"unrecognised", "stopped_unknown"})),
    (ambiguous_medications, frozenset({"ambiguous"})),
    (guessed_medications, frozenset({"guessed"})),
    (code_conflicts, frozenset({"conflict"})),
    (opioid_peripheral, frozenset({"peripheral"})),
    (not_recorded, None),
    (unknown_conditions, frozenset({"unknown_conditions"})),
)
RULES: tuple[Rule, ...] = tuple(rule for rule, _ in _NEEDS)


@lru_cache(maxsize=4096)
def _rules_for(present: frozenset[str]) -> tuple[Rule, ...]:
    """The rules to run when these groups and roles are present, in screen order."""
    return tuple(rule for rule, needs in _NEEDS if needs is None or not needs.isdisjoint(present))


# ---------------------------------------------------------------------------------------------
# Recognising the profile once


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
    compact = text.strip()
    return bool(_ICD_LIKE.match(compact) or _SNOMED_LIKE.match(compact))


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
        elif drug.is_opioid:
            groups.setdefault("stopped_opioid", []).append((med, drug))
        elif drug.unknown:
            groups.setdefault("stopped_unknown", []).append((med, drug))
    return groups


def gather_facts(profile: PatientProfile) -> _Facts:
    """Recognise the profile's drugs, conditions and allergies once, for all rules."""
    by_role, unknown = _conditions(profile) if profile.conditions else (_NO_ROLES, ())
    return _Facts(
        profile=profile,
        medications=_medications_by_group(profile) if profile.medications else _NO_GROUPS,
        allergies=_allergy_facts(profile) if profile.allergies else (),
        by_role=by_role,
        unknown_conditions=unknown,
    )


# ---------------------------------------------------------------------------------------------
# The verdict and the first day


def earliest_start(as_of: dt.date, findings: Sequence[Finding]) -> dt.date | None:
    """The first day on or after `as_of` that no finding stands against; None if none can be
    dated (a contraindication, or a finding whose end is unknown)."""
    day = as_of
    windows: list[tuple[dt.date, dt.date]] = []
    for f in findings:
        if f.severity == "contraindicated" or f.undated:
            return None
        if f.resolves_on is not None and f.resolves_on > day:
            day = f.resolves_on
        if f.blocks is not None:
            windows.append(f.blocks)
    if not windows:
        return day
    windows.sort()
    moved = True
    while moved:  # a window may push the day into a later window
        moved = False
        for start, end in windows:
            if start <= day < end:
                day, moved = end, True
    return day


_BY_RANK = attrgetter("rank")


def screen(profile: PatientProfile) -> Screening:
    """Screen one patient for starting LDN on `profile.as_of`."""
    facts = gather_facts(profile)
    present = {*facts.medications, *facts.by_role}
    if facts.allergies:
        present.add("allergies")
    if profile.planned_procedures:
        present.add("procedures")
    if facts.unknown_conditions:
        present.add("unknown_conditions")
    findings: list[Finding] = []
    for rule in _rules_for(frozenset(present)):
        rule(facts, findings)
    if len(findings) > 1:
        # Most severe first; stable (also reversed): rule order within a severity.
        findings.sort(key=_BY_RANK, reverse=True)
    worst = findings[0].severity if findings else "info"
    return Screening(_VERDICT[worst], earliest_start(profile.as_of, findings), tuple(findings))


__all__ = [
    "RULES",
    "SEVERITY_RANK",
    "DrugFacts",
    "Finding",
    "Screening",
    "drug_facts",
    "earliest_start",
    "gather_facts",
    "screen",
    "washout_days",
]
