"""What a call's request held that the service read past, written down as one log line.

The CDS Hooks spec lets hooks gain optional context fields without a new version, reserves
`extension` for additions, and real EHRs send more than the spec names (the CDC's published
requests carry their prefetch again as top-level `item2`, `item3`...). So a member the service
does not know is ignored, not refused, and a resource that misses an element FHIR requires is
read for what it holds. Nothing is dropped silently, though: every call gathers what it ignored
and what it read past here, and `log` writes it as one line an integrator can search, bounded
so that a request with ten thousand odd members still gives one short line.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from ldnkit.validation import printable

MAX_NAMED = 12  # per kind in the log line; the rest are counted
MAX_NAME = 120  # characters of one member path or problem


def _bounded(text: str) -> str:
    # Names come from the request: kept printable and on one line, so they cannot forge lines.
    flat = " ".join(printable(text).split())
    return flat if len(flat) <= MAX_NAME else flat[: MAX_NAME - 1] + "…"


@dataclass
class _Kind:
    named: list[str] = field(default_factory=list)
    count: int = 0

    def add(self, text: str) -> None:
        self.count += 1
        if len(self.named) < MAX_NAMED:
            self.named.append(_bounded(text))

    def words(self) -> str:
        more = self.count - len(self.named)
        return ", ".join(self.named) + (f" (and {more} more)" if more else "")


@dataclass
class Tolerated:
    """Members ignored and problems read past in one call."""

    ignored: _Kind = field(default_factory=_Kind)
    problems: _Kind = field(default_factory=_Kind)

    def member(self, path: str) -> None:
        """A member the service does not read (unknown to the spec, or unusable and not needed)."""
        self.ignored.add(path)

    def unknown(self, where: str, data: dict[str, object], known: frozenset[str]) -> None:
        """Every member of `data` not in `known`, as `where.member`."""
        for key in data:
            if key not in known:
                self.member(f"{where}.{key}" if where else str(key))

    def problem(self, text: str) -> None:
        """Something wrong in data the service used anyway (a FHIR element, a missing field)."""
        self.problems.add(text)

    def __bool__(self) -> bool:
        return bool(self.ignored.count or self.problems.count)

    def log(self, logger: logging.Logger, service: str, hook_instance: str | None) -> None:
        """One line for the call: INFO when only unknown members, WARNING when data had problems."""
        if not self:
            return
        parts = []
        if self.ignored.count:
            parts.append(f"ignored {self.ignored.count} member(s): {self.ignored.words()}")
        if self.problems.count:
            parts.append(f"read past {self.problems.count} problem(s): {self.problems.words()}")
        level = logging.WARNING if self.problems.count else logging.INFO
        call = _bounded(hook_instance) if hook_instance else "without hookInstance"
        logger.log(level, "CDS Hooks call %s to %s: %s", call, service, "; ".join(parts))
