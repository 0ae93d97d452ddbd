"""The search behind `ask`: SQLite FTS5 (BM25) over every citable record, in memory.

Built once per knowledge-base version from the domain's records (a few hundred; building takes
milliseconds), so nothing is written to disk and a changed knowledge base can never be searched
through a stale index. The Porter stemmer lets "dreams" find "dream" and "breastfeeding" find
"breastfeed". One connection is shared by every thread, behind a lock: a search takes well under
a millisecond, less than opening a connection would.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Sequence

from ldnkit.domain.ask.corpus import SearchResult, Term
from ldnkit.domain.ask.records import Record

# BM25 weights of the columns: a record's title, its text, and its searched-only keywords.
WEIGHTS = (2.0, 1.0, 1.0)


class IndexUnavailable(RuntimeError):
    """This Python's SQLite was built without FTS5."""


def _quote(word: str) -> str:
    return '"' + word.replace('"', '""') + '"'


def _term(term: Term) -> str:
    phrase = _quote(" ".join(term.words))
    return phrase + "*" if term.prefix else phrase


def expression(group: Sequence[Term]) -> str:
    """An FTS5 query matching any of a group's terms."""
    return "(" + " OR ".join(_term(t) for t in group) + ")"


class AskIndex:
    """BM25 search over the records; see `ldnkit.domain.ask.corpus.Search`."""

    def __init__(self, records: Sequence[Record]) -> None:
        self._ids = [r.id for r in records]
        self._db = sqlite3.connect(":memory:", check_same_thread=False)
        self._lock = threading.Lock()
        try:
            self._db.execute(
                "CREATE VIRTUAL TABLE records USING fts5(title, body, keywords, "
                "tokenize = 'porter unicode61 remove_diacritics 2')"
            )
        except sqlite3.OperationalError as exc:
            raise IndexUnavailable(f"SQLite FTS5 is not available: {exc}") from exc
        self._db.executemany(
            "INSERT INTO records (rowid, title, body, keywords) VALUES (?, ?, ?, ?)",
            [(n, r.title or "", r.text, r.keywords) for n, r in enumerate(records)],
        )
        self._db.commit()

    @property
    def size(self) -> int:
        return len(self._ids)

    def __call__(self, groups: Sequence[Sequence[Term]], limit: int) -> SearchResult:
        """Records matching any group, best BM25 first, and each group's matching records."""
        if not groups:
            return SearchResult((), (), self.size)
        weights = ", ".join(str(w) for w in WEIGHTS)
        with self._lock:
            ranked = self._db.execute(
                f"SELECT rowid, bm25(records, {weights}) AS score FROM records "  # noqa: S608 (weights are constants)
                "WHERE records MATCH ? ORDER BY score, rowid LIMIT ?",
                (" OR ".join(expression(g) for g in groups), limit),
            ).fetchall()
            matches = [
                frozenset(
                    self._ids[row[0]]
                    for row in self._db.execute(
                        "SELECT rowid FROM records WHERE records MATCH ?", (expression(g),)
                    )
                )
                for g in groups
            ]
        # FTS5's bm25() is lower for better matches; the answerer wants higher = better.
        return SearchResult(
            ranked=tuple((self._ids[rowid], -score) for rowid, score in ranked),
            matches=tuple(matches),
            size=self.size,
        )

    def close(self) -> None:
        with self._lock:
            self._db.close()
