"""The definitions of clinic outcomes, one small function each (the `ldnkit outcomes` contract).

- LDN prescription: an order, not entered in error, written on or before `as_of`, for a
  naltrexone product whose dose is within the LDN band (the stated dose in mg, else the
  strength in its name). 50 mg naltrexone, naltrexone-bupropion, the extended-release
  injection and naltrexone inside an opioid product are not LDN.
- Start: the first completed fill on or before `as_of` of an LDN prescription, or of a
  naltrexone product within the band.
- Persistence: the first episode of fills; a fill continues it when it comes no later than the
  coverage end plus the grace days.
- Response: the last pain score in the baseline window and in the follow-up window; a responder
  fell by at least the responder share of a baseline above 0.
- Predictor groups: the diagnoses current and recorded on or before the start day, as
  ICD-10-CM categories and as knowledge-base conditions.

Every window is in whole days and includes both ends.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from decimal import Decimal
from functools import lru_cache
from typing import Literal, NamedTuple

from ldnkit.domain.drugs import DrugClass, recognise
from ldnkit.domain.outcomes.course import (
    CodeSystem,
    Diagnosis,
    Dispense,
    Medication,
    PainScore,
    Prescription,
    TherapyCourse,
)
from ldnkit.knowledge import knowledge_base
from ldnkit.knowledge.base import normalise_icd
from ldnkit.knowledge.limits import limits
from ldnkit.knowledge.outcomes import outcome_book

# Pain intensity on the 0-10 numeric rating scale, as LOINC codes it in FHIR Observations.
PAIN_NRS_LOINC = frozenset({"72514-3", "38208-5"})
PAIN_MIN, PAIN_MAX = 0.0, 10.0
COUNTED_PAIN_STATUS = frozenset({"final", "amended", "corrected"})
COUNTED_DISPENSE_STATUS = "completed"
UNCOUNTED_REQUEST_STATUS = "entered-in-error"
# A diagnosis counts while current; absent means current (the sender did not say otherwise).
CURRENT_DIAGNOSIS = frozenset({"active", "recurrence", "relapse"})
NOT_TRUE_DIAGNOSIS = frozenset({"refuted", "entered-in-error"})

LdnReading = Literal["ldn", "other", "dose-unknown"]
# Naltrexone products that are never LDN, whatever their dose.
_NEVER_LDN = frozenset({"naltrexone_bupropion", "extended_release_injection"})


def ldn_max_mg() -> float:
    """The top of the LDN dose band: the plans' usual maximum (knowledge/data/limits.yaml)."""
    return limits().ldn_dose.usual_max.mg


@lru_cache(maxsize=65536)
def read_ldn(medication: Medication) -> LdnReading:
    """Whether a medication is LDN: "ldn", "other", or naltrexone whose dose cannot be read.

    The product is recognised by the drug recogniser; the dose is the stated dose in mg, else
    the strength in the name (a liquid's mg/mL is a concentration, not a dose).
    """
    rxnorm = medication.rxnorm if medication.rxnorm and medication.rxnorm.isdigit() else None
    name = (medication.name or "").strip() or None
    if name is None and rxnorm is None:
        return "other"
    found = recognise(name, rxnorm)
    if DrugClass.NALTREXONE not in found.classes:
        return "other"
    if found.is_opioid or found.naltrexone_kind in _NEVER_LDN:
        return "other"
    dose = medication.dose_mg
    if dose is None and found.strength_unit == "mg":
        dose = found.strength_mg
    if dose is None or dose <= 0:
        return "dose-unknown"
    return "ldn" if dose <= ldn_max_mg() else "other"


def is_ldn_prescription(prescription: Prescription, as_of: dt.date) -> bool:
    """An LDN order that counts on `as_of` (not entered in error, written by then)."""
    return (
        prescription.status != UNCOUNTED_REQUEST_STATUS
        and prescription.authored <= as_of
        and read_ldn(prescription.medication) == "ldn"
    )


def ldn_prescriptions(course: TherapyCourse, as_of: dt.date) -> list[Prescription]:
    """The course's LDN prescriptions on `as_of`."""
    return [p for p in course.prescriptions if is_ldn_prescription(p, as_of)]


def index_date(prescriptions: Sequence[Prescription]) -> dt.date | None:
    """The day of the first LDN prescription (None: never prescribed)."""
    return min((p.authored for p in prescriptions), default=None)


def ldn_fills(
    course: TherapyCourse, prescriptions: Sequence[Prescription], as_of: dt.date
) -> list[Dispense]:
    """Completed fills of LDN on or before `as_of`, in date order.

    A fill counts when it fills one of the LDN prescriptions or is itself naltrexone within
    the LDN band.
    """
    ordered = {p.id for p in prescriptions if p.id is not None}
    fills = [
        d
        for d in course.dispenses
        if d.status == COUNTED_DISPENSE_STATUS
        and d.handed_over <= as_of
        and (
            (d.prescription_id is not None and d.prescription_id in ordered)
            or read_ldn(d.medication) == "ldn"
        )
    ]
    fills.sort(key=lambda d: d.handed_over)
    return fills


class Episode(NamedTuple):
    """The first episode of therapy: from the start day to its end or to `as_of`."""

    start: dt.date
    coverage_end: dt.date
    discontinued: bool
    duration_days: int


def first_episode(
    fills: Sequence[Dispense], as_of: dt.date, grace_days: int, default_days_supply: int
) -> Episode | None:
    """The first episode of `fills` (in date order); None when there is no fill.

    Each fill covers its days' supply (the default when absent). A fill continues the episode
    when it comes no later than coverage end + grace days; coverage end is then
    max(coverage end, fill day) + its supply. Discontinued when coverage end + grace <= as_of,
    lasting coverage end - start; otherwise still on therapy, censored at as_of.
    """
    return first_episodes(fills, as_of, (grace_days,), default_days_supply).get(grace_days)


def first_episodes(
    fills: Sequence[Dispense], as_of: dt.date, graces: Iterable[int], default_days_supply: int
) -> dict[int, Episode]:
    """`first_episode` at each grace period (none when there is no fill)."""
    if not fills:
        return {}
    # Whole days as ordinals, read once for every grace period: this runs for every started
    # patient of a clinic.
    supplied = [
        (f.handed_over.toordinal(), default_days_supply if f.days_supply is None else f.days_supply)
        for f in fills
    ]
    start = fills[0].handed_over
    first = supplied[0][0]
    today = as_of.toordinal()
    episodes = {}
    for grace in graces:
        end = first
        for day, supply in supplied:
            if day > end + grace:
                break
            end = (day if day > end else end) + supply
        coverage_end = dt.date.fromordinal(end)
        if end + grace <= today:
            episodes[grace] = Episode(start, coverage_end, True, end - first)
        else:
            episodes[grace] = Episode(start, coverage_end, False, today - first)
    return episodes


def counted_pain(scores: Iterable[PainScore]) -> list[PainScore]:
    """Final, amended or corrected scores on the 0-10 scale, oldest first."""
    kept = [
        s for s in scores if s.status in COUNTED_PAIN_STATUS and PAIN_MIN <= s.value <= PAIN_MAX
    ]
    kept.sort(key=lambda s: (s.day, s.moment))
    return kept


def _last_between(scores: Sequence[PainScore], first: dt.date, last: dt.date) -> PainScore | None:
    # `scores` are oldest first: the last one inside the window wins.
    found = None
    for score in scores:
        if score.day > last:
            break
        if score.day >= first:
            found = score
    return found


def baseline_score(scores: Sequence[PainScore], start: dt.date) -> PainScore | None:
    """The last counted score from `baseline_days_before` days before the start to the start."""
    windows = outcome_book().response_windows
    return _last_between(scores, start - dt.timedelta(days=windows.baseline_days_before), start)


def follow_up_score(
    scores: Sequence[PainScore], start: dt.date, as_of: dt.date
) -> PainScore | None:
    """The last counted score from day `follow_up_from_day` to day `follow_up_to_day` (or as_of)."""
    windows = outcome_book().response_windows
    first = start + dt.timedelta(days=windows.follow_up_from_day)
    last = min(start + dt.timedelta(days=windows.follow_up_to_day), as_of)
    return _last_between(scores, first, last)


def is_responder(baseline: float, follow_up: float) -> bool:
    """A fall of at least the responder share of a baseline above 0."""
    if baseline <= 0:
        return False
    # Decimal arithmetic on the scores as written: in floats (7 - 4.9) / 7 falls just short of 0.3.
    base, after = Decimal(repr(baseline)), Decimal(repr(follow_up))
    share = Decimal(repr(outcome_book().responder.min_reduction))
    return (base - after) >= share * base


def improved(baseline: float, follow_up: float) -> bool:
    """Any fall in the pain score."""
    return follow_up < baseline


def _counts_as_of(diagnosis: Diagnosis, start: dt.date) -> bool:
    if diagnosis.clinical_status is not None and diagnosis.clinical_status not in CURRENT_DIAGNOSIS:
        return False
    if diagnosis.verification_status in NOT_TRUE_DIAGNOSIS:
        return False
    return diagnosis.recorded is not None and diagnosis.recorded <= start


def predictor_groups(diagnoses: Iterable[Diagnosis], start: dt.date) -> frozenset[str]:
    """`icd10cm:<category>` and `condition:<knowledge-base id>` of the diagnoses at the start."""
    groups: set[str] = set()
    for diagnosis in diagnoses:
        if _counts_as_of(diagnosis, start):
            for system, code in diagnosis.codes:
                groups.update(_code_groups(system, code))
    return frozenset(groups)


@lru_cache(maxsize=65536)
def _code_groups(system: CodeSystem, code: str) -> tuple[str, ...]:
    # The groups of one code, worked out once: a clinic's diagnoses repeat a few hundred codes.
    groups = []
    if system == "icd10cm":
        category = normalise_icd(code)[:3]
        if len(category) == 3:
            groups.append(f"icd10cm:{category}")
    condition = knowledge_base().find_condition(code, system)
    if condition is not None:
        groups.append(f"condition:{condition.id}")
    return tuple(groups)
