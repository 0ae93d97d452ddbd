"""Numbered references for a printed page: sources marked [1] in the text, listed once below.

A page that must fit one sheet cannot repeat a full citation under every sentence; each source
is cited by its number instead, numbered in the order it is first cited.
"""

from __future__ import annotations

from collections.abc import Iterable

from ldnkit.knowledge import knowledge_base


class Citations:
    """The sources a page cites, numbered as they are first marked."""

    def __init__(self) -> None:
        self._numbers: dict[str, int] = {}

    def mark(self, ids: Iterable[str]) -> str:
        """ "[1][2]" for these source ids, numbering any not cited before."""
        marks = []
        for source_id in ids:
            number = self._numbers.setdefault(source_id, len(self._numbers) + 1)
            marks.append(f"[{number}]")
        return "".join(marks)

    def listed(self) -> list[tuple[int, str]]:
        """(number, citation) of every source marked, in number order."""
        sources = knowledge_base().sources
        return [(n, sources[s].citation if s in sources else s) for s, n in self._numbers.items()]
