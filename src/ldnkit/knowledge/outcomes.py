"""Typed access to `outcomes.yaml`: the numbers clinic outcomes use and the published figures.

Validated once per process like the drug lexicon: unknown keys are errors, and a source id that
does not resolve in `sources.yaml` stops the load, so a published figure can never be shown
without the article that reports it.
"""

from __future__ import annotations

from functools import cache
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ldnkit.knowledge.files import read_data

SourceIds = Annotated[tuple[str, ...], Field(min_length=1)]
Days = Annotated[int, Field(ge=1)]


class _Data(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ResponderRule(_Data):
    """A responder's least fall in pain, as a share of the baseline score."""

    min_reduction: Annotated[float, Field(gt=0, lt=1)]
    sources: SourceIds


class ResponseWindows(_Data):
    """Days around the start day where the baseline and follow-up pain scores are taken."""

    baseline_days_before: Days
    follow_up_from_day: Days
    follow_up_to_day: Days
    sources: SourceIds

    @model_validator(mode="after")
    def _ordered(self) -> ResponseWindows:
        if self.follow_up_to_day < self.follow_up_from_day:
            raise ValueError("follow_up_to_day must not be before follow_up_from_day")
        return self


class PersistenceRule(_Data):
    """The grace period after a fill's supply, and the supply a fill without one covers."""

    default_grace_days: Annotated[int, Field(ge=0)]
    sensitivity_grace_days: Annotated[tuple[Annotated[int, Field(ge=0)], ...], Field(min_length=1)]
    default_days_supply: Days
    sources: SourceIds


class PublishedFigure(_Data):
    """One figure of a published series, and the clinic figure it is shown beside."""

    id: str
    text: str
    value: float
    unit: Literal["patients", "proportion", "points", "days"]
    clinic: str | None = None
    note: str | None = None
    sources: SourceIds


class PublishedPredictor(_Data):
    """A diagnosis the series found to predict response, with the clinic groups it concerns."""

    text: str
    groups: tuple[str, ...]
    p_value: Annotated[float, Field(gt=0, le=1)]
    sources: SourceIds


class PublishedSeries(_Data):
    """A published case series of LDN in a clinic."""

    id: str
    title: str
    setting: str
    figures: tuple[PublishedFigure, ...]
    predictors: tuple[PublishedPredictor, ...] = ()
    sources: SourceIds


class OutcomeBook(_Data):
    """Everything in outcomes.yaml."""

    version: int
    responder: ResponderRule
    response_windows: ResponseWindows
    persistence: PersistenceRule
    published: tuple[PublishedSeries, ...]

    def source_ids(self) -> set[str]:
        """Every source id the file cites."""
        cited = {
            *self.responder.sources,
            *self.response_windows.sources,
            *self.persistence.sources,
        }
        for series in self.published:
            cited.update(series.sources)
            for figure in series.figures:
                cited.update(figure.sources)
            for predictor in series.predictors:
                cited.update(predictor.sources)
        return cited


class OutcomeBookError(ValueError):
    """outcomes.yaml is inconsistent (a bug in the data, not in user input)."""


@cache
def outcome_book() -> OutcomeBook:
    """The validated outcomes data, loaded once per process."""
    book = OutcomeBook.model_validate(read_data("outcomes.yaml"))
    known = {entry["id"] for entry in read_data("sources.yaml")}
    unresolved = sorted(book.source_ids() - known)
    if unresolved:
        raise OutcomeBookError(
            f"outcomes.yaml cites sources missing from sources.yaml: {unresolved}"
        )
    return book
