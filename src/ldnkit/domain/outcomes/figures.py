"""Therapy courses in, the clinic's figures out, beside the published case series.

`clinic_outcomes` reads each course once (the courses may be a generator over a large export),
keeps a few numbers per patient, and turns them into the `ldnkit outcomes` figures.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from pydantic import BaseModel, ConfigDict

from ldnkit.domain.outcomes.course import TherapyCourse
from ldnkit.domain.outcomes.definitions import (
    Episode,
    baseline_score,
    counted_pain,
    first_episodes,
    follow_up_score,
    improved,
    index_date,
    is_responder,
    ldn_fills,
    ldn_prescriptions,
    predictor_groups,
)
from ldnkit.domain.outcomes.statistics import (
    SurvivalCurve,
    fisher_test,
    kaplan_meier,
    mean_with_t_interval,
    wilson_interval,
)
from ldnkit.knowledge import knowledge_base
from ldnkit.knowledge.outcomes import PublishedSeries, outcome_book

# Groups with fewer measured patients are not tested: a rate of 1 in 3 says nothing.
MIN_GROUP_MEASURED = 5
FOLLOW_UP_DAYS = (90, 180)


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PersistenceFigures(_Out):
    """Kaplan-Meier persistence of the first episode among started patients."""

    median_days: int | None
    at_90_days: float | None
    at_180_days: float | None
    discontinued: int
    censored: int


class PredictorFigures(_Out):
    """Responders in one diagnosis group against everyone else with a response measure."""

    group: str
    n: int
    responders: int
    rate: float
    rest_rate: float | None
    odds_ratio: float | None
    p_fisher: float


class CitedSource(_Out):
    """A source as readers need it: the citation and where to read it."""

    id: str
    citation: str
    kind: str
    year: int
    doi: str | None
    pmid: str | None
    url: str | None


class PublishedFigureOut(_Out):
    """A published figure with the clinic's own figure it compares with."""

    id: str
    text: str
    value: float
    unit: str
    clinic: str | None
    clinic_value: float | None
    note: str | None
    sources: tuple[str, ...]


class PublishedPredictorOut(_Out):
    """A published predictor of response."""

    text: str
    groups: tuple[str, ...]
    p_value: float
    sources: tuple[str, ...]


class PublishedSeriesOut(_Out):
    """A published case series, cited, for comparison."""

    id: str
    title: str
    setting: str
    figures: tuple[PublishedFigureOut, ...]
    predictors: tuple[PublishedPredictorOut, ...]
    sources: tuple[str, ...]  # the series itself
    references: tuple[CitedSource, ...]  # every source cited above, in full


class ClinicOutcomes(_Out):
    """The `ldnkit outcomes --json` document: exactly the contract's keys."""

    as_of: dt.date
    grace_days: int
    prescribed: int
    never_started: int
    started: int
    with_response_measure: int
    responders_30: int
    responder_rate_30: float | None
    responder_rate_30_ci: tuple[float, float] | None
    any_improvement: int
    any_improvement_rate: float | None
    nrs_change_mean: float | None
    nrs_change_ci: tuple[float, float] | None
    persistence: PersistenceFigures
    predictors: tuple[PredictorFigures, ...]
    published: tuple[PublishedSeriesOut, ...]


@dataclass(frozen=True)
class Skipped:
    """Records left out of the figures, of one kind for one reason (with an example)."""

    resource: str
    reason: str
    count: int
    example: str | None

    def as_json(self) -> dict[str, Any]:
        return {
            "resource": self.resource,
            "reason": self.reason,
            "count": self.count,
            "example": self.example,
        }


@dataclass(frozen=True)
class OutcomeRun:
    """The figures, plus what the terminal and the later charts show beside them."""

    figures: ClinicOutcomes
    sensitivity: tuple[tuple[int, PersistenceFigures], ...]  # (grace days, persistence)
    curve: SurvivalCurve | None  # persistence with the chosen grace period


class PatientOutcome(NamedTuple):
    """What one prescribed patient contributes to the figures (one per patient: a tuple)."""

    patient_id: str
    index_date: dt.date
    start: dt.date | None
    episodes: dict[int, Episode]  # by grace days; empty when never started
    baseline: float | None
    follow_up: float | None
    groups: frozenset[str]

    @property
    def measured(self) -> bool:
        return self.baseline is not None and self.follow_up is not None


def assess(course: TherapyCourse, as_of: dt.date, graces: Sequence[int]) -> PatientOutcome | None:
    """One course on `as_of`; None when it holds no LDN prescription."""
    prescriptions = ldn_prescriptions(course, as_of)
    first = index_date(prescriptions)
    if first is None:
        return None
    fills = ldn_fills(course, prescriptions, as_of)
    if not fills:
        return PatientOutcome(course.patient_id, first, None, {}, None, None, frozenset())
    supply = outcome_book().persistence.default_days_supply
    episodes = first_episodes(fills, as_of, graces, supply)
    start = fills[0].handed_over
    scores = counted_pain(course.pain)
    baseline = baseline_score(scores, start)
    follow_up = follow_up_score(scores, start, as_of)
    measured = baseline is not None and follow_up is not None
    return PatientOutcome(
        patient_id=course.patient_id,
        index_date=first,
        start=start,
        episodes=episodes,
        baseline=baseline.value if baseline is not None else None,
        follow_up=follow_up.value if follow_up is not None else None,
        groups=predictor_groups(course.diagnoses, start) if measured else frozenset(),
    )


@dataclass
class OutcomeTally:
    """Running totals of assessed courses: a few numbers per patient, mergeable across parts.

    A clinic-wide run may tally parts of the clinic separately (in worker processes) and
    merge them; the figures do not depend on how the courses were split.
    """

    as_of: dt.date
    graces: tuple[int, ...]
    prescribed: int = 0
    started: int = 0
    durations: dict[int, list[int]] = field(default_factory=dict)
    ended: dict[int, list[bool]] = field(default_factory=dict)
    responders: int = 0
    improved: int = 0
    changes: list[float] = field(default_factory=list)
    group_n: Counter[str] = field(default_factory=Counter)
    group_responders: Counter[str] = field(default_factory=Counter)

    def add_courses(self, courses: Iterable[TherapyCourse]) -> OutcomeTally:
        """Assess and count each course; returns the tally itself."""
        for course in courses:
            outcome = assess(course, self.as_of, self.graces)
            if outcome is not None:
                self.add(outcome)
        return self

    def merge(self, other: OutcomeTally) -> None:
        """Add what another part of the same clinic counted."""
        if (other.as_of, other.graces) != (self.as_of, self.graces):
            raise ValueError("tallies of different days or grace periods cannot be merged")
        self.prescribed += other.prescribed
        self.started += other.started
        for grace in self.graces:
            self.durations.setdefault(grace, []).extend(other.durations.get(grace, []))
            self.ended.setdefault(grace, []).extend(other.ended.get(grace, []))
        self.responders += other.responders
        self.improved += other.improved
        self.changes.extend(other.changes)
        self.group_n.update(other.group_n)
        self.group_responders.update(other.group_responders)

    def add(self, outcome: PatientOutcome) -> None:
        """Count one assessed patient."""
        self.prescribed += 1
        if outcome.start is None:
            return
        self.started += 1
        for grace, episode in outcome.episodes.items():
            self.durations.setdefault(grace, []).append(episode.duration_days)
            self.ended.setdefault(grace, []).append(episode.discontinued)
        if outcome.baseline is None or outcome.follow_up is None:
            return
        responder = is_responder(outcome.baseline, outcome.follow_up)
        self.responders += responder
        self.improved += improved(outcome.baseline, outcome.follow_up)
        self.changes.append(outcome.follow_up - outcome.baseline)
        self.group_n.update(outcome.groups)
        if responder:
            self.group_responders.update(outcome.groups)

    def persistence(self, grace: int) -> tuple[PersistenceFigures, SurvivalCurve | None]:
        durations = self.durations.get(grace, [])
        ended = self.ended.get(grace, [])
        curve = kaplan_meier(durations, ended)
        median = curve.median() if curve is not None else None
        at_90, at_180 = (curve.at(d) if curve is not None else None for d in FOLLOW_UP_DAYS)
        figures = PersistenceFigures(
            median_days=round(median) if median is not None else None,
            at_90_days=at_90,
            at_180_days=at_180,
            discontinued=sum(ended),
            censored=len(ended) - sum(ended),
        )
        return figures, curve

    def predictors(self) -> tuple[PredictorFigures, ...]:
        measured, responders = len(self.changes), self.responders
        rows = []
        for group, n in self.group_n.items():
            if n < MIN_GROUP_MEASURED:
                continue
            a = self.group_responders[group]
            rest = measured - n
            c = responders - a
            test = fisher_test(a, n - a, c, rest - c)
            rows.append(
                PredictorFigures(
                    group=group,
                    n=n,
                    responders=a,
                    rate=a / n,
                    rest_rate=c / rest if rest else None,
                    odds_ratio=test.odds_ratio,
                    p_fisher=test.p_value,
                )
            )
        rows.sort(key=lambda r: (r.p_fisher, r.group))
        return tuple(rows)


def _rate(count: int, total: int) -> float | None:
    return count / total if total else None


def grace_periods(grace_days: int | None = None) -> tuple[int, tuple[int, ...]]:
    """The grace period asked for (the default when None), and every one to tally."""
    rule = outcome_book().persistence
    grace = rule.default_grace_days if grace_days is None else grace_days
    if grace < 0:
        raise ValueError("grace days cannot be negative")
    return grace, tuple(dict.fromkeys((grace, *rule.sensitivity_grace_days)))


def clinic_outcomes(
    courses: Iterable[TherapyCourse], as_of: dt.date, grace_days: int | None = None
) -> OutcomeRun:
    """The clinic's figures on `as_of`, with persistence at the sensitivity grace periods."""
    grace, graces = grace_periods(grace_days)
    return outcome_run(OutcomeTally(as_of, graces).add_courses(courses), grace)


def outcome_run(tally: OutcomeTally, grace: int) -> OutcomeRun:
    """The figures of a complete tally, persistence with `grace` days (one it tallied)."""
    if grace not in tally.graces:
        raise ValueError(f"the tally has no persistence with {grace} days' grace")
    measured = len(tally.changes)
    mean, mean_ci = mean_with_t_interval(tally.changes)
    persistence, curve = tally.persistence(grace)
    figures = ClinicOutcomes(
        as_of=tally.as_of,
        grace_days=grace,
        prescribed=tally.prescribed,
        never_started=tally.prescribed - tally.started,
        started=tally.started,
        with_response_measure=measured,
        responders_30=tally.responders,
        responder_rate_30=_rate(tally.responders, measured),
        responder_rate_30_ci=wilson_interval(tally.responders, measured),
        any_improvement=tally.improved,
        any_improvement_rate=_rate(tally.improved, measured),
        nrs_change_mean=mean,
        nrs_change_ci=mean_ci,
        persistence=persistence,
        predictors=tally.predictors(),
        published=(),
    )
    figures = figures.model_copy(
        update={"published": tuple(published_beside(s, figures) for s in outcome_book().published)}
    )
    sensitivity = tuple(
        (g, tally.persistence(g)[0]) for g in outcome_book().persistence.sensitivity_grace_days
    )
    return OutcomeRun(figures=figures, sensitivity=sensitivity, curve=curve)


def clinic_value(key: str, figures: ClinicOutcomes) -> float | None:
    """A clinic figure by the name a published figure gives (`persistence.median_days`...).

    `never_started_rate` is the share of prescribed patients who never started.
    KeyError for a name that is not a figure.
    """
    if key == "never_started_rate":
        return _rate(figures.never_started, figures.prescribed)
    value: Any = figures
    for part in key.split("."):
        if not isinstance(value, BaseModel) or part not in type(value).model_fields:
            raise KeyError(key)
        value = getattr(value, part)
    if value is not None and not isinstance(value, int | float):
        raise KeyError(key)
    return None if value is None else float(value)


def published_beside(series: PublishedSeries, figures: ClinicOutcomes) -> PublishedSeriesOut:
    """A published series with each figure's clinic counterpart and its sources cited."""
    kb = knowledge_base()
    cited = list(series.sources)
    cited += [s for f in series.figures for s in f.sources]
    cited += [s for p in series.predictors for s in p.sources]
    return PublishedSeriesOut(
        id=series.id,
        title=series.title,
        setting=series.setting,
        figures=tuple(
            PublishedFigureOut(
                **f.model_dump(),
                clinic_value=clinic_value(f.clinic, figures) if f.clinic else None,
            )
            for f in series.figures
        ),
        predictors=tuple(PublishedPredictorOut(**p.model_dump()) for p in series.predictors),
        sources=series.sources,
        references=tuple(
            CitedSource(**s.model_dump(include=set(CitedSource.model_fields)))
            for s in (kb.source(i) for i in dict.fromkeys(cited))
        ),
    )
