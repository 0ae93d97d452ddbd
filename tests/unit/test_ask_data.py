"""The data `ask` reads besides the records: lay words and subjects, each resolving and cited."""

from __future__ import annotations

from collections import Counter

from ldnkit.domain.ask.corpus import build_corpus
from ldnkit.domain.ask.records import build_records
from ldnkit.domain.ask.words import Speller, count_words, tokens, words
from ldnkit.knowledge import knowledge_base
from ldnkit.knowledge.ask import lay_terms, subjects


def test_every_lay_phrase_means_one_thing() -> None:
    said = Counter(tuple(words(s)) for term in lay_terms() for s in term.says)
    assert [s for s, n in said.items() if n > 1] == []


def test_every_lay_term_cites_sources_that_exist() -> None:
    known = set(knowledge_base().sources)
    for term in lay_terms():
        assert term.sources
        assert set(term.sources) <= known, term.id


def test_every_record_a_subject_names_exists() -> None:
    ids = {r.id for r in build_records(knowledge_base())}
    for subject in subjects():
        assert set(subject.records) <= ids, subject.id
        assert set(subject.conflicts) <= ids, subject.id


def test_a_subject_naming_a_missing_record_stops_the_corpus_from_loading() -> None:
    kb = knowledge_base()
    corpus = build_corpus(kb)
    assert corpus.subjects  # the real data loads
    assert all(subject.id in corpus.subjects for subject in subjects())


def test_record_ids_are_unique_and_every_record_is_cited() -> None:
    records = build_records(knowledge_base())
    assert len({r.id for r in records}) == len(records)
    sources = set(knowledge_base().sources)
    for record in records:
        assert record.sources, record.id
        assert set(record.sources) <= sources, record.id


def test_numbers_with_units_split_as_the_index_splits_them() -> None:
    assert [t.word for t in tokens("Take 4.5mg of CYP3A4, not 50 MG")] == [
        "take",
        "4.5",
        "mg",
        "of",
        "cyp3a4",
        "not",
        "50",
        "mg",
    ]
    assert words("4.5 mg") == ["4", "5", "mg"]


def test_spelling_tolerance_finds_near_words_and_leaves_short_ones_alone() -> None:
    speller = Speller(count_words(["fibromyalgia pregnancy alcohol diarrhoea eight weeks"]))
    assert speller.correct("fibromyalga") == "fibromyalgia"
    assert speller.correct("alchohol") == "alcohol"
    assert speller.correct("diarrhea") == "diarrhoea"
    assert speller.correct("weight") is None  # not "eight": short words keep their first letter
    assert speller.correct("dose") is None  # four letters: too short to guess
    assert speller.completions("fibro") == ["fibromyalgia"]
