"""Drug recognition: a medication name or RxNorm code -> ingredients -> classes, with reasons.

`recognise("Percocet 5/325")` reads brand names, combinations, generic and tall-man names,
RxNorm ingredient and clinical-drug codes, ATC codes and misspellings; forms, salts and
release words do not change what is recognised, but release words make an opioid long-acting.
The lexicon is data (`knowledge/data/drugs.yaml`); this module only reads it.

Matching is an exact dictionary look-up of word sequences first (the fast path, linear in the
number of words), then, for words left over, the closest lexicon name by Damerau-Levenshtein
distance. Look-alike non-opioid names (methylphenidate, hydroxyzine...) are in the lexicon, so
a near miss is read as the nearest real drug and never as an opioid it merely resembles.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from functools import cache, lru_cache
from typing import Literal

from pydantic import BaseModel, ConfigDict

from ldnkit.knowledge.drugs import (
    OPIOID_CLASSES,
    DrugClass,
    Ingredient,
    Lexicon,
    LexiconError,
    NaltrexoneKind,
    Product,
    lexicon,
)
from ldnkit.validation import InputError, Problem, show

__all__ = [
    "DrugClass",
    "IngredientMatch",
    "NaltrexoneKind",
    "Recognition",
    "recognise",
]

How = Literal["generic", "brand", "rxnorm", "atc", "misspelling", "tall-man"]
StrengthUnit = Literal["mg", "mg/mL", "mg/h"]

LDN_MAX_MG = 5.0  # LDN band 1-5 mg/day (Toljan & Vrooman 2018)
STANDARD_MIN_MG = 25.0  # half of the 50 mg tablet and above: standard-dose naltrexone
VIVITROL_MG = 380.0

_CLASS_WORDS = {
    DrugClass.OPIOID_AGONIST: "opioid agonist",
    DrugClass.OPIOID_PARTIAL_AGONIST: "opioid partial agonist",
    DrugClass.PERIPHERAL_OPIOID_AGONIST: "gut-acting opioid agonist (not counted as an opioid)",
    DrugClass.OPIOID_ANTAGONIST: "opioid antagonist",
    DrugClass.NALTREXONE: "naltrexone",
    DrugClass.THYROID_HORMONE: "thyroid hormone",
    DrugClass.ANTITHYROID: "antithyroid drug",
}


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


class Recognition(BaseModel):
    """What a medication name or code was recognised as, and why."""

    model_config = ConfigDict(frozen=True)

    query: str
    ingredients: tuple[IngredientMatch, ...]
    classes: frozenset[DrugClass]
    is_opioid: bool
    long_acting: bool
    strength_mg: float | None
    strength_unit: StrengthUnit | None = None
    naltrexone_kind: NaltrexoneKind | None
    explanation: tuple[str, ...]
    sources: tuple[str, ...]


# ---------------------------------------------------------------------------------------------
# Text -> tokens

_STRENGTH = (
    r"(?P<value>\d+(?:[.,]\d+)?)\s*(?P<unit>mg|mcg|µg|μg|ug|g)(?![a-z])"
    r"(?:\s*/\s*(?P<per_amount>\d+(?:\.\d+)?)?\s*(?P<per>ml|hr|h|hour)(?![a-z]))?"
)
# Prescribers' shorthand for a combination's strengths: "Percocet 5/325", "Norco 10/325 mg".
_RATIO = r"(?P<ratio>\d+(?:\.\d+)?(?:\s*/\s*\d+(?:\.\d+)?)+)(?![\d.])(?:\s*mg(?![a-z/]))?"
_TOKEN = re.compile(
    rf"(?P<strength>{_STRENGTH})|{_RATIO}|(?P<word>[^\W_]+(?:\.\d+)?)", re.IGNORECASE
)
_NUMBER_SIGN = re.compile(r"#\s*(?=\d)|\bno\.\s*(?=\d)", re.IGNORECASE)
_TALL_MAN = re.compile(r"[A-Z]{2,}")
_ATC = re.compile(r"^[a-z]\d\d[a-z]{2}\d\d$")
_TO_MG = {"mg": 1.0, "g": 1000.0, "mcg": 0.001, "µg": 0.001, "μg": 0.001, "ug": 0.001}


@dataclass(frozen=True)
class _Word:
    text: str  # as written
    key: str  # lower case
    pos: int  # position among all tokens (words and strengths)


@dataclass(frozen=True)
class _Strength:
    mg: float
    unit: StrengthUnit
    text: str
    pos: int


# Trademark signs: NFKC turns them into letters ("Percocet™" -> "PercocetTM"), gluing them on.
_MARKS = str.maketrans({"™": " ", "℠": " ", "®": " ", "©": " "})


def _normal(text: str) -> str:
    return _NUMBER_SIGN.sub(" ", unicodedata.normalize("NFKC", text.translate(_MARKS)))


@dataclass(frozen=True)
class _Ratio:
    """Slash-separated numbers without units, in mg, for the product written just before."""

    values: tuple[float, ...]
    text: str
    pos: int


def _scan(text: str) -> tuple[list[_Word], list[_Strength], list[_Ratio]]:
    words: list[_Word] = []
    strengths: list[_Strength] = []
    ratios: list[_Ratio] = []
    for pos, m in enumerate(_TOKEN.finditer(_normal(text))):
        if m.group("ratio"):
            values = tuple(float(v) for v in m.group("ratio").split("/"))
            ratios.append(_Ratio(values, m.group(0).strip(), pos))
        elif m.group("strength"):
            mg = float(m.group("value").replace(",", ".")) * _TO_MG[m.group("unit").lower()]
            per = (m.group("per") or "").lower()
            unit: StrengthUnit = "mg"
            if per:
                mg /= float(m.group("per_amount") or 1)
                unit = "mg/mL" if per == "ml" else "mg/h"
            strengths.append(_Strength(round(mg, 6), unit, m.group("strength"), pos))
        else:
            words.append(_Word(m.group("word"), m.group("word").lower(), pos))
    return words, strengths, ratios


def _key(name: str) -> tuple[str, ...]:
    """A lexicon name as the word sequence the scanner produces for it."""
    words, strengths, ratios = _scan(name)
    if strengths or ratios:
        raise LexiconError(f"lexicon name {name!r} contains a strength")
    return tuple(w.key for w in words)


def _is_tall_man(word: str) -> bool:
    return bool(_TALL_MAN.search(word)) and not word.isupper() and any(c.islower() for c in word)


# ---------------------------------------------------------------------------------------------
# The index built from the lexicon


@dataclass(frozen=True)
class _Entry:
    """What a lexicon name means: a product or a single ingredient."""

    name: str
    ingredients: tuple[str, ...]
    product: Product | None = None


@dataclass
class _Index:
    lex: Lexicon
    phrases: dict[tuple[str, ...], _Entry] = field(default_factory=dict)
    # Longest name (in words) starting with each word: most words start no name at all.
    longest_from: dict[str, int] = field(default_factory=dict)
    # Single-word names by length, for the spelling search.
    by_length: dict[int, list[str]] = field(default_factory=dict)
    letters: dict[str, frozenset[str]] = field(default_factory=dict)
    rxnorm: dict[str, tuple[str, bool]] = field(default_factory=dict)
    atc: dict[str, list[tuple[str, bool]]] = field(default_factory=dict)
    clinical: dict[str, tuple[str, tuple[str, ...]]] = field(default_factory=dict)
    # Names of several words written as one ("MSContin"), for names typed without spaces.
    run_together: dict[str, _Entry] = field(default_factory=dict)

    def add(self, name: str, entry: _Entry) -> None:
        key = _key(name)
        if not key:
            raise LexiconError(f"lexicon name {name!r} has no words")
        known = self.phrases.get(key)
        if known is not None and known != entry:
            raise LexiconError(f"lexicon name {name!r} means both {known.name} and {entry.name}")
        self.phrases[key] = entry
        self.longest_from[key[0]] = max(self.longest_from.get(key[0], 0), len(key))
        if len(key) > 1:
            self.run_together.setdefault("".join(key), entry)
        if len(key) == 1 and key[0].isalpha() and known is None:
            self.by_length.setdefault(len(key[0]), []).append(key[0])
            self.letters[key[0]] = frozenset(key[0])


@cache
def _index() -> _Index:
    lex = lexicon()
    index = _Index(lex)
    for ing in lex.ingredients:
        entry = _Entry(ing.name, (ing.id,))
        for name in dict.fromkeys((ing.id, ing.name, *ing.synonyms, *ing.tall_man)):
            index.add(name, entry)
        for codes, verified in ((ing.rxnorm, True), (ing.rxnorm_unverified, False)):
            for code in codes:
                if code in index.rxnorm:
                    raise LexiconError(f"RxNorm code {code} is given to two ingredients")
                index.rxnorm[code] = (ing.id, verified)
        for codes, verified in ((ing.atc, True), (ing.atc_unverified, False)):
            for code in codes:
                index.atc.setdefault(code.lower(), []).append((ing.id, verified))
    for product in lex.products:
        entry = _Entry(product.name, product.ingredients, product)
        for name in (product.name, *product.aliases):
            index.add(name, entry)
    for drug in lex.clinical_drugs:
        if drug.rxnorm in index.rxnorm:
            raise LexiconError(f"RxNorm code {drug.rxnorm} is both an ingredient and a drug")
        index.clinical[drug.rxnorm] = (drug.display, drug.sources)
    return index


# ---------------------------------------------------------------------------------------------
# Spelling


def _distance(a: str, b: str, limit: int) -> int:
    """Damerau-Levenshtein distance (optimal string alignment); limit + 1 once it exceeds limit."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cost = 0 if ca == cb else 1
            best = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                best = min(best, previous2[j - 2] + 1)
            current[j] = best
        if min(current) > limit:
            return limit + 1
        previous2, previous = previous, current
    return previous[-1]


def _allowed_edits(n: int, entry: _Entry) -> int:
    """Edits tolerated between words whose shorter one has n letters: fewer for brands."""
    if entry.product is not None:  # brand names are short and arbitrary: stay strict
        return 0 if n < 6 else 1 if n < 10 else 2
    return 0 if n < 5 else 1 if n < 7 else 2


def _is_opioid_entry(index: _Index, entry: _Entry) -> bool:
    return any(index.lex.ingredient(i).is_opioid for i in entry.ingredients)


@lru_cache(maxsize=8192)
def _nearest(word: str) -> tuple[str, int, tuple[str, ...]] | None:
    """The closest lexicon word within its allowed edits: (name, distance, tied names)."""
    index = _index()
    found: list[tuple[int, str]] = []
    letters = set(word)
    for length in range(len(word) - 2, len(word) + 3):
        for name in index.by_length.get(length, ()):
            allowed = _allowed_edits(min(len(word), length), index.phrases[(name,)])
            # One edit changes the set of letters by at most two: a cheap test that skips
            # the full distance for almost every unrelated name.
            if allowed == 0 or len(letters ^ index.letters[name]) > 2 * allowed:
                continue
            d = _distance(word, name, allowed)
            if d <= allowed:
                found.append((d, name))
    if not found:
        return None
    best = min(d for d, _ in found)
    tied = sorted(name for d, name in found if d == best)
    # A tie between an opioid and a non-opioid is read as the opioid: an opioid must never
    # slip through; the explanation names the other reading.
    tied.sort(key=lambda n: not _is_opioid_entry(index, index.phrases[(n,)]))
    chosen = index.phrases[(tied[0],)].ingredients
    others = tuple(n for n in tied[1:] if index.phrases[(n,)].ingredients != chosen)
    return tied[0], best, others


# ---------------------------------------------------------------------------------------------
# Recognition


@dataclass
class _Hit:
    ingredient: Ingredient
    matched: str
    how: How
    pos: int
    end: int
    distance: int = 0
    strength: _Strength | None = None


@dataclass
class _Reading:
    """What one text (or one code) was read as, before it becomes a Recognition."""

    hits: list[_Hit] = field(default_factory=list)
    products: list[Product] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    words: set[str] = field(default_factory=set)
    text: str = ""


def _classes_line(ing: Ingredient) -> str:
    if not ing.classes:
        return f"{ing.name}: no class that matters for LDN"
    order = list(DrugClass)
    words = ", ".join(_CLASS_WORDS[c] for c in sorted(ing.classes, key=order.index))
    return f"{ing.name}: {words}"


def _read_text(text: str, reading: _Reading, how_override: How | None = None) -> None:
    index = _index()
    words, strengths, ratios = _scan(text)
    reading.words.update(w.key for w in words)
    reading.text = " ".join(w.key for w in words)
    i = 0
    while i < len(words):
        matched = False
        longest = index.longest_from.get(words[i].key, 0)
        for n in range(min(longest, len(words) - i), 0, -1):
            key = tuple(w.key for w in words[i : i + n])
            entry = index.phrases.get(key)
            if entry is None:
                continue
            span = " ".join(w.text for w in words[i : i + n])
            if how_override is not None:
                how: How = how_override
            elif entry.product is not None:
                how = "brand"
            elif any(_is_tall_man(w.text) for w in words[i : i + n]):
                how = "tall-man"
            else:
                how = "generic"
            _add_entry(reading, entry, span, how, (words[i].pos, words[i + n - 1].pos), None)
            i += n
            matched = True
            break
        if matched:
            continue
        glued = _written_apart_or_glued(index, words, i)
        if glued is not None:
            n, entry, extra = glued
            span = " ".join(w.text for w in words[i : i + n])
            how = how_override or ("brand" if entry.product is not None else "generic")
            _add_entry(reading, entry, span, how, (words[i].pos, words[i + n - 1].pos), None)
            reading.words.update(extra)
            i += n
            continue
        word = words[i]
        i += 1
        if word.key in index.atc:
            for ing_id, verified in index.atc[word.key]:
                ing = index.lex.ingredient(ing_id)
                reading.hits.append(_Hit(ing, word.text, "atc", word.pos, word.pos))
                suffix = "" if verified else " (code not yet verified)"
                reading.lines.append(f"ATC {word.text.upper()} = {ing.name}{suffix}")
                reading.lines.append(_classes_line(ing))
                reading.sources.extend(ing.sources)
            continue
        if _ATC.match(word.key) or not word.key.isalpha() or len(word.key) < 5:
            continue
        if word.key in index.lex.ignored_words:
            continue
        near = _nearest(word.key)
        if near is None:
            continue
        name, distance, others = near
        entry = index.phrases[(name,)]
        how = how_override or "misspelling"
        _add_entry(reading, entry, word.text, how, (word.pos, word.pos), (name, distance))
        if others:
            reading.lines.append(f'"{word.text}" is as close to: ' + ", ".join(others))
    _assign_ratios(reading.hits, ratios)
    _assign_strengths(reading.hits, strengths)


_GLUED_STRENGTH = re.compile(r"^\d+(?:\.\d+)?(?:mg|mcg|ug|g)?$")


def _one_word(index: _Index, key: str) -> _Entry | None:
    return index.phrases.get((key,)) or index.run_together.get(key)


def _written_apart_or_glued(
    index: _Index, words: list[_Word], i: int
) -> tuple[int, _Entry, tuple[str, ...]] | None:
    """A name split by a space or hyphen ("oxy codone", "Oxy-Contin"), or with a salt, release
    word or strength glued on ("tramadolhcl", "oxycodoneER", "ultram50"): (words used, entry,
    glued-on words). Exact names only, so no look-alike is drawn in."""
    for n in (3, 2):
        part = words[i : i + n]
        if len(part) == n and part[-1].pos - part[0].pos == n - 1:
            entry = _one_word(index, "".join(w.key for w in part))
            if entry is not None:
                return n, entry, ()
    key = words[i].key
    entry = index.run_together.get(key)
    if entry is not None:
        return 1, entry, ()
    lex = index.lex
    for cut in range(len(key) - 1, 3, -1):
        head, tail = key[:cut], key[cut:]
        entry = _one_word(index, head)
        if entry is not None and (
            tail in lex.ignored_words or tail in lex.release_words or _GLUED_STRENGTH.match(tail)
        ):
            return 1, entry, (tail,)
    return None


def _add_entry(
    reading: _Reading,
    entry: _Entry,
    span: str,
    how: How,
    where: tuple[int, int],
    near: tuple[str, int] | None,
) -> None:
    lex = _index().lex
    ingredients = [lex.ingredient(i) for i in entry.ingredients]
    contents = " + ".join(i.name for i in ingredients)
    if near is not None:
        name, distance = near
        edits = "1 edit" if distance == 1 else f"{distance} edits"
        reading.lines.append(f'misspelling "{span}" read as "{name}" ({edits}) = {contents}')
    elif how == "rxnorm":
        reading.lines.append(f'its text "{span}" = {contents}')
    elif entry.product is not None:
        reading.lines.append(f'brand "{span}" = {contents}')
    elif how == "tall-man":
        reading.lines.append(f'tall-man spelling "{span}" = {contents}')
    elif span.lower() != ingredients[0].name:
        reading.lines.append(f'name "{span}" = {contents}')
    if entry.product is not None:
        reading.products.append(entry.product)
        reading.sources.extend(entry.product.sources)
    for ing in ingredients:
        reading.hits.append(_Hit(ing, span, how, *where, distance=near[1] if near else 0))
        reading.lines.append(_classes_line(ing))
        if ing.note:
            reading.lines.append(f"{ing.name}: {ing.note.strip()}")
        reading.sources.extend(ing.sources)


def _assign_ratios(hits: list[_Hit], ratios: list[_Ratio]) -> None:
    """ "Percocet 5/325": one number per ingredient of the product just before, in its order."""
    for ratio in ratios:
        product = [h for h in hits if h.end == ratio.pos - 1]
        if len(product) == len(ratio.values) and all(h.strength is None for h in product):
            for hit, value in zip(product, ratio.values, strict=True):
                hit.strength = _Strength(value, "mg", ratio.text, ratio.pos)


def _assign_strengths(hits: list[_Hit], strengths: list[_Strength]) -> None:
    """Give each strength to the ingredient it follows (in a product, in ingredient order)."""
    for strength in strengths:
        before = [h for h in hits if h.pos < strength.pos and h.strength is None]
        if before:
            last = max(h.pos for h in before)
            next(h for h in before if h.pos == last).strength = strength
            continue
        after = [h for h in hits if h.strength is None]
        if after:
            after[0].strength = strength


def _read_code(code: str, reading: _Reading) -> None:
    index = _index()
    if code in index.rxnorm:
        ing_id, verified = index.rxnorm[code]
        ing = index.lex.ingredient(ing_id)
        reading.hits.append(_Hit(ing, code, "rxnorm", -1, -1))
        suffix = "" if verified else " (code not yet verified)"
        reading.lines.append(f"RxNorm ingredient {code} = {ing.name}{suffix}")
        reading.lines.append(_classes_line(ing))
        reading.sources.extend(ing.sources)
    elif code in index.clinical:
        display, sources = index.clinical[code]
        reading.lines.append(f'RxNorm clinical drug {code} = "{display}"')
        reading.sources.extend(sources)
        _read_text(display, reading, how_override="rxnorm")
        for hit in reading.hits:
            hit.matched = code
    else:
        reading.lines.append(f"RxNorm code {code} is not in the lexicon")


def _long_acting(reading: _Reading, opioids: list[Ingredient]) -> tuple[bool, str | None]:
    lex = _index().lex
    release = sorted(reading.words & lex.release_words)
    phrases = [p for p in lex.release_phrases if f" {p} " in f" {reading.text} "]
    opioid_ids = {o.id for o in opioids}
    for product in reading.products:
        if product.long_acting and opioid_ids & set(product.ingredients):
            return True, f'long-acting: "{product.name}" is an extended-release product'
    if release or phrases:
        return True, f'long-acting: release modifier "{(release + phrases)[0]}"'
    for ing in opioids:
        if ing.long_acting:
            return True, f"long-acting: every {ing.name} product needs the long washout"
    explicit = any(p.long_acting is False for p in reading.products)
    formless = not (reading.words & lex.short_form_words)
    for ing in opioids:
        if ing.long_acting_if_form_unknown and formless and not explicit:
            return True, f"long-acting: no form given for {ing.name}, so the patch is assumed"
    return False, None


def _naltrexone_kind(
    reading: _Reading, hit: _Hit, has_opioid: bool
) -> tuple[NaltrexoneKind | None, str]:
    lex = _index().lex
    if has_opioid:
        return None, "naltrexone inside an opioid product (abuse deterrent): not an LDN product"
    for product in reading.products:
        if product.naltrexone_kind:
            return product.naltrexone_kind, f'naltrexone kind from "{product.name}"'
    ids = {h.ingredient.id for h in reading.hits}
    if "bupropion" in ids:
        return "naltrexone_bupropion", "naltrexone with bupropion: the weight-loss combination"
    s = hit.strength
    if reading.words & lex.injection_words or (s is not None and s.mg == VIVITROL_MG):
        return "extended_release_injection", "naltrexone by injection: the extended-release form"
    if s is None:
        return None, (
            "naltrexone without a strength: kind unknown "
            f"(up to {LDN_MAX_MG:g} mg is LDN, 50 mg is the standard tablet)"
        )
    if s.unit == "mg/mL":
        if s.mg <= LDN_MAX_MG:
            return "ldn", f"naltrexone liquid {s.mg:g} mg/mL: a compounded LDN liquid"
        return None, f"naltrexone liquid {s.mg:g} mg/mL: kind unknown"
    if s.mg <= LDN_MAX_MG:
        return "ldn", f"naltrexone {s.mg:g} mg: within the LDN band (up to {LDN_MAX_MG:g} mg)"
    if s.mg >= STANDARD_MIN_MG:
        return "standard", f"naltrexone {s.mg:g} mg: standard-dose naltrexone, not LDN"
    return None, (
        f"naltrexone {s.mg:g} mg: above the LDN band (up to {LDN_MAX_MG:g} mg) "
        "and below the 50 mg standard tablet: kind unknown"
    )


def _strength_text(hit: _Hit) -> str:
    assert hit.strength is not None
    return f"{hit.strength.mg:g} {hit.strength.unit}"


def _recognition(query: str, reading: _Reading) -> Recognition:
    unique: dict[str, _Hit] = {}
    for hit in reading.hits:
        known = unique.get(hit.ingredient.id)
        if known is None or (known.strength is None and hit.strength is not None):
            unique[hit.ingredient.id] = hit
    hits = list(unique.values())
    classes = frozenset(c for h in hits for c in h.ingredient.classes)
    opioids = [h.ingredient for h in hits if h.ingredient.is_opioid]
    lines = list(dict.fromkeys(reading.lines))
    if not hits:
        lines.append(f'nothing recognised in "{query}"' if reading.text else "nothing recognised")
    long_acting, why_long = _long_acting(reading, opioids) if opioids else (False, None)
    if why_long:
        lines.append(why_long)
    elif opioids:
        lines.append("short-acting: no release modifier and no long-acting product")
    naltrexone = unique.get("naltrexone")
    kind: NaltrexoneKind | None = None
    if naltrexone is not None:
        kind, why_kind = _naltrexone_kind(reading, naltrexone, bool(opioids))
        lines.append(why_kind)
    main = naltrexone or (hits[0] if len(hits) == 1 else None)
    if main is not None and main.strength is not None:
        lines.append(f"strength {_strength_text(main)} ({main.ingredient.name})")
    return Recognition(
        query=query,
        ingredients=tuple(
            IngredientMatch(
                id=h.ingredient.id,
                name=h.ingredient.name,
                classes=h.ingredient.classes,
                matched=h.matched,
                how=h.how,
                distance=h.distance,
                strength_mg=h.strength.mg if h.strength else None,
                strength_unit=h.strength.unit if h.strength else None,
            )
            for h in hits
        ),
        classes=classes,
        is_opioid=bool(classes & OPIOID_CLASSES),
        long_acting=long_acting,
        strength_mg=main.strength.mg if main and main.strength else None,
        strength_unit=main.strength.unit if main and main.strength else None,
        naltrexone_kind=kind,
        explanation=tuple(lines),
        sources=tuple(dict.fromkeys(reading.sources)),
    )


@lru_cache(maxsize=65536)
def recognise(name: str | None = None, rxnorm: str | None = None) -> Recognition:
    """Recognise a medication by name, RxNorm code or both; the result says what and why.

    Both are read when both are given (a code the lexicon lacks still leaves the name).
    An unknown drug gives no ingredients and no classes; it is not an error. Results are
    cached: population screening calls this for every medication of every patient.
    """
    text = (name or "").strip()
    code = (rxnorm or "").strip()
    if not text and not code:
        received = "nothing" if name is None else show(name)
        raise InputError([Problem("name", received, "a drug name or an RxNorm code")])
    if code and not code.isdigit():
        raise InputError.single("rxnorm", rxnorm, "an RxNorm code of digits, such as 7804")
    reading = _Reading()
    if code:
        _read_code(code, reading)
    if text:
        code_reading = reading
        reading = _Reading()
        _read_text(text, reading)
        # The code's findings come first; the text adds what the code did not say.
        reading.hits = code_reading.hits + reading.hits
        reading.products = code_reading.products + reading.products
        reading.lines = code_reading.lines + reading.lines
        reading.sources = code_reading.sources + reading.sources
        reading.words |= code_reading.words
        reading.text = f"{code_reading.text} {reading.text}".strip()
    query = " ".join(p for p in (text, f"RxNorm {code}" if code else "") if p)
    return _recognition(query, reading)
