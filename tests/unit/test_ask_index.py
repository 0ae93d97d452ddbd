"""The FTS5 index behind `ask`: BM25 order, what each group matches, stemming, safe quoting."""

from __future__ import annotations

from ldnkit.ask.index import AskIndex, expression
from ldnkit.domain.ask.corpus import Term
from ldnkit.domain.ask.records import Record


def record(record_id: str, text: str, title: str | None = None, keywords: str = "") -> Record:
    return Record(
        id=record_id,
        kind="statement",
        title=title,
        text=text,
        sources=("seed-000",),
        keywords=keywords,
    )


RECORDS = [
    record("dreams", "Vivid dreams are the most common side effect in the first week."),
    record("sleep", "Sleep disturbance mostly occurs in the first week."),
    record("opioids", "LDN must not be combined with opioid painkillers."),
    record("fibro", "Two small trials found less pain.", title="Fibromyalgia"),
    record("coded", "A summary.", keywords="M79.7 primary fibromyalgia syndrome"),
]


def test_records_are_ranked_by_bm25_and_each_group_reports_its_matches() -> None:
    index = AskIndex(RECORDS)
    result = index([[Term(("dreams",))], [Term(("first", "week"))]], limit=10)
    assert result.ranked[0][0] == "dreams"  # matches both groups
    assert {rid for rid, _ in result.ranked} == {"dreams", "sleep"}
    assert result.matches == (frozenset({"dreams"}), frozenset({"dreams", "sleep"}))
    assert result.size == len(RECORDS)
    scores = [score for _, score in result.ranked]
    assert scores == sorted(scores, reverse=True)


def test_the_porter_stemmer_finds_other_forms_of_a_word() -> None:
    result = AskIndex(RECORDS)([[Term(("dream",))], [Term(("opioids",))]], limit=10)
    assert result.matches == (frozenset({"dreams"}), frozenset({"opioids"}))


def test_phrases_prefixes_titles_and_keywords_are_searched() -> None:
    index = AskIndex(RECORDS)
    result = index(
        [[Term(("fibro",), prefix=True)], [Term(("first", "week"))], [Term(("week", "first"))]],
        limit=10,
    )
    assert result.matches[0] == frozenset({"fibro", "coded"})
    assert result.matches[1] == frozenset({"dreams", "sleep"})
    assert result.matches[2] == frozenset()  # a phrase keeps its word order


def test_words_that_are_fts5_syntax_are_searched_as_words() -> None:
    index = AskIndex(RECORDS)
    odd = [[Term(("not",))], [Term(('"near',))], [Term(("or", "and"))], [Term(("*",))]]
    result = index(odd, limit=10)
    assert result.matches[0] == frozenset({"opioids"})  # "not" is a word here, not NOT
    assert expression([Term(('say "no"',))]) == '("say ""no""")'


def test_no_groups_is_no_result() -> None:
    result = AskIndex(RECORDS)([], limit=10)
    assert result.ranked == ()
    assert result.matches == ()
