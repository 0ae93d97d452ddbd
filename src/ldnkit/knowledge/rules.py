"""Typed access to the safety-screen rule texts in `rules.yaml`."""

from __future__ import annotations

from functools import cache
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from ldnkit.knowledge.files import read_data

Severity = Literal["info", "caution", "wait", "contraindicated"]


class RuleText(BaseModel):
    """What a clinician reads for one rule, and the sources behind it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    severity: Severity
    title: str
    message: str
    sources: tuple[str, ...] = Field(min_length=1)

    def render(self, **values: object) -> str:
        """The message with its placeholders filled in."""
        return self.message.format_map(values)


@cache
def rule_texts() -> dict[str, RuleText]:
    """All rule texts by id, validated once per process."""
    rules = TypeAdapter(list[RuleText]).validate_python(read_data("rules.yaml"))
    return {rule.id: rule for rule in rules}
