"""Typed access to what the question answerer reads besides the records: lay words and subjects.

`lay_terms.yaml` maps the words people use ("weird dreams", "pain meds") to the words the
knowledge base uses, each mapping cited to a source that uses the lay word for the same thing.
`ask.yaml` names the subjects ldnkit answers from its safety rules and protocols rather than
from word overlap (opioids, surgery, pregnancy, the dose...): the words that name each subject
and the records that answer it, most important first.
"""

from __future__ import annotations

from functools import cache
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, TypeAdapter

from ldnkit.knowledge.files import read_data

Phrase = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, to_lower=True)]
Phrases = Annotated[tuple[Phrase, ...], Field(min_length=1)]


class _Data(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LayTerm(_Data):
    """Lay words (`says`) and the knowledge base's words for the same thing (`means`)."""

    id: str
    says: Phrases
    means: Phrases
    sources: Annotated[tuple[str, ...], Field(min_length=1)]


class Subject(_Data):
    """A subject answered from the rules: the words naming it and the records answering it.

    `safety` subjects are answered first whatever else the question asks: a question that names
    an opioid or a pregnancy must see the rule before anything else.
    """

    id: str
    label: str  # how an answer names the subject ("surgery or a procedure")
    safety: bool = False
    words: tuple[Phrase, ...] = ()
    records: Annotated[tuple[str, ...], Field(min_length=1)]
    conflicts: tuple[str, ...] = ()


class AskData(_Data):
    subjects: tuple[Subject, ...]


@cache
def lay_terms() -> tuple[LayTerm, ...]:
    """Every lay-term mapping, validated once per process."""
    return TypeAdapter(tuple[LayTerm, ...]).validate_python(read_data("lay_terms.yaml"))


@cache
def subjects() -> tuple[Subject, ...]:
    """Every subject answered from the rules, validated once per process."""
    return AskData.model_validate(read_data("ask.yaml")).subjects
