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

from ldnkit.analytics.outcomes_report import (
    SMALL,
    Charts,
    Report,
    outcome_charts,
    outcomes_csv,
    outcomes_report,
    report_pdf,
    skipped_line,
    withheld_count,
    withheld_json,
    withheld_stops,
)
from ldnkit.domain.outcomes import OutcomeRun, Skipped, clinic_outcomes
from ldnkit.domain.outcomes.disclosure import small, withheld_figures
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
    reader: str | None = None  # the clinician's email, for a clinician's own patients

    @property
    def suppressed(self) -> bool:
        """Whether small groups are withheld from this reader."""
        return self.audience == "analyst"

    @property
    def scope(self) -> str:
        if self.audience == "clinician":
            return f"the patients of {self.reader}: {self.patients:,} patient records"
        if "patients" in self.withheld:  # it would reveal the few records without a plan
            return "the whole clinic"
        return f"the whole clinic: {self.patients:,} patient records"

    def skipped_lines(self) -> list[str]:
        """What was not counted; for an analyst without examples (they name patients)."""
        return [skipped_line(s, s.example, suppressed=self.suppressed) for s in self.skipped]

    def skipped_json(self) -> list[dict[str, object]]:
        if not self.suppressed:
            return [s.as_json() for s in self.skipped]
        return [{**s.as_json(), "count": _shown(s.count), "example": None} for s in self.skipped]

    def report(self) -> Report:
        """The report as the reader sees it (terminal, page, PDF)."""
        return outcomes_report(
            self.run,
            self.scope,
            skipped=self.skipped_lines(),
            stopped=self.stopped,
            withheld=self.withheld,
            suppressed=self.suppressed,
        )

    def charts(self) -> Charts:
        return outcome_charts(self.run, self.withheld, suppressed=self.suppressed)

    def json(self) -> dict[str, object]:
        """The `--json` document: the contract's figures, withheld ones replaced, and the
        patients in scope, the stops by reason and what was not counted."""
        return {
            **withheld_json(self.run.figures, self.withheld),
            "patients": withheld_count("patients", self.patients, self.withheld),
            "stopped": withheld_stops(self.stopped, self.withheld),
            "skipped": self.skipped_json(),
        }

    def csv(self) -> str:
        return outcomes_csv(self.run, stopped=self.stopped, withheld=self.withheld)

    def pdf(self) -> bytes:
        return report_pdf(self.run, self.report(), self.withheld, suppressed=self.suppressed)


def _shown(count: int) -> int | str:
    return SMALL if small(count) else count


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
    withheld = (
        withheld_figures(run.figures, stopped, patients=len(records))
        if audience == "analyst"
        else frozenset()
    )
    reader = actor.email if actor is not None and audience == "clinician" else None
    return ClinicReport(run, audience, len(records), skipped, stopped, withheld, reader)
