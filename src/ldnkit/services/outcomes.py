"""Clinic outcomes from the clinic database: who may see what, and the figures once.

The web page, its PDF and CSV, and `ldnkit outcomes` (without --fhir) all come through here:

- a clinician sees the outcomes of their own patients, every figure as counted: they may open
  each of those records anyway, and hiding a group of 3 of their own patients would protect
  no one while hiding what they need to see;
- an analyst sees the whole clinic in aggregate only; groups under 5 patients, and figures
  that would reveal one, are withheld (`ldnkit.domain.outcomes.disclosure`);
- the command line, run by whoever holds the database, sees the whole clinic as counted (or
  as a named clinician or analyst would, with `--as`).

Reading the clinic is one audited read of every course in scope.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass
from typing import Literal

from ldnkit.domain.outcomes import OutcomeRun, Skipped, clinic_outcomes
from ldnkit.domain.outcomes.disclosure import withheld_figures
from ldnkit.services.courses import courses_of
from ldnkit.store.records import Actor, CourseRecord
from ldnkit.store.repository import Store

Audience = Literal["clinician", "analyst", "operator"]


@dataclass(frozen=True)
class ClinicReport:
    """The clinic's outcome figures for one reader, and what that reader may not see."""

    run: OutcomeRun
    audience: Audience
    patients: int  # patient records in scope
    skipped: list[Skipped]
    # Patients whose clinician stopped LDN on or before the day counted, by the first reason.
    stopped: dict[str, int]
    withheld: frozenset[str]

    @property
    def suppressed(self) -> bool:
        """Whether small groups are withheld from this reader."""
        return self.audience == "analyst"


def audience_of(actor: Actor | None) -> Audience:
    if actor is None:
        return "operator"
    return "analyst" if actor.role == "analyst" else "clinician"


def stopped_by_reason(records: list[CourseRecord], as_of: dt.date) -> dict[str, int]:
    """Patients by the reason of their first stop on or before `as_of`."""
    reasons: Counter[str] = Counter()
    for record in records:
        stops = sorted((s for s in record.stops if s.stopped_on <= as_of), key=lambda s: s.id)
        first = min(stops, key=lambda s: s.stopped_on, default=None)
        if first is not None:
            reasons[first.reason] += 1
    return dict(sorted(reasons.items()))


def clinic_report(
    store: Store, actor: Actor | None, as_of: dt.date, grace_days: int | None = None
) -> ClinicReport:
    """The outcomes of the patients `actor` may count (see the module), as of a day.

    A patient's account is refused (Forbidden). `grace_days` defaults to the knowledge base's.
    """
    records = store.course_records(actor, "clinic outcomes")
    courses, skipped = courses_of(records)
    run = clinic_outcomes(courses, as_of, grace_days)
    audience = audience_of(actor)
    stopped = stopped_by_reason(records, as_of)
    withheld = withheld_figures(run.figures, stopped) if audience == "analyst" else frozenset()
    return ClinicReport(run, audience, len(records), skipped, stopped, withheld)
