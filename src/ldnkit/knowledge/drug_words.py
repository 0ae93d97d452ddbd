"""Typed access to `drug_words.yaml`: the words of a medication name that are not a drug.

Units, forms, routes, salts, release words, frequencies, packaging and connectors; which words
mark extended release or an injection; the patterns of frequency words that carry digits; and
how short a shortened drug name may be. Validated once per process, sources resolved.
"""

from __future__ import annotations

import re
from functools import cache, cached_property
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from ldnkit.knowledge.drugs import check_cited
from ldnkit.knowledge.files import read_data

SourceIds = Annotated[tuple[str, ...], Field(min_length=1)]


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Units(_Record):
    """Units written after a number."""

    mass: dict[str, float]
    per_volume: frozenset[str]
    per_time: frozenset[str]
    per_dose: frozenset[str]
    other: frozenset[str]
    sources: SourceIds

    @property
    def all(self) -> frozenset[str]:
        return frozenset(self.mass) | self.per_volume | self.per_time | self.per_dose | self.other


class Category(_Record):
    """One kind of word (form, route, salt...) and the sources that print them."""

    words: frozenset[str]
    sources: SourceIds


class WordPatterns(_Record):
    patterns: tuple[str, ...]
    sources: SourceIds


class Truncation(_Record):
    min_letters: Annotated[int, Field(ge=3)]
    hint_min_letters: Annotated[int, Field(ge=2)]
    sources: SourceIds


class Vocabulary(_Record):
    """Everything in a medication name around the drug names."""

    version: int
    units: Units
    categories: dict[str, Category]
    word_patterns: WordPatterns
    release_words: frozenset[str]
    release_phrases: tuple[str, ...]
    injection_words: frozenset[str]
    short_form_words: frozenset[str]
    truncation: Truncation

    def category(self, word: str) -> str | None:
        """The first category that lists `word` (lower case), or None."""
        return self._category_of.get(word)

    def is_pattern_word(self, word: str) -> bool:
        """A word with digits that is a frequency, duration or quantity ("q12h", "x30")."""
        return self._pattern.fullmatch(word) is not None

    @cached_property
    def _category_of(self) -> dict[str, str]:
        found: dict[str, str] = {}
        for name, category in self.categories.items():
            for word in sorted(category.words):
                found.setdefault(word, name)
        # A unit is read with its number ("5 MG"); alone, only a unit of several letters
        # counts ("MG" after a strength list): a lone "l" or "g" may be a broken name.
        for word in sorted(self.units.all):
            if len(word) > 1:
                found.setdefault(word, "unit")
        return found

    @cached_property
    def _pattern(self) -> re.Pattern[str]:
        return re.compile("|".join(f"(?:{p})" for p in self.word_patterns.patterns))

    def source_ids(self) -> set[str]:
        records: list[Units | Category | WordPatterns | Truncation] = [
            self.units,
            *self.categories.values(),
            self.word_patterns,
            self.truncation,
        ]
        return {s for r in records for s in r.sources}


@cache
def vocabulary() -> Vocabulary:
    """The validated vocabulary, loaded once per process."""
    vocab = Vocabulary.model_validate(read_data("drug_words.yaml"))
    check_cited("drug_words.yaml", vocab.source_ids())
    return vocab
