"""Words of a question: tokens, the words that carry no subject, and spelling tolerance.

Tokens are split the way SQLite's unicode61 tokenizer splits them (letters and digits, case
folded), so a word found here is a word the index can find. Numbers keep their decimal point
("4.5") and become a phrase of their parts, as the index stores them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

# Decimal numbers whole ("4.5"), then runs of letters and digits as SQLite's unicode61 tokenizer
# cuts them ("cyp3a4" stays one token).
_TOKEN = re.compile(r"\d+(?:[.,]\d+)+|[^\W_]+", re.UNICODE)
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_GLUED_UNIT = re.compile(r"(\d)(mg|mcg|µg|ug|ml|g|kg)\b", re.IGNORECASE)

# Words that say what kind of question it is, not what it is about. "safe", "work", "help":
# the subject of "is it safe in pregnancy" is pregnancy; "does LDN work for fibromyalgia" is
# about fibromyalgia.
STOPWORDS = frozenset(
    # A word list reads (and diffs) better as text than as 330 quoted strings.
    """
    a about above according across actually after afterwards again against ago ain all almost
    alone along already also although always am among an and another any anybody anyone
    anything anyway anywhere are aren around as ask asked asking at away be became because
    become been before being below beside besides best better between beyond both but by can
    cannot cant could couldn d dare did didn do does doesn doing don done down during each
    either else enough especially etc even ever every everyone everything exactly far few fine
    for from further get gets getting give given go goes going gone good got gotten had hadn
    happen happened happens has hasn have haven having he hello help helps helpful her here
    hers herself hey hi him himself his how however i id ie if ill im in indeed instead into
    is isn it its itself ive just keep kind know known last least less let lets like likely
    ll lot lots m made make makes many may maybe me mean meant might mine more most mostly
    much must my myself need needed needs neither never nevertheless new next no nobody none
    nor not nothing now o of often oh ok okay on one ones only onto or other others otherwise
    our ours ourselves out over own particular people person perhaps please plus possible
    pretty probably put quite rather re really regarding right s said same say says see seem
    seems seen shall she should shouldn since so some somebody someone something sometimes
    somewhat soon still such sure t take takes taking tell than thank thanks that thats the
    their theirs them themselves then there these they thing things think this those though
    through thus to together too took toward towards try trying u under unless until up upon
    us use used uses using usually ve very via want wanted wants was wasn way we well went
    were weren what whatever whats when whenever where whether which while who whoever whole
    whom whose why will with within without won would wouldn y yes yet you youd your yours
    yourself yourselves safe safely ok alright allowed work works worked working effective
    benefit benefits use treat treating treatment option options doctor doctors dr physician
    prescriber clinician pharmacist patient patients someone anyone thing start started
    starting begin alongside cause causes caused causing affect affects affected reduce
    reduces lower lowers raise raises increase increases improve improves change changes
    worsen worse watch long come comes count counts switch switching switched normal bad
    wrong problem problems issue issues question questions quick wondering wonder curious
    worried worry concerned scared afraid heard read told friend husband wife mom dad partner
    family guys stuff basically literally totally tonight tomorrow yesterday today anybody vs
    versus
    """.split()  # noqa: SIM905
)

# Words that name LDN itself: they anchor a question in ldnkit's domain but are no subject.
LDN_WORDS = frozenset({"ldn", "naltrexone", "naltrexon"})


@dataclass(frozen=True, slots=True)
class Token:
    """One token: its text as written, case folded, and where it stands."""

    written: str
    word: str
    position: int

    @property
    def is_number(self) -> bool:
        return _NUMBER.fullmatch(self.word) is not None


def tokens(text: str) -> list[Token]:
    """The question's tokens; "4.5mg" reads as "4.5" and "mg"."""
    spaced = _GLUED_UNIT.sub(r"\1 \2", text)
    return [
        Token(m.group(0), m.group(0).casefold(), i) for i, m in enumerate(_TOKEN.finditer(spaced))
    ]


def words(text: str) -> list[str]:
    """Case-folded words of a text, numbers split at their point as the index splits them."""
    return [part for t in tokens(text) for part in re.split(r"[.,]", t.word) if part]


def _deletions(word: str, depth: int) -> set[str]:
    found = {word}
    frontier = {word}
    for _ in range(depth):
        frontier = {w[:i] + w[i + 1 :] for w in frontier for i in range(len(w))}
        found |= frontier
    return found


@dataclass
class Speller:
    """Spelling tolerance over the knowledge base's own words.

    Symmetric deletion: a misspelt word and a known word that share a form with one letter
    taken out (two for words of eight letters or more) are at most one or two edits apart;
    this finds "fibromyalga", "pregant", "alchohol" and "diarrhea" for "diarrhoea" without
    comparing against every word. Short words are left alone: at four letters and under, one
    edit changes a word into another.
    """

    counts: Mapping[str, int]  # how many records use each word: the tie-break
    _by_deletion: dict[str, set[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for word in self.counts:
            if len(word) < 4 or not word.isalpha():
                continue
            for variant in _deletions(word, 2 if len(word) >= 8 else 1):
                self._by_deletion.setdefault(variant, set()).add(word)

    def correct(self, word: str) -> str | None:
        """The known word nearest to an unknown one, or None when none is near enough."""
        if len(word) < 5 or not word.isalpha() or word in self.counts:
            return None
        depth = 2 if len(word) >= 8 else 1
        candidates: set[str] = set()
        for variant in _deletions(word, depth):
            candidates |= self._by_deletion.get(variant, set())
        # Short words keep their first letter: "weight" must not become "eight".
        if len(word) < 8:
            candidates = {c for c in candidates if c[0] == word[0]}
        if not candidates:
            return None
        return min(
            candidates,
            key=lambda c: (abs(len(c) - len(word)), c[0] != word[0], -self.counts[c], c),
        )

    def completions(self, prefix: str, limit: int = 6) -> list[str]:
        """Known words that start with a beginning ("fibro"), when there are only a few."""
        if len(prefix) < 4 or not prefix.isalpha():
            return []
        found = sorted(w for w in self.counts if w.startswith(prefix) and w != prefix)
        return found if 0 < len(found) <= limit else []


def count_words(texts: Iterable[str]) -> dict[str, int]:
    """How many of the texts use each word (each text counted once per word)."""
    counts: dict[str, int] = {}
    for text in texts:
        for word in set(words(text)):
            counts[word] = counts.get(word, 0) + 1
    return counts
