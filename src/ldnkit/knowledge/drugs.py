"""Typed access to the drug lexicon: ingredients, products, clinical-drug codes, abbreviations.

`drugs.yaml` holds ingredients and products, `drug_abbreviations.yaml` the abbreviations that
medication lists print (each with the source that shows it).

The lexicon is validated once per process: unknown fields, unknown classes, products naming
ingredients that do not exist and source ids missing from `sources.yaml` all fail loudly here,
so a typo in the data can never quietly make an opioid unknown.
"""

from __future__ import annotations

from enum import StrEnum
from functools import cache, cached_property
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from ldnkit.knowledge.files import read_data

# slow_release: oral sustained- or extended-release naltrexone (compounded SR capsules), which
# one source says LDN must not be given as.
NaltrexoneKind = Literal[
    "ldn", "standard", "extended_release_injection", "naltrexone_bupropion", "slow_release"
]

RxNormCode = Annotated[str, StringConstraints(pattern=r"^\d{1,10}$")]
AtcCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]\d\d[A-Z][A-Z]\d\d$")]
SourceIds = Annotated[tuple[str, ...], Field(min_length=1)]


class DrugClass(StrEnum):
    """Drug classes the LDN safety screen reads."""

    OPIOID_AGONIST = "opioid_agonist"
    OPIOID_PARTIAL_AGONIST = "opioid_partial_agonist"
    # Gut-acting opioid agonists (loperamide, eluxadoline): shown, not counted as opioids.
    PERIPHERAL_OPIOID_AGONIST = "peripheral_opioid_agonist"
    OPIOID_ANTAGONIST = "opioid_antagonist"
    NALTREXONE = "naltrexone"
    THYROID_HORMONE = "thyroid_hormone"
    ANTITHYROID = "antithyroid"


OPIOID_CLASSES = frozenset({DrugClass.OPIOID_AGONIST, DrugClass.OPIOID_PARTIAL_AGONIST})


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Ingredient(_Record):
    """One active ingredient with its names, codes and classes."""

    id: str
    name: str
    classes: frozenset[DrugClass]
    synonyms: tuple[str, ...] = ()
    tall_man: tuple[str, ...] = ()
    rxnorm: tuple[RxNormCode, ...] = ()
    rxnorm_unverified: tuple[RxNormCode, ...] = ()
    atc: tuple[AtcCode, ...] = ()
    atc_unverified: tuple[AtcCode, ...] = ()
    long_acting: bool = False
    long_acting_if_form_unknown: bool = False
    maintenance: bool = False
    note: str | None = None
    sources: SourceIds

    @property
    def is_opioid(self) -> bool:
        return bool(self.classes & OPIOID_CLASSES)


class Product(_Record):
    """A brand or combination product: its names and what it contains."""

    name: str
    aliases: tuple[str, ...] = ()
    ingredients: Annotated[tuple[str, ...], Field(min_length=1)]
    long_acting: bool | None = None
    naltrexone_kind: NaltrexoneKind | None = None
    sources: SourceIds


class ClinicalDrug(_Record):
    """An RxNorm clinical-drug code (SCD/SBD) seen in EHR data, read through its display text."""

    rxnorm: RxNormCode
    display: str
    sources: SourceIds


class OtherDrugs(_Record):
    """Plain names of common drugs with no class that matters for LDN."""

    names: tuple[str, ...]
    sources: SourceIds


class Lexicon(_Record):
    """The whole drug lexicon."""

    version: int
    ingredients: tuple[Ingredient, ...]
    products: tuple[Product, ...]
    clinical_drugs: tuple[ClinicalDrug, ...] = ()
    other_drugs: OtherDrugs | None = None

    @model_validator(mode="before")
    @classmethod
    def _expand_other_drugs(cls, data: object) -> object:
        # Listed by name only to keep the data short; each becomes a classless ingredient.
        if isinstance(data, dict) and isinstance(data.get("other_drugs"), dict):
            other = data["other_drugs"]
            extra = [
                {"id": str(n), "name": str(n), "classes": [], "sources": other.get("sources")}
                for n in other.get("names", [])
            ]
            data = {**data, "ingredients": [*data.get("ingredients", []), *extra]}
        return data

    @model_validator(mode="after")
    def _consistent(self) -> Lexicon:
        ids = [i.id for i in self.ingredients]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"ingredient ids used twice: {duplicates}")
        known = set(ids)
        for product in self.products:
            missing = [i for i in product.ingredients if i not in known]
            if missing:
                raise ValueError(f"product {product.name!r} names unknown ingredients {missing}")
            if product.naltrexone_kind and "naltrexone" not in product.ingredients:
                raise ValueError(
                    f"product {product.name!r} has a naltrexone kind but no naltrexone"
                )
        return self

    def ingredient(self, ingredient_id: str) -> Ingredient:
        """The ingredient with this id (KeyError if there is none)."""
        return self._by_id[ingredient_id]

    @cached_property
    def _by_id(self) -> dict[str, Ingredient]:
        return {i.id: i for i in self.ingredients}

    def source_ids(self) -> set[str]:
        """Every source id the lexicon cites."""
        records: list[Ingredient | Product | ClinicalDrug] = [
            *self.ingredients,
            *self.products,
            *self.clinical_drugs,
        ]
        return {s for r in records for s in r.sources}


class Abbreviation(_Record):
    """An abbreviation a medication list prints: one meaning, or several (ambiguous)."""

    written: str
    means: tuple[str, ...] = ()
    readings: tuple[tuple[str, ...], ...] = ()
    note: str | None = None
    sources: SourceIds

    @model_validator(mode="after")
    def _one_kind(self) -> Abbreviation:
        if bool(self.means) == bool(self.readings):
            raise ValueError(f"abbreviation {self.written!r}: give `means` or `readings`, not both")
        if self.readings and len(self.readings) < 2:
            raise ValueError(f"abbreviation {self.written!r}: `readings` needs two or more")
        return self

    @property
    def ingredient_ids(self) -> set[str]:
        return {i for group in (self.means, *self.readings) for i in group}


class Abbreviations(_Record):
    """Every abbreviation the lexicon reads."""

    version: int
    abbreviations: tuple[Abbreviation, ...]


class LexiconError(ValueError):
    """The drug lexicon data is inconsistent (a bug in drugs.yaml, not in user input)."""


def cited_sources() -> set[str]:
    """The source ids `sources.yaml` defines."""
    return {entry["id"] for entry in read_data("sources.yaml")}


def check_cited(name: str, cited: set[str]) -> None:
    """LexiconError if a data file cites a source `sources.yaml` lacks."""
    unresolved = sorted(cited - cited_sources())
    if unresolved:
        raise LexiconError(f"{name} cites sources missing from sources.yaml: {unresolved}")


@cache
def lexicon() -> Lexicon:
    """The validated drug lexicon, loaded once per process."""
    lex = Lexicon.model_validate(read_data("drugs.yaml"))
    check_cited("drugs.yaml", lex.source_ids())
    return lex


@cache
def abbreviations() -> tuple[Abbreviation, ...]:
    """The validated abbreviations, each naming ingredients the lexicon has."""
    found = Abbreviations.model_validate(read_data("drug_abbreviations.yaml")).abbreviations
    check_cited("drug_abbreviations.yaml", {s for a in found for s in a.sources})
    known = {i.id for i in lexicon().ingredients}
    for abbreviation in found:
        missing = sorted(abbreviation.ingredient_ids - known)
        if missing:
            raise LexiconError(f"abbreviation {abbreviation.written!r} names unknown {missing}")
    return found
