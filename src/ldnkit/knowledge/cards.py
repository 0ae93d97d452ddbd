"""Typed access to `cards.yaml`: the CDS Hooks cards' own words around the domain's findings."""

from __future__ import annotations

from functools import cache

from pydantic import BaseModel, ConfigDict

from ldnkit.knowledge.files import read_data


class OverrideReason(BaseModel):
    """A coded reason an EHR may offer a clinician who overrides a card."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    system: str
    code: str
    display: str


class CardText(BaseModel):
    """One card's words: a summary template, an introduction, and its override reasons."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    summary: str
    intro: str | None = None
    override_reasons: tuple[OverrideReason, ...] = ()


@cache
def card_texts() -> dict[str, CardText]:
    """The card texts by card id, validated once per process."""
    raw = read_data("cards.yaml")
    return {key: CardText.model_validate(value) for key, value in raw.items()}
