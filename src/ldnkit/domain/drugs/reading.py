"""Reading a medication name word by word, accounting for every word.

Each word is, in this order: part of a lexicon name (the longest that fits: "MS Contin" before
"MS"), part of a name written apart or glued ("oxy codone", "tramadolhcl"), a one-word name or
abbreviation, a vocabulary word (form, unit, route, salt, release, frequency...), an ATC code,
a misspelling of a lexicon name, or the beginning of an ingredient's name. A word that is none
of these is unread, and an unread word is reported, never dropped: it could be an opioid under
a name the lexicon does not know.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ldnkit.domain.drugs.index import Entry, index
from ldnkit.domain.drugs.model import Ambiguity, Guess, How
from ldnkit.domain.drugs.scan import Ratio, Strength, Word, scan
from ldnkit.domain.drugs.spelling import beginnings, distance, nearest, nearest_heads
from ldnkit.knowledge.drugs import DrugClass, Ingredient, Product

_CLASS_WORDS = {
    DrugClass.OPIOID_AGONIST: "opioid agonist",
    DrugClass.OPIOID_PARTIAL_AGONIST: "opioid partial agonist",
    DrugClass.PERIPHERAL_OPIOID_AGONIST: "gut-acting opioid agonist (not counted as an opioid)",
    DrugClass.OPIOID_ANTAGONIST: "opioid antagonist",
    DrugClass.NALTREXONE: "naltrexone",
    DrugClass.THYROID_HORMONE: "thyroid hormone",
    DrugClass.ANTITHYROID: "antithyroid drug",
}
_TALL_MAN = re.compile(r"[A-Z]{2,}")
_RUNS = re.compile(r"[^\W\d_]+|\d+")
_GLUED_STRENGTH = re.compile(r"^\d+(?:\.\d+)?(?:mg|mcg|ug|g)?$")
_READINGS_SHOWN = 6


@dataclass
class Hit:
    ingredient: Ingredient
    matched: str
    how: How
    pos: int
    end: int
    distance: int = 0
    strength: Strength | None = None


@dataclass
class Reading:
    """What one text (or one code's display) was read as, before it becomes a Recognition."""

    hits: list[Hit] = field(default_factory=list)
    products: list[Product] = field(default_factory=list)
    ambiguous: list[Ambiguity] = field(default_factory=list)
    guesses: list[Guess] = field(default_factory=list)
    unread: list[str] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    words: set[str] = field(default_factory=set)
    other: dict[str, list[str]] = field(default_factory=dict)  # category -> words as written
    flat: str = ""  # lower-case words, for phrases such as "extended release"
    # What each read name meant and where it ended, for numbers left beside it.
    entries: list[tuple[Entry, int]] = field(default_factory=list)
    taken: set[int] = field(default_factory=set)  # positions of words read as part of a name
    # Numbers and vocabulary words not part of a name, with their positions: "3" in
    # "Tylenol Tab #3" or "Tylenol a3", "a" in "Robitussin A".
    loose: list[tuple[str, int]] = field(default_factory=list)

    def extend(self, other: Reading) -> None:
        self.hits += other.hits
        self.products += other.products
        self.ambiguous += other.ambiguous
        self.guesses += other.guesses
        self.unread += other.unread
        self.lines += other.lines
        self.sources += other.sources
        self.words |= other.words
        for category, words in other.other.items():
            self.other.setdefault(category, []).extend(words)
        self.flat = f"{self.flat} {other.flat}".strip()


def classes_line(ing: Ingredient) -> str:
    if not ing.classes:
        return f"{ing.name}: no class that matters for LDN"
    order = list(DrugClass)
    words = ", ".join(_CLASS_WORDS[c] for c in sorted(ing.classes, key=order.index))
    return f"{ing.name}: {words}"


def _is_tall_man(word: str) -> bool:
    return bool(_TALL_MAN.search(word)) and not word.isupper() and any(c.islower() for c in word)


def _names(ids: tuple[str, ...]) -> str:
    lex = index().lex
    return " + ".join(lex.ingredient(i).name for i in ids)


def read_text(text: str, how_override: How | None = None) -> Reading:
    """Read every word of `text`; strengths are given to the drugs they follow."""
    found = scan(text)
    reading = Reading(words={w.key for w in found.words}, flat=found.flat)
    words = found.words
    i = 0
    while i < len(words):
        # Names of several words first, so "MS Contin" is not read as the abbreviation MS; a
        # drug's own one-word name before a name split apart; abbreviations last, so
        # "oxy codone" is oxycodone rather than the ambiguous OXY.
        n, entry = _phrase(words, i, 1)
        if entry is None or (n == 1 and entry.kind in ("abbreviation", "ambiguous")):
            glued = _written_apart_or_glued(words, i)
            if glued is not None:
                n, entry, extra = glued
                reading.words.update(extra)
        near: tuple[str, int] | None = None
        if entry is None:
            misspelt = _misspelt_phrase(words, i)
            if misspelt is not None:
                n, entry, near = misspelt
        if entry is not None:
            span = " ".join(w.text for w in words[i : i + n])
            how = how_override or ("misspelling" if near else _how(entry, words[i : i + n]))
            where = (words[i].pos, words[i + n - 1].pos)
            _add_entry(reading, entry, span, how, where, near)
            reading.taken.update(w.pos for w in words[i : i + n])
            i += n
            continue
        _read_word(reading, words[i], how_override)
        i += 1
    reading.loose += [(w.key, w.pos) for w in words if w.number and w.pos not in reading.taken]
    _variant_forms(reading)
    _assign_ratios(reading.hits, found.ratios)
    _assign_strengths(reading.hits, found.strengths)
    return reading


def _variant_forms(reading: Reading) -> None:
    """ "Tylenol Tab #3", "Robitussin A": a number or short word left beside a name whose
    longer form is another product (Tylenol #3 and Robitussin AC hold codeine) could mean that
    form; both readings are named."""
    ix = index()
    for entry, end in reading.entries:
        for extra, variant in ix.variants.get(entry, ()):
            if any(_could_be(key, extra) and pos > end for key, pos in reading.loose):
                note = f'"{entry.name}" with "{extra}" beside it could be "{variant.name}"'
                _add_ambiguity(
                    reading,
                    f"{entry.name} {extra}",
                    (entry.ingredients, variant.ingredients),
                    note,
                    (variant.product.sources if variant.product else ()),
                )


def _could_be(key: str, extra: str) -> bool:
    """A stray word could be a variant's extra word: the same number, or a short word a slip
    away from it ("a" for "ac")."""
    if key == extra:
        return True
    if key.isdigit() or extra.isdigit():
        return False
    return len(extra) <= 3 and distance(key, extra, 1) <= 1


def _phrase(words: tuple[Word, ...], i: int, shortest: int) -> tuple[int, Entry | None]:
    ix = index()
    longest = ix.longest_from.get(words[i].key, 0)
    for n in range(min(longest, len(words) - i), shortest - 1, -1):
        part = words[i : i + n]
        if part[-1].pos - part[0].pos != n - 1:
            continue  # a strength in between: not one name
        entry = ix.phrases.get(tuple(w.key for w in part))
        if entry is not None:
            return n, entry
    return 0, None


def _longer_name(first: str, words: tuple[Word, ...], after: int) -> tuple[int, Entry] | None:
    """The longest name that starts with the (corrected or joined) word `first` and goes on
    with words[after:], written without a gap: (words it takes after `first`, entry)."""
    ix = index()
    rest = words[after:]
    for extra in range(min(ix.longest_from.get(first, 0) - 1, len(rest)), 0, -1):
        part = rest[:extra]
        if part[-1].pos - words[after - 1].pos != extra:
            continue
        entry = ix.phrases.get((first, *(w.key for w in part)))
        if entry is not None:
            return extra, entry
    return None


def _misspelt_phrase(words: tuple[Word, ...], i: int) -> tuple[int, Entry, tuple[str, int]] | None:
    """A name of several words whose first word is misspelt ("Tylenl #3"): the first word is
    corrected before the longer names it starts are looked up, so the number is not lost."""
    ix = index()
    key = words[i].key
    if len(key) < 5 or not key.isalpha() or ix.vocab.category(key) is not None:
        return None
    near = nearest(key)
    candidates = [near[:2]] if near is not None else []
    candidates += [h for h in nearest_heads(key) if near is None or h[0] != near[0]]
    for name, edits in candidates:
        longer = _longer_name(name, words, i + 1)
        if longer is not None:
            return 1 + longer[0], longer[1], (name, edits)
    return None


def _how(entry: Entry, part: tuple[Word, ...]) -> How:
    if entry.kind == "product":
        return "brand"
    if entry.kind == "abbreviation":
        return "abbreviation"
    if any(_is_tall_man(w.text) for w in part):
        return "tall-man"
    return "generic"


def _one_word(key: str) -> Entry | None:
    ix = index()
    entry = ix.phrases.get((key,)) or ix.run_together.get(key)
    return entry if entry is not None and entry.kind != "ambiguous" else None


def _written_apart_or_glued(
    words: tuple[Word, ...], i: int
) -> tuple[int, Entry, tuple[str, ...]] | None:
    """A name split by a space or hyphen ("oxy codone", "Oxy-Contin"), or with a salt, release
    word or strength glued on ("tramadolhcl", "oxycodoneER", "ultram50"): (words used, entry,
    glued-on words). Exact names only, so no look-alike is drawn in."""
    ix = index()
    for n in (3, 2):
        part = words[i : i + n]
        if len(part) == n and part[-1].pos - part[0].pos == n - 1:
            if any(w.number for w in part):
                continue
            joined = "".join(w.key for w in part)
            entry = _one_word(joined)
            if entry is not None:
                # "Tyleno l #2": the joined name may start a longer one ("tylenol 2").
                longer = _longer_name(joined, words, i + n)
                if longer is not None:
                    return n + longer[0], longer[1], ()
                return n, entry, ()
    key = words[i].key
    entry = ix.run_together.get(key)
    if entry is not None:
        return 1, entry, ()
    for cut in range(len(key) - 1, 3, -1):
        head, tail = key[:cut], key[cut:]
        entry = _one_word(head)
        glued_on = (
            ix.vocab.category(tail) is not None
            or tail in ix.vocab.release_words
            or _GLUED_STRENGTH.match(tail)
        )
        if entry is not None and glued_on:
            longer = _longer_name(head, words, i + 1)
            if longer is not None:
                return 1 + longer[0], longer[1], (tail,)
            return 1, entry, (tail,)
    return None


def _read_word(reading: Reading, word: Word, how_override: How | None) -> None:
    """A word no lexicon name starts with: vocabulary, code, misspelling, beginning, or unread."""
    ix = index()
    if word.number:
        return
    if _vocabulary(reading, word.key, word.text, word.pos):
        return
    if word.key in ix.atc:
        for ing_id, verified in ix.atc[word.key]:
            ing = ix.lex.ingredient(ing_id)
            reading.hits.append(Hit(ing, word.text, "atc", word.pos, word.pos))
            suffix = "" if verified else " (code not yet verified)"
            reading.lines.append(f"ATC {word.text.upper()} = {ing.name}{suffix}")
            reading.lines.append(classes_line(ing))
            reading.sources.extend(ing.sources)
        return
    if word.key.isalpha():
        if not _guess(reading, word.key, word.text, word.pos, how_override):
            reading.unread.append(word.text)
        return
    # Letters and digits together ("ultram50", "24hr", "b12"): every letter run must be read.
    runs = [r for r in _RUNS.findall(word.key) if not r.isdigit()]
    if not all(ix.phrases.get((r,)) is not None or ix.vocab.category(r) is not None for r in runs):
        reading.unread.append(word.text)
        return
    reading.loose += [(r, word.pos) for r in _RUNS.findall(word.key) if r.isdigit()]
    for run in runs:
        entry = ix.phrases.get((run,))
        if entry is not None:
            _add_entry(reading, entry, word.text, how_override or _how(entry, (word,)),
                       (word.pos, word.pos))  # fmt: skip
        else:
            _vocabulary(reading, run, run, word.pos)


def _vocabulary(reading: Reading, key: str, text: str, pos: int = -1) -> bool:
    vocab = index().vocab
    category = vocab.category(key)
    if category is None and vocab.is_pattern_word(key):
        category = "frequency"
    if category is None:
        return False
    reading.other.setdefault(category, []).append(text)
    reading.loose.append((key, pos))
    return True


def _guess(reading: Reading, key: str, text: str, pos: int, how_override: How | None) -> bool:
    """A misspelling of a lexicon name, or the beginning of an ingredient's name."""
    ix = index()
    if len(key) >= 5:
        near = nearest(key)
        if near is not None:
            name, distance, others = near
            entry = ix.phrases[(name,)]
            _add_entry(reading, entry, text, how_override or "misspelling", (pos, pos),
                       (name, distance))  # fmt: skip
            if others:
                reading.lines.append(f'"{text}" is as close to: ' + ", ".join(others))
            return True
    ids = beginnings(key)
    if not ids:
        return False
    truncation = ix.vocab.truncation
    if len(ids) == 1 and len(key) >= truncation.min_letters:
        ing = ix.lex.ingredient(ids[0])
        entry = Entry(ing.name, (ing.id,), "ingredient")
        reading.lines.append(f'"{text}" read as the beginning of "{ing.name}" (a shortened name)')
        reading.sources.extend(truncation.sources)
        _add_entry(reading, entry, text, how_override or "truncation", (pos, pos))
        return True
    readings = tuple(ix.lex.ingredient(i).name for i in ids)
    short = len(key) < truncation.min_letters
    note = (
        f'"{text}" is too short to be sure it stands for {readings[0]}'
        if short and len(ids) == 1
        else f'"{text}" begins the names of {len(ids)} drugs'
    )
    _add_ambiguity(reading, text, tuple((i,) for i in ids), note, truncation.sources)
    return True


def _add_ambiguity(
    reading: Reading,
    text: str,
    readings: tuple[tuple[str, ...], ...],
    note: str | None,
    sources: tuple[str, ...],
) -> None:
    ix = index()
    names = tuple(_names(r) for r in readings)
    opioid_possible = any(ix.is_opioid(r) for r in readings)
    reading.ambiguous.append(
        Ambiguity(written=text, readings=names, opioid_possible=opioid_possible, note=note)
    )
    shown = ", ".join(names[:_READINGS_SHOWN]) + (", ..." if len(names) > _READINGS_SHOWN else "")
    reading.lines.append(f'"{text}" could mean {shown}: not read as any one of them')
    reading.sources.extend(sources)


def _add_entry(
    reading: Reading,
    entry: Entry,
    span: str,
    how: How,
    where: tuple[int, int],
    near: tuple[str, int] | None = None,
) -> None:
    ix = index()
    if entry.kind == "ambiguous":
        assert entry.abbreviation is not None
        a = entry.abbreviation
        _add_ambiguity(reading, span, a.readings, a.note, a.sources)
        return
    reading.entries.append((entry, where[1]))
    ingredients = [ix.lex.ingredient(i) for i in entry.ingredients]
    contents = " + ".join(i.name for i in ingredients)
    if near is not None:
        name, distance = near
        edits = "1 edit" if distance == 1 else f"{distance} edits"
        reading.lines.append(f'misspelling "{span}" read as "{name}" ({edits}) = {contents}')
    elif how == "rxnorm":
        reading.lines.append(f'its text "{span}" = {contents}')
    elif entry.product is not None:
        reading.lines.append(f'brand "{span}" = {contents}')
    elif entry.abbreviation is not None:
        note = f" ({entry.abbreviation.note})" if entry.abbreviation.note else ""
        reading.lines.append(f'abbreviation "{span}" = {contents}{note}')
        reading.sources.extend(entry.abbreviation.sources)
    elif how == "tall-man":
        reading.lines.append(f'tall-man spelling "{span}" = {contents}')
    elif how != "truncation" and span.lower() != ingredients[0].name:
        reading.lines.append(f'name "{span}" = {contents}')
    if how in ("misspelling", "truncation") and not ix.is_opioid(entry.ingredients):
        reading.guesses.append(Guess(written=span, reading=contents, how=how))
    if entry.product is not None:
        reading.products.append(entry.product)
        reading.sources.extend(entry.product.sources)
    for ing in ingredients:
        reading.hits.append(Hit(ing, span, how, *where, distance=near[1] if near else 0))
        reading.lines.append(classes_line(ing))
        if ing.note:
            reading.lines.append(f"{ing.name}: {ing.note.strip()}")
        reading.sources.extend(ing.sources)


def _assign_ratios(hits: list[Hit], ratios: tuple[Ratio, ...]) -> None:
    """ "Percocet 5/325", "HYCD/APAP 5-325": one number per drug just before, in their order."""
    for ratio in ratios:
        before = [h for h in hits if h.end < ratio.pos and h.strength is None]
        chosen = before[-len(ratio.values) :]
        # The drugs must be the ones written right before the numbers, one name or adjacent.
        if len(chosen) == len(ratio.values) and chosen[-1].end == ratio.pos - 1:
            for hit, value in zip(chosen, ratio.values, strict=True):
                hit.strength = Strength(value, "mg", ratio.text, ratio.pos)


def _assign_strengths(hits: list[Hit], strengths: tuple[Strength, ...]) -> None:
    """Give each strength to the ingredient it follows (in a product, in ingredient order)."""
    for strength in strengths:
        if strength.mg is None:
            continue  # a volume or a percentage: no drug amount
        before = [h for h in hits if h.pos < strength.pos and h.strength is None]
        if before:
            last = max(h.pos for h in before)
            next(h for h in before if h.pos == last).strength = strength
            continue
        after = [h for h in hits if h.strength is None]
        if after:
            after[0].strength = strength
