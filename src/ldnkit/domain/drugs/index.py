"""The look-up tables built once from the lexicon, the abbreviations and the CDC value sets.

Names are keyed by the word sequence the scanner produces for them, so "Tylenol #3" and
"tylenol 3" are one key. Built in two passes: the curated lexicon first, then the value sets,
whose ingredient names must resolve through the first pass (an unknown one is a LexiconError,
so a drug the value sets list can never be silently missing) and whose bracketed brands become
products.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from typing import Literal

from ldnkit.domain.drugs.scan import scan
from ldnkit.knowledge.drug_words import Vocabulary, vocabulary
from ldnkit.knowledge.drugs import (
    Abbreviation,
    Lexicon,
    LexiconError,
    Product,
    abbreviations,
    lexicon,
)
from ldnkit.knowledge.valuesets import SOURCE_ID, ValueSetMedication, value_sets

EntryKind = Literal["ingredient", "product", "abbreviation", "ambiguous"]

# A brand taken from a value set is a fact of RxNorm's branded-drug names, listed by the CDC.
_VALUE_SET_BRAND_SOURCES = (SOURCE_ID, "nlm-rxnorm")


@dataclass(frozen=True, slots=True)
class Entry:
    """What a lexicon name means: an ingredient, a product, an abbreviation or several readings."""

    name: str
    ingredients: tuple[str, ...]
    kind: EntryKind
    product: Product | None = None
    abbreviation: Abbreviation | None = None

    @property
    def readings(self) -> tuple[tuple[str, ...], ...]:
        return self.abbreviation.readings if self.abbreviation else ()


@dataclass(frozen=True, slots=True)
class CodeEntry:
    """What an RxNorm code means: an ingredient, or a drug read through its display name."""

    ingredient: str | None = None
    verified: bool = True
    display: str | None = None
    value_set: ValueSetMedication | None = None
    sources: tuple[str, ...] = ()


def key(name: str) -> tuple[str, ...]:
    """A name as the word sequence the scanner produces for it."""
    found = scan(name)
    if found.strengths or found.ratios:
        raise LexiconError(f"lexicon name {name!r} contains a strength")
    if not found.words:
        raise LexiconError(f"lexicon name {name!r} has no words")
    return tuple(w.key for w in found.words)


@dataclass
class Index:
    lex: Lexicon
    vocab: Vocabulary
    phrases: dict[tuple[str, ...], Entry] = field(default_factory=dict)
    # Longest name (in words) starting with each word: most words start no name at all.
    longest_from: dict[str, int] = field(default_factory=dict)
    # Single-word drug names by length, for the spelling search.
    by_length: dict[int, list[str]] = field(default_factory=dict)
    letters: dict[str, frozenset[str]] = field(default_factory=dict)
    # Names of several words written as one ("MSContin"), for names typed without spaces.
    run_together: dict[str, Entry] = field(default_factory=dict)
    # First words of names of several words ("nurofen" of "Nurofen Plus"), for misspellings of
    # a name's first word; True when a brand, whose spelling is held to fewer edits.
    heads: dict[str, bool] = field(default_factory=dict)
    # (single-word name, ingredient id): the names a shortened word may be the beginning of.
    truncatable: list[tuple[str, str]] = field(default_factory=list)
    codes: dict[str, CodeEntry] = field(default_factory=dict)
    atc: dict[str, list[tuple[str, bool]]] = field(default_factory=dict)
    # Names one word longer than another name, with other ingredients ("Tylenol 3" holds
    # codeine, "Robitussin AC" too): a stray word or number beside the shorter name could be
    # the longer one. Shorter entry -> [(the extra word, longer entry)].
    variants: dict[Entry, list[tuple[str, Entry]]] = field(default_factory=dict)

    def add(self, name: str, entry: Entry) -> None:
        words = key(name)
        known = self.phrases.get(words)
        if known is not None and known != entry:
            if set(known.ingredients) == set(entry.ingredients) and known.kind == entry.kind:
                return  # the same drug under a second spelling of the same name
            raise LexiconError(f"lexicon name {name!r} means both {known.name} and {entry.name}")
        self.phrases[words] = entry
        self.longest_from[words[0]] = max(self.longest_from.get(words[0], 0), len(words))
        if len(words) > 1:
            self.run_together.setdefault("".join(words), entry)
            if words[0].isalpha():
                brand = entry.kind == "product" or self.heads.get(words[0], False)
                self.heads[words[0]] = brand
        spelled = entry.kind in ("ingredient", "product")
        if spelled and len(words) == 1 and words[0].isalpha() and known is None:
            self.by_length.setdefault(len(words[0]), []).append(words[0])
            self.letters[words[0]] = frozenset(words[0])

    def add_code(self, code: str, entry: CodeEntry) -> None:
        if code in self.codes:
            raise LexiconError(f"RxNorm code {code} is given twice")
        self.codes[code] = entry

    def is_opioid(self, ingredient_ids: tuple[str, ...]) -> bool:
        return any(self.lex.ingredient(i).is_opioid for i in ingredient_ids)

    def resolve(self, name: str) -> str:
        """The one ingredient an ingredient name means ("hydrocodone bitartrate")."""
        words = key(name)
        for candidate in (words, tuple(w for w in words if self.vocab.category(w) is None)):
            entry = self.phrases.get(candidate)
            if entry is not None and entry.kind == "ingredient":
                return entry.ingredients[0]
        raise LexiconError(f"ingredient name {name!r} of the CDC value sets is not in the lexicon")


def _add_lexicon(index: Index) -> None:
    lex = index.lex
    for ing in lex.ingredients:
        entry = Entry(ing.name, (ing.id,), "ingredient")
        for name in dict.fromkeys((ing.id, ing.name, *ing.synonyms, *ing.tall_man)):
            index.add(name, entry)
            words = key(name)
            if len(words) == 1 and words[0].isalpha():
                index.truncatable.append((words[0], ing.id))
        for codes, verified in ((ing.rxnorm, True), (ing.rxnorm_unverified, False)):
            for code in codes:
                index.add_code(code, CodeEntry(ingredient=ing.id, verified=verified))
        for codes, verified in ((ing.atc, True), (ing.atc_unverified, False)):
            for code in codes:
                index.atc.setdefault(code.lower(), []).append((ing.id, verified))
    for product in lex.products:
        entry = Entry(product.name, product.ingredients, "product", product=product)
        for name in (product.name, *product.aliases):
            index.add(name, entry)
    for abbreviation in abbreviations():
        kind: EntryKind = "ambiguous" if abbreviation.readings else "abbreviation"
        entry = Entry(abbreviation.written, abbreviation.means, kind, abbreviation=abbreviation)
        index.add(abbreviation.written, entry)
    for drug in lex.clinical_drugs:
        index.add_code(drug.rxnorm, CodeEntry(display=drug.display, sources=drug.sources))


def _add_value_sets(index: Index) -> None:
    brands: dict[str, tuple[str, ...]] = {}
    for med in value_sets().medications:
        ingredients = tuple(dict.fromkeys(index.resolve(n) for n in med.ingredients))
        if med.brand is not None:
            seen = brands.setdefault(med.brand, ingredients)
            if set(seen) != set(ingredients):
                raise LexiconError(f"value-set brand {med.brand!r} names {seen} and {ingredients}")
        coded = index.codes.get(med.rxnorm)
        if coded is not None and coded.ingredient is not None:
            raise LexiconError(f"RxNorm code {med.rxnorm} is an ingredient and a value-set drug")
        # A clinical drug the lexicon lists by hand gains the value set's facts.
        index.codes[med.rxnorm] = CodeEntry(
            display=med.display, value_set=med, sources=(SOURCE_ID,)
        )
    for brand, ingredients in brands.items():
        words = key(brand)
        known = index.phrases.get(words)
        if known is not None:
            if set(known.ingredients) != set(ingredients):
                raise LexiconError(
                    f"value-set brand {brand!r} is {ingredients}; the lexicon says "
                    f"{known.name} = {known.ingredients}"
                )
            continue  # already curated, with its own sources
        product = Product(name=brand, ingredients=ingredients, sources=_VALUE_SET_BRAND_SOURCES)
        index.add(brand, Entry(brand, ingredients, "product", product=product))


def _find_variants(index: Index) -> None:
    for words, variant in index.phrases.items():
        base = index.phrases.get(words[:-1]) if len(words) > 1 else None
        if base is not None and set(base.ingredients) != set(variant.ingredients):
            index.variants.setdefault(base, []).append((words[-1], variant))


@cache
def index() -> Index:
    """The look-up tables, built once per process."""
    built = Index(lexicon(), vocabulary())
    _add_lexicon(built)
    _add_value_sets(built)
    _find_variants(built)
    return built
