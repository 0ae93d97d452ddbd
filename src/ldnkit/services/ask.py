"""Answering a question: the one use case behind `ldnkit ask`, `POST /api/v1/ask` and the page.

The corpus and its index are built once per knowledge-base version and kept for the process.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from ldnkit.ask.index import AskIndex
from ldnkit.domain.ask.assemble import answer
from ldnkit.domain.ask.corpus import Corpus, build_corpus
from ldnkit.domain.ask.model import Answer
from ldnkit.knowledge import knowledge_base


@dataclass(frozen=True)
class Engine:
    """The corpus of one knowledge-base version and its search index."""

    corpus: Corpus
    index: AskIndex


@cache
def _engine(version: str) -> Engine:
    corpus = build_corpus(knowledge_base())
    return Engine(corpus, AskIndex(corpus.records))


def engine() -> Engine:
    """The engine for the knowledge base as loaded now (built on first use)."""
    return _engine(knowledge_base().version)


def ask(question: str) -> Answer:
    """Answer a question from the knowledge base; InputError for an empty question."""
    current = engine()
    return answer(question, current.corpus, current.index)
