"""No opioid in the lexicon screens as eligible, under any of its names.

Generic names, synonyms, tall-man spellings, every brand and combination holding an opioid
(curated or from the CDC value sets), every abbreviation meaning one, and misspellings of all
of them: active, each blocks starting LDN; an abbreviation that might mean one is at least a
caution.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from ldnkit.domain.drugs.index import index
from ldnkit.domain.profile import PatientProfile
from ldnkit.domain.screening import Screening, screen
from ldnkit.knowledge.drugs import abbreviations, lexicon

AS_OF = dt.date(2026, 11, 23)
RECORDED: dict[str, Any] = {"liver": "normal", "kidney": "normal", "pregnant": False}


def screen_taking(name: str) -> Screening:
    return screen(
        PatientProfile.model_validate(
            {
                "as_of": AS_OF.isoformat(),
                **RECORDED,
                "medications": [{"name": name, "status": "active"}],
            }
        )
    )


def _opioid_names() -> list[str]:
    ix = index()
    lex = lexicon()
    names: list[str] = []
    for ing in lex.ingredients:
        if ing.is_opioid:
            names += [ing.name, *ing.synonyms, *ing.tall_man]
    for product in lex.products:
        if ix.is_opioid(product.ingredients):
            names += [product.name, *product.aliases]
    names += [a.written for a in abbreviations() if a.means and ix.is_opioid(a.means)]
    # Brands the CDC value sets added (the index holds them as products).
    names += [
        e.name for e in ix.phrases.values() if e.kind == "product" and ix.is_opioid(e.ingredients)
    ]
    return sorted(set(names))


OPIOID_NAMES = _opioid_names()


def test_there_are_opioid_names_to_check() -> None:
    assert len(OPIOID_NAMES) > 300


def test_every_opioid_name_in_the_lexicon_blocks_starting_ldn() -> None:
    not_blocked = {
        name: screen_taking(name).verdict
        for name in OPIOID_NAMES
        if screen_taking(name).verdict != "contraindicated"
    }
    assert not_blocked == {}


def test_every_abbreviation_that_might_mean_an_opioid_is_at_least_a_caution() -> None:
    ix = index()
    maybe = [
        a.written
        for a in abbreviations()
        if a.readings and any(ix.is_opioid(r) for r in a.readings)
    ]
    assert maybe
    assert {
        w: screen_taking(w).verdict for w in maybe if screen_taking(w).verdict == "eligible"
    } == {}


def _misspelt(name: str, where: int, how: str, letter: str) -> str | None:
    """One slip of a letter in a word of five letters or more; None if the name has none.

    Digits and signs stay ("Tylenol #" is another product's name), and short abbreviations
    are exact tokens, not words one misspells ("up/nx" is not a slip of "bup/nx").
    """
    letters = [m.start() + k for m in re.finditer(r"[^\W\d_]{5,}", name) for k in range(len(m[0]))]
    if not letters:
        return None
    i = letters[where % len(letters)]
    if how == "delete":
        return name[:i] + name[i + 1 :]
    if how == "insert":
        return name[:i] + letter + name[i:]
    if how == "swap" and i + 1 < len(name):
        return name[:i] + name[i + 1] + name[i] + name[i + 2 :]
    return name[:i] + letter + name[i + 1 :]


@settings(max_examples=400, deadline=None)
@given(
    name=st.sampled_from(OPIOID_NAMES),
    where=st.integers(min_value=0, max_value=40),
    how=st.sampled_from(["delete", "insert", "swap", "replace"]),
    letter=st.sampled_from("abcdefghijklmnopqrstuvwxyz"),
)
def test_a_misspelt_opioid_name_is_never_eligible(
    name: str, where: int, how: str, letter: str
) -> None:
    written = _misspelt(name, where, how, letter)
    if written is not None:
        assert screen_taking(written).verdict != "eligible", written
