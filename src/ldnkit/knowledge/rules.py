"""Typed access to the safety-screen rule texts in `rules.yaml`.

A rule text may include shared paragraphs (`fragments`): records of the same file marked
`fragment: true`, written once and cited once, that several rules render in their message
under the fragment's id ("perioperative" -> {perioperative}).
"""

from __future__ import annotations

from functools import cache
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, model_validator

from ldnkit.knowledge.files import read_data
from ldnkit.knowledge.limits import render

Severity = Literal["info", "caution", "wait", "contraindicated"]


class RuleText(BaseModel):
    """What a clinician reads for one rule, and the sources behind it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    severity: Severity | None = None  # None only for a fragment
    fragment: bool = False
    fragments: tuple[str, ...] = ()
    title: str
    message: str
    sources: tuple[str, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _rule_or_fragment(self) -> RuleText:
        if self.fragment == (self.severity is not None):
            raise ValueError(f"{self.id}: a rule has a severity, a fragment has none")
        return self

    def render(self, **values: object) -> str:
        """The message with its placeholders filled in: the values given, then the clinical
        numbers of limits.yaml ({washout_short_days}, {hold_days}...)."""
        return render(self.message, **values)


@cache
def rule_texts() -> dict[str, RuleText]:
    """All rule texts and fragments by id, validated once per process."""
    rules = TypeAdapter(list[RuleText]).validate_python(read_data("rules.yaml"))
    by_id = {rule.id: rule for rule in rules}
    for rule in rules:
        for fragment in rule.fragments:
            if fragment not in by_id or not by_id[fragment].fragment:
                raise ValueError(f"rules.yaml: {rule.id} includes unknown fragment {fragment!r}")
    return by_id
