"""What the answerer knows, prepared once per knowledge-base version, and the search it needs.

The corpus is pure data built from the knowledge base: the records, their words (for spelling
tolerance), the lay words, the subjects answered from the rules, and the names of conditions.
The search itself (BM25 over the records) is an adapter passed in: `ldnkit.ask.index` does it
with SQLite FTS5.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from ldnkit.domain.ask.records import Record, build_records
from ldnkit.domain.ask.words import Speller, count_words, words
from ldnkit.knowledge import Condition, KnowledgeBase
from ldnkit.knowledge.ask import LayTerm, Subject, lay_terms, subjects
from ldnkit.knowledge.base import normalise_name


@dataclass(frozen=True, slots=True)
class Term:
    """What the index is asked for: a word, a phrase of words, or a word's beginning."""

    words: tuple[str, ...]
    prefix: bool = False


@dataclass(frozen=True, slots=True)
class SearchResult:
    """Records by BM25 (best first) and, for each group of terms, the records it matches."""

    ranked: tuple[tuple[str, float], ...]
    matches: tuple[frozenset[str], ...]
    size: int


class Search(Protocol):
    """BM25 over the records for any of the groups; each group is a list of alternatives."""

    def __call__(self, groups: Sequence[Sequence[Term]], limit: int) -> SearchResult: ...


@dataclass(frozen=True)
class LayPhrase:
    """A lay phrase as words, and the knowledge base's phrases it stands for."""

    says: tuple[str, ...]
    means: tuple[tuple[str, ...], ...]
    term: LayTerm


@dataclass
class Corpus:
    """Everything the answerer reads besides the question, for one knowledge-base version."""

    kb: KnowledgeBase
    records: tuple[Record, ...]
    speller: Speller
    lay: Mapping[tuple[str, ...], LayPhrase]
    lay_longest: int
    subjects: Mapping[str, Subject]
    # Subject words as word tuples -> subject ids.
    subject_words: Mapping[tuple[str, ...], tuple[str, ...]]
    # Condition names and synonyms, normalised -> condition.
    condition_names: Mapping[str, Condition]
    # Words the answerer knows: record words, lay words, subject words.
    known: frozenset[str]
    by_id: dict[str, Record] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.by_id = {r.id: r for r in self.records}

    def record(self, record_id: str) -> Record:
        return self.by_id[record_id]


def build_corpus(kb: KnowledgeBase) -> Corpus:
    """The corpus of a knowledge base; every record id a subject names must resolve."""
    records = build_records(kb)
    counts = count_words(" ".join((r.title or "", r.text, r.keywords)) for r in records)
    lay: dict[tuple[str, ...], LayPhrase] = {}
    for term in lay_terms():
        means = tuple(tuple(words(m)) for m in term.means)
        for said in term.says:
            lay[tuple(words(said))] = LayPhrase(tuple(words(said)), means, term)
    subject_words: dict[tuple[str, ...], tuple[str, ...]] = {}
    for subject in subjects():
        for word in subject.words:
            key = tuple(words(word))
            subject_words[key] = (*subject_words.get(key, ()), subject.id)
    ids = {r.id for r in records}
    missing = [
        f"{s.id}: {r}" for s in subjects() for r in (*s.records, *s.conflicts) if r not in ids
    ]
    if missing:
        raise ValueError("ask.yaml names records that do not exist: " + ", ".join(missing))
    names: dict[str, Condition] = {}
    for condition in kb.conditions:
        for name in (condition.name, *condition.synonyms):
            names[normalise_name(name)] = condition
    known = set(counts)
    known.update(w for phrase in lay for w in phrase)
    known.update(w for phrase in subject_words for w in phrase)
    return Corpus(
        kb=kb,
        records=records,
        speller=Speller(counts),
        lay=lay,
        lay_longest=max(len(k) for k in lay),
        subjects={s.id: s for s in subjects()},
        subject_words=subject_words,
        condition_names=names,
        known=frozenset(known),
    )
