"""Typed access to the titration protocols (protocols.yaml) and LDN products (products.yaml)."""

from __future__ import annotations

from decimal import Decimal
from functools import cache
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ldnkit.knowledge.files import read_data

DoseTime = Literal["bedtime", "morning"]
Evidence = Literal["H", "M", "L"]
SourceIds = Annotated[tuple[str, ...], Field(min_length=1)]


def mg_to_ug(mg: float | Decimal | str) -> int:
    """Milligrams to whole micrograms, exactly (through the decimal text, never float sums)."""
    micrograms = Decimal(str(mg)) * 1000
    if micrograms != micrograms.to_integral_value():
        raise ValueError(f"{mg} mg is not a whole number of micrograms")
    return int(micrograms)


def ug_to_mg(ug: int) -> float:
    """Whole micrograms to milligrams (one division, so 1500 gives exactly 1.5)."""
    return ug / 1000


class _Data(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SourcedNote(_Data):
    text: str
    sources: SourceIds


class Protocol(_Data):
    """A titration protocol; `custom` has no numbers of its own."""

    id: str
    name: str
    summary: str
    start_dose_mg: float | None = None
    step_mg: float | None = None
    interval_days: int | None = None
    target_mg: float | None = None
    time: DoseTime = "bedtime"
    sources: SourceIds

    @model_validator(mode="after")
    def _complete_or_custom(self) -> Protocol:
        numbers = (self.start_dose_mg, self.step_mg, self.interval_days, self.target_mg)
        if self.id != "custom" and any(n is None for n in numbers):
            raise ValueError(f"protocol {self.id} needs start dose, step, interval and target")
        return self


class MoveToMorning(_Data):
    message: str
    sources: SourceIds
    evidence: Evidence


class StepBack(_Data):
    message: str
    days: Annotated[int, Field(ge=1)]
    sources: SourceIds
    evidence: Evidence


class ProcedureHold(_Data):
    """The plan's hold for a procedure; its days are in limits.yaml (hold, washout)."""

    message: str
    max_hold_days: Annotated[int, Field(ge=1)]  # the longest hold a plan accepts
    hold_range_note: str  # what the sources support, for a hold refused
    hold_sources: SourceIds
    restart_sources: SourceIds
    evidence: Evidence


class Adjustments(_Data):
    move_to_morning: MoveToMorning = Field(alias="move-to-morning")
    step_back: StepBack = Field(alias="step-back")
    procedure_hold: ProcedureHold = Field(alias="procedure-hold")


class ProtocolBook(_Data):
    """Everything in protocols.yaml."""

    protocols: tuple[Protocol, ...]
    adjustments: Adjustments
    plan_notes: tuple[SourcedNote, ...]

    def protocol(self, protocol_id: str) -> Protocol:
        for protocol in self.protocols:
            if protocol.id == protocol_id:
                return protocol
        raise KeyError(protocol_id)


class CapsuleProducts(_Data):
    strengths_mg: Annotated[tuple[float, ...], Field(min_length=1)]
    strengths_sources: SourceIds
    notes: tuple[SourcedNote, ...]

    @property
    def strengths_ug(self) -> tuple[int, ...]:
        """Capsule strengths in micrograms, largest first."""
        return tuple(sorted((mg_to_ug(s) for s in self.strengths_mg), reverse=True))


class BeyondUse(_Data):
    storage: Literal["refrigerated", "room_temperature"]
    label: str
    days: Annotated[int, Field(ge=1)]


class LiquidRecipe(_Data):
    id: Literal["water", "fawcett"]
    name: str
    recipe: str
    studied_concentration_mg_per_ml: float | None = None
    container: str
    beyond_use: Annotated[tuple[BeyondUse, ...], Field(min_length=1)]
    stability_data: bool
    warnings: tuple[str, ...]
    sources: SourceIds


class ProductBook(_Data):
    """Everything in products.yaml."""

    capsules: CapsuleProducts
    liquid_recipes: tuple[LiquidRecipe, ...]

    def recipe(self, recipe_id: str) -> LiquidRecipe:
        for recipe in self.liquid_recipes:
            if recipe.id == recipe_id:
                return recipe
        raise KeyError(recipe_id)


@cache
def protocol_book() -> ProtocolBook:
    """The titration protocols and adjustments, parsed once per process."""
    return ProtocolBook.model_validate(read_data("protocols.yaml"))


@cache
def product_book() -> ProductBook:
    """The capsule strengths and liquid recipes, parsed once per process."""
    return ProductBook.model_validate(read_data("products.yaml"))


def cited_source_ids() -> frozenset[str]:
    """Every source id the two files cite (checked against sources.yaml by the tests)."""
    ids: set[str] = set()
    book, products = protocol_book(), product_book()
    for protocol in book.protocols:
        ids.update(protocol.sources)
    for group in (
        book.adjustments.move_to_morning.sources,
        book.adjustments.step_back.sources,
        book.adjustments.procedure_hold.hold_sources,
        book.adjustments.procedure_hold.restart_sources,
        products.capsules.strengths_sources,
    ):
        ids.update(group)
    for note in (*book.plan_notes, *products.capsules.notes):
        ids.update(note.sources)
    for recipe in products.liquid_recipes:
        ids.update(recipe.sources)
    return frozenset(ids)
