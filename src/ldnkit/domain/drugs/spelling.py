"""Near misses and shortened names: the closest lexicon name, or every name a word begins.

A misspelling is read as the closest lexicon name within a few edits (Damerau-Levenshtein).
Look-alike non-opioid names (methylphenidate, hydroxyzine...) are in the lexicon, so a near miss
is read as the nearest real drug and never as an opioid it merely resembles; a tie between an
opioid and a non-opioid is read as the opioid, and the other reading is named.

A shortened name ("OXYCOD", "TRAM") is read as the one ingredient whose name it begins; a
beginning shared by several ingredients is ambiguous and every reading is returned.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import lru_cache

from ldnkit.domain.drugs.index import index


def distance(a: str, b: str, limit: int) -> int:
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


def _allowed_edits(n: int, brand: bool) -> int:
    """Edits tolerated between words whose shorter one has n letters: fewer for brands."""
    if brand:  # brand names are short and arbitrary: stay strict
        return 0 if n < 6 else 1 if n < 10 else 2
    return 0 if n < 5 else 1 if n < 7 else 2


def _within(word: str, names: Iterable[str], brand: Callable[[str], bool]) -> list[tuple[int, str]]:
    """(distance, name) for every name within its allowed edits of `word`."""
    found: list[tuple[int, str]] = []
    letters = set(word)
    for name in names:
        if abs(len(name) - len(word)) > 2:
            continue
        allowed = _allowed_edits(min(len(word), len(name)), brand(name))
        # One edit changes the set of letters by at most two: a cheap test that skips the
        # full distance for almost every unrelated name.
        if allowed == 0 or len(letters ^ set(name)) > 2 * allowed:
            continue
        d = distance(word, name, allowed)
        if d <= allowed:
            found.append((d, name))
    return found


@lru_cache(maxsize=8192)
def nearest(word: str) -> tuple[str, int, tuple[str, ...]] | None:
    """The closest lexicon word within its allowed edits: (name, distance, tied names)."""
    ix = index()
    names = (
        n for length in range(len(word) - 2, len(word) + 3) for n in ix.by_length.get(length, ())
    )
    found = _within(word, names, lambda n: ix.phrases[(n,)].kind == "product")
    if not found:
        return None
    best = min(d for d, _ in found)
    tied = sorted(name for d, name in found if d == best)
    # A tie between an opioid and a non-opioid is read as the opioid: an opioid must never
    # slip through; the explanation names the other reading.
    tied.sort(key=lambda n: not ix.is_opioid(ix.phrases[(n,)].ingredients))
    chosen = ix.phrases[(tied[0],)].ingredients
    others = tuple(n for n in tied[1:] if ix.phrases[(n,)].ingredients != chosen)
    return tied[0], best, others


@lru_cache(maxsize=8192)
def nearest_heads(word: str) -> tuple[tuple[str, int], ...]:
    """First words of longer names within their allowed edits of `word`, closest first."""
    ix = index()
    found = _within(word, ix.heads, lambda n: ix.heads[n])
    return tuple((name, d) for d, name in sorted(found))


@lru_cache(maxsize=8192)
def beginnings(word: str) -> tuple[str, ...]:
    """The ingredients (ids) whose single-word names `word` is the beginning of; opioids first."""
    ix = index()
    if len(word) < ix.vocab.truncation.hint_min_letters or not word.isalpha():
        return ()
    ids = {ing for name, ing in ix.truncatable if len(name) > len(word) and name.startswith(word)}
    return tuple(sorted(ids, key=lambda i: (not ix.lex.ingredient(i).is_opioid, i)))
