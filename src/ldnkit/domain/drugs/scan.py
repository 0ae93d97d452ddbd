"""Text -> tokens: the words, strengths, slash or dash strength lists and bare numbers of a name.

Units come from the vocabulary (`drug_words.yaml`), so "0.025 MG/HR", "5 MG/ACTUAT" and "1 ML"
are read as one strength each. Every token keeps its position, so the reader can tell which
drug a strength follows.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache

from ldnkit.domain.drugs.model import StrengthUnit
from ldnkit.knowledge.drug_words import Vocabulary, vocabulary

_NUMBER = r"\d+(?:[.,]\d+)?"
# "#3" and "No. 3" mean number 3 ("Tylenol #3"); the sign must not glue to the word before.
_NUMBER_SIGN = re.compile(r"#\s*(?=\d)|\bno\.\s*(?=\d)", re.IGNORECASE)
# Trademark signs: NFKC turns them into letters ("Percocet™" -> "PercocetTM"), gluing them on.
_MARKS = str.maketrans({"™": " ", "℠": " ", "®": " ", "©": " "})
_NOT_WORD = re.compile(r"[^0-9a-zµμ%]+")


@dataclass(frozen=True, slots=True)
class Word:
    """A word, or a bare number: numbers belong to names ("Tylenol #3", "DF 118", "omega 3")."""

    text: str  # as written
    key: str  # lower case
    pos: int  # position among all tokens
    number: bool = False


@dataclass(frozen=True, slots=True)
class Strength:
    """A number with a unit; `mg` is None for units that are not a drug amount (1 ML, 5%)."""

    mg: float | None
    unit: StrengthUnit | None
    text: str
    pos: int


@dataclass(frozen=True, slots=True)
class Ratio:
    """Numbers joined by slashes or dashes without units per number: "5/325", "5-325 MG"."""

    values: tuple[float, ...]
    text: str
    pos: int


@dataclass(frozen=True, slots=True)
class Scan:
    words: tuple[Word, ...]
    strengths: tuple[Strength, ...]
    ratios: tuple[Ratio, ...]
    # Lower-case words and units joined by single spaces, for phrases such as "24 hr".
    flat: str


def normal(text: str) -> str:
    """Unicode-normalised text with trademark and number signs taken out."""
    return _NUMBER_SIGN.sub(" ", unicodedata.normalize("NFKC", text.translate(_MARKS)))


def _alternatives(words: frozenset[str] | set[str]) -> str:
    return "|".join(re.escape(w) for w in sorted(words, key=lambda w: (-len(w), w)))


@cache
def _token_pattern() -> re.Pattern[str]:
    units = vocabulary().units
    per = units.per_volume | units.per_time | units.per_dose
    strength = (
        rf"(?P<value>{_NUMBER})\s*(?P<unit>{_alternatives(units.all)})(?![a-z])"
        rf"(?:\s*/\s*(?P<per_amount>{_NUMBER})?\s*(?P<per>{_alternatives(per)})(?![a-z]))?"
    )
    mass = _alternatives(set(units.mass))
    ratio = (
        rf"(?P<ratio>{_NUMBER}(?:\s*[/-]\s*{_NUMBER})+)(?![\d.])"
        rf"(?:\s*(?:{mass})(?![a-z/]))?"
    )
    word = r"(?P<word>[^\W\d_][^\W_]*|\d+[^\W\d_][^\W_]*)"
    return re.compile(
        rf"(?P<strength>{strength})|{ratio}|(?P<number>{_NUMBER})|{word}", re.IGNORECASE
    )


def _strength(match: re.Match[str], vocab: Vocabulary, pos: int) -> Strength:
    unit = match.group("unit").lower()
    text = match.group("strength")
    factor = vocab.units.mass.get(unit)
    if factor is None:
        return Strength(None, None, text, pos)
    mg = float(match.group("value").replace(",", ".")) * factor
    per = (match.group("per") or "").lower()
    result: StrengthUnit = "mg"
    if per in vocab.units.per_volume:
        mg /= float(match.group("per_amount") or 1)
        result = "mg/mL"
    elif per in vocab.units.per_time:
        hours = float(match.group("per_amount") or 1)
        digits = re.match(r"\d+", per)  # "24hr"
        if digits:
            hours *= float(digits.group())
        mg /= hours * (24 if per == "day" else 1)
        result = "mg/h"
    return Strength(round(mg, 6), result, text, pos)


def scan(text: str) -> Scan:
    """Split a medication name into its tokens."""
    vocab = vocabulary()
    words: list[Word] = []
    strengths: list[Strength] = []
    ratios: list[Ratio] = []
    normalised = normal(text)
    for pos, m in enumerate(_token_pattern().finditer(normalised)):
        if m.group("strength"):
            strengths.append(_strength(m, vocab, pos))
        elif m.group("ratio"):
            values = tuple(float(v) for v in re.split(r"\s*[/-]\s*", m.group("ratio")))
            ratios.append(Ratio(values, m.group(0).strip(), pos))
        elif m.group("word"):
            words.append(Word(m.group("word"), m.group("word").lower(), pos))
        else:
            words.append(Word(m.group("number"), m.group("number"), pos, number=True))
    flat = " ".join(_NOT_WORD.sub(" ", normalised.lower()).split())
    return Scan(tuple(words), tuple(strengths), tuple(ratios), flat)
