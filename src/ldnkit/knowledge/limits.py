"""Typed access to `limits.yaml`: every clinical number ldnkit decides with, and its sources.

`limits()` is read once per process (see `ldnkit.knowledge.files` to point it at a copy).
`Limits.parameters()` names the numbers for texts: a rule, card, plan or response text writes
`{washout_short_days}` or `{ldn_max_mg}`, never the number itself, so a changed number changes
every sentence that states it.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from types import MappingProxyType
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ldnkit.knowledge.files import read_data


class _Data(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Number(_Data):
    """A number with the sources that give it, or the reason ldnkit chose it (never neither)."""

    sources: tuple[str, ...] = ()
    chosen: str | None = None

    @model_validator(mode="after")
    def _sourced_or_chosen(self) -> _Number:
        if bool(self.sources) == bool(self.chosen):
            raise ValueError("a number needs either its sources or `chosen:` with the reason")
        return self


class Days(_Number):
    days: Annotated[int, Field(ge=1)]


class Milligrams(_Number):
    mg: Annotated[float, Field(gt=0)]


class Entries(_Number):
    entries: Annotated[int, Field(ge=1)]


class Percent(_Number):
    percent: Annotated[float, Field(gt=0, le=100)]


class Scale(_Number):
    min: int
    max: int

    @model_validator(mode="after")
    def _ordered(self) -> Scale:
        if self.min >= self.max:
            raise ValueError(f"a scale from {self.min} to {self.max} is empty")
        return self


class Washout(_Data):
    """Opioid-free days before the first naltrexone dose, by the opioid last taken."""

    short_acting: Days
    long_acting: Days
    maintenance: Days  # methadone, buprenorphine

    @model_validator(mode="after")
    def _ordered(self) -> Washout:
        if not self.short_acting.days <= self.long_acting.days <= self.maintenance.days:
            raise ValueError("washout days must not shorten from short-acting to maintenance")
        return self


class Hold(_Data):
    """Days between the last LDN dose and a procedure where opioids are expected."""

    usual: Days
    minimum: Days

    @model_validator(mode="after")
    def _ordered(self) -> Hold:
        if self.minimum.days > self.usual.days:
            raise ValueError("the minimum hold is longer than the usual one")
        return self


class LdnDose(_Data):
    """The LDN dose band and the naltrexone doses that are not LDN."""

    usual_max: Milligrams
    hard_max: Milligrams
    standard: Milligrams
    standard_min: Milligrams
    injection: Milligrams
    dose_multiple: Milligrams

    @model_validator(mode="after")
    def _ordered(self) -> LdnDose:
        band = (self.usual_max.mg, self.hard_max.mg, self.standard_min.mg, self.standard.mg)
        if not (band[0] <= band[1] < band[2] <= band[3]):
            raise ValueError("expected usual_max <= hard_max < standard_min <= standard")
        return self


class Diary(_Data):
    score: Scale


class Response(_Data):
    """Windows and thresholds of the response assessment."""

    baseline_lookback: Days
    min_baseline_entries: Entries
    latest_window: Days
    min_latest_entries: Entries
    recommendation_day: Days
    rolling_window: Days
    min_rolling_entries: Entries
    sustained: Days
    low_adherence: Percent
    minimal_improvement: Percent
    moderate_improvement: Percent
    substantial_improvement: Percent

    @model_validator(mode="after")
    def _consistent(self) -> Response:
        bands = (self.minimal_improvement, self.moderate_improvement, self.substantial_improvement)
        if not bands[0].percent < bands[1].percent < bands[2].percent:
            raise ValueError("expected minimal < moderate < substantial improvement")
        for entries, window in (
            (self.min_baseline_entries, self.baseline_lookback),
            (self.min_latest_entries, self.latest_window),
            (self.min_rolling_entries, self.rolling_window),
        ):
            if entries.entries > window.days:
                raise ValueError(f"{entries.entries} entries cannot fit in {window.days} days")
        return self


class SideEffects(_Data):
    episode_gap: Days
    first_week: Days


class Screen(_Data):
    unrecognised_stopped_lookback: Days


class Limits(_Data):
    """Everything in limits.yaml."""

    washout: Washout
    hold: Hold
    ldn_dose: LdnDose
    diary: Diary
    response: Response
    side_effects: SideEffects
    screen: Screen

    @model_validator(mode="after")
    def _lookback_covers_every_washout(self) -> Limits:
        # An unread stopped medication may have been a maintenance opioid.
        if self.screen.unrecognised_stopped_lookback.days < self.washout.maintenance.days:
            raise ValueError("screen.unrecognised_stopped_lookback is shorter than a washout")
        return self

    def parameters(self) -> dict[str, object]:
        """The numbers by the names texts use for them ({washout_short_days}, {ldn_max_mg}...)."""
        w, h, d, r = self.washout, self.hold, self.ldn_dose, self.response
        return {
            "washout_short_days": w.short_acting.days,
            "washout_long_days": w.long_acting.days,
            "washout_maintenance_days": w.maintenance.days,
            "hold_days": h.usual.days,
            "hold_min_days": h.minimum.days,
            "ldn_max_mg": f"{d.usual_max.mg:g}",
            "ldn_hard_max_mg": f"{d.hard_max.mg:g}",
            "standard_dose_mg": f"{d.standard.mg:g}",
            "injection_mg": f"{d.injection.mg:g}",
            "score_min": self.diary.score.min,
            "score_max": self.diary.score.max,
            "baseline_days": r.baseline_lookback.days,
            "latest_days": r.latest_window.days,
            "recommendation_day": r.recommendation_day.days,
            "minimal_pct": f"{r.minimal_improvement.percent:g}",
            "moderate_pct": f"{r.moderate_improvement.percent:g}",
            "substantial_pct": f"{r.substantial_improvement.percent:g}",
        }

    def cited_source_ids(self) -> frozenset[str]:
        """Every source id a number cites (checked against sources.yaml by the tests)."""
        ids: set[str] = set()
        for group in (
            self.washout,
            self.hold,
            self.ldn_dose,
            self.diary,
            self.response,
            self.side_effects,
            self.screen,
        ):
            for number in vars(group).values():
                ids.update(number.sources)
        return frozenset(ids)


@cache
def limits() -> Limits:
    """The clinical numbers, validated once per process."""
    return Limits.model_validate(read_data("limits.yaml"))


@cache
def text_parameters() -> Mapping[str, object]:
    """`limits().parameters()`, computed once, for filling texts."""
    return MappingProxyType(limits().parameters())


def render(template: str, /, **values: object) -> str:
    """A knowledge text with its {placeholders} filled: the call's values, then the limits."""
    return template.format_map({**text_parameters(), **values})
