"""What a medication name or code was recognised as: the public result types."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

from ldnkit.knowledge.drugs import DrugClass, NaltrexoneKind

How = Literal[
    "generic", "brand", "rxnorm", "atc", "misspelling", "tall-man", "abbreviation", "truncation"
]
StrengthUnit = Literal["mg", "mg/mL", "mg/h"]


class IngredientMatch(BaseModel):
    """One ingredient found in the input, and how it was found."""

    model_config = ConfigDict(frozen=True)

    id: str
    name: str
    classes: frozenset[DrugClass]
    matched: str
    how: How
    distance: int = 0
    strength_mg: float | None = None
    strength_unit: StrengthUnit | None = None


class Ambiguity(BaseModel):
    """A word that could mean several drugs: every reading is named, none is chosen."""

    model_config = ConfigDict(frozen=True)

    written: str
    readings: tuple[str, ...]  # "hydrocodone", "hydrocortisone"; combinations joined by " + "
    opioid_possible: bool
    note: str | None = None


class Guess(BaseModel):
    """A word read as a non-opioid by its spelling or as a shortened name: a guess that a
    misspelt opioid could hide behind, so it is never a clean pass."""

    model_config = ConfigDict(frozen=True)

    written: str
    reading: str  # "ibuprofen"
    how: Literal["misspelling", "truncation"]


class CodeConflict(BaseModel):
    """An RxNorm code and a name that resolve to different ingredients."""

    model_config = ConfigDict(frozen=True)

    code: str
    code_reading: str  # "oxycodone"
    name_reading: str  # "tramadol"


class Recognition(BaseModel):
    """What a medication name or code was recognised as, and why.

    `is_opioid` is True when an opioid was found, False only when every word and code was read
    and none is an opioid, and None (unknown) otherwise: a word left unread, an ambiguous
    abbreviation with an opioid reading, a word read as a non-opioid only by its spelling or
    its beginning, or a code the lexicon cannot resolve.
    """

    model_config = ConfigDict(frozen=True)

    query: str
    ingredients: tuple[IngredientMatch, ...]
    classes: frozenset[DrugClass]
    is_opioid: bool | None
    long_acting: bool
    maintenance: bool = False
    strength_mg: float | None
    strength_unit: StrengthUnit | None = None
    naltrexone_kind: NaltrexoneKind | None
    unread: tuple[str, ...] = ()
    ambiguous: tuple[Ambiguity, ...] = ()
    guesses: tuple[Guess, ...] = ()
    unresolved_code: str | None = None
    code_conflict: CodeConflict | None = None
    value_sets: tuple[str, ...] = ()
    explanation: tuple[str, ...]
    sources: tuple[str, ...]

    @property
    def fully_read(self) -> bool:
        """Every word and code was read, unambiguously, and something was recognised."""
        return (
            bool(self.ingredients)
            and not self.unread
            and not self.ambiguous
            and not self.guesses
            and self.unresolved_code is None
        )
