"""Numbering the sources a page or report cites, in the order it first cites them."""

from __future__ import annotations

from collections.abc import Iterable

from ldnkit.knowledge.base import KnowledgeBase
from ldnkit.knowledge.models import Source


class Citations:
    """Numbers sources in the order a page first cites them: [1], [2], ..."""

    def __init__(self, kb: KnowledgeBase) -> None:
        self._kb = kb
        self._numbers: dict[str, int] = {}

    def numbers(self, source_ids: Iterable[str]) -> list[int]:
        return [self._numbers.setdefault(s, len(self._numbers) + 1) for s in source_ids]

    def mark(self, source_ids: Iterable[str]) -> str:
        return "".join(f"[{n}]" for n in self.numbers(source_ids))

    def references(self) -> list[tuple[int, Source]]:
        return [(n, self._kb.source(s)) for s, n in self._numbers.items()]
