"""The safety screen: the list of rules, the verdict, and the first day LDN may start.

The verdict is the most severe finding. `earliest_start` is the first day no finding stands
against: not before a washout ends, not inside a procedure's hold window, and null when a
contraindication stands or a finding's end cannot be dated (a stopped opioid without its last
dose).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from functools import lru_cache
from operator import attrgetter

from ldnkit.domain.profile import PatientProfile
from ldnkit.domain.rules import conditions, medications, opioids, organs, procedures, products
from ldnkit.domain.rules import reproduction as repro
from ldnkit.domain.rules.facts import gather_facts
from ldnkit.domain.rules.model import VERDICT_OF, Check, Facts, Finding, Rule, Screening

# The screen, in the order findings of equal severity are listed. A rule whose needs are absent
# is skipped: population screening runs the screen for every patient, and most take a few drugs
# and have a few conditions.
SCREEN: tuple[Rule, ...] = (
    opioids.opioid_active,
    products.hypersensitivity,
    organs.liver_acute,
    organs.liver_chronic,
    opioids.opioid_washout,
    opioids.opioid_washout_undated,
    procedures.procedure_hold,
    procedures.procedure_hold_window,
    repro.pregnancy,
    repro.breastfeeding,
    organs.kidney_severe,
    organs.kidney_impaired,
    conditions.thyroid,
    conditions.alcohol,
    products.already_on_ldn,
    products.ldn_slow_release,
    products.not_ldn_product,
    conditions.opioid_use_disorder,
    conditions.condition_not_recommended,
    conditions.condition_limited_evidence,
    medications.medications_none,
    medications.unrecognised_medications,
    medications.ambiguous_medications,
    medications.guessed_medications,
    medications.code_conflicts,
    opioids.opioid_peripheral,
    organs.liver_not_recorded,
    organs.kidney_not_recorded,
    repro.pregnancy_not_recorded,
    conditions.unknown_conditions,
)


@lru_cache(maxsize=4096)
def _checks_for(present: frozenset[str]) -> tuple[Check, ...]:
    """The checks of the rules to run when these groups and roles are present, in screen
    order (the bare functions: one attribute look-up less per rule and patient)."""
    return tuple(r.check for r in SCREEN if r.needs is None or not r.needs.isdisjoint(present))


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


def present(facts: Facts) -> frozenset[str]:
    """What the profile holds that some rule reads (see `Rule.needs`)."""
    profile = facts.profile
    found = {
        *facts.medications,
        *facts.by_role,
        "liver:" + profile.liver,
        "kidney:" + profile.kidney,
        "alcohol:" + profile.alcohol,
    }
    if not profile.medications:
        found.add("no_medications")
    if profile.pregnant:
        found.add("pregnant")
    elif profile.pregnant is None and profile.sex != "male":
        found.add("pregnancy:unknown")
    if profile.breastfeeding:
        found.add("breastfeeding")
    if facts.allergies:
        found.add("allergies")
    if profile.planned_procedures:
        found.add("procedures")
    if facts.unknown_conditions:
        found.add("unknown_conditions")
    return frozenset(found)


def screen(profile: PatientProfile) -> Screening:
    """Screen one patient for starting LDN on `profile.as_of`."""
    facts = gather_facts(profile)
    found: list[Finding] = []
    for check in _checks_for(present(facts)):
        check(facts, found)
    if len(found) > 1:
        # Most severe first; stable (also reversed): rule order within a severity.
        found.sort(key=_BY_RANK, reverse=True)
    worst = found[0].severity if found else "info"
    return Screening(VERDICT_OF[worst], earliest_start(profile.as_of, found), tuple(found))
