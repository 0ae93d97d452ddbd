"""The answer to a question: the public contract of `ldnkit ask --json` and `POST /api/v1/ask`."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Status = Literal["answered", "out_of_scope", "no_answer"]

# Longer questions are refused rather than read in part: a question read in part may be
# answered as a different question. A thousand characters hold any question in a sentence or
# two, and keep the cost of reading one bounded.
MAX_QUESTION_CHARS = 1000


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


class AnswerStatement(_Out):
    """One knowledge-base record, word for word, with the sources that say it."""

    id: str = Field(description="Record id: a statement's id, or `rule:`, `condition:`... ids")
    title: str | None = Field(
        default=None, description="What the record is about when its text does not say it"
    )
    text: str
    sources: list[str]


class ConflictPosition(_Out):
    text: str
    sources: list[str]


class AnswerConflict(_Out):
    """Sources that disagree, every side shown."""

    id: str
    title: str
    positions: list[ConflictPosition]
    note: str = Field(description="How ldnkit handles the disagreement")


class AnswerSource(_Out):
    id: str
    citation: str
    kind: str
    year: int
    doi: str | None
    pmid: str | None
    url: str | None


class Answer(_Out):
    """An answer assembled only from knowledge-base records.

    `statements` are ordered most relevant first; every source id they or the conflicts cite is
    in `sources`. `message` says, in a sentence, why a question was refused or what it asks that
    the knowledge base does not cover (null when there is nothing to say).
    """

    question: str
    status: Status
    message: str | None = None
    statements: list[AnswerStatement]
    conflicts: list[AnswerConflict]
    sources: list[AnswerSource]
    knowledge_base: str = Field(description="Version (fingerprint) of the knowledge base")
