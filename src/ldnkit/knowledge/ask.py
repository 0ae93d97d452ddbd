"""Typed access to what the question answerer reads besides the records: lay words and subjects.

`lay_terms.yaml` maps the words people use ("weird dreams", "pain meds") to the words the
knowledge base uses, each mapping cited to a source that uses the lay word for the same thing.
`ask.yaml` names the subjects ldnkit answers from its safety rules and protocols rather than
from word overlap (opioids, surgery, pregnancy, the dose...): the words that name each subject
and the records that answer it, most important first. It also holds what the answerer says when
it does not answer, and the Ask page's words for the patient and for the clinician.
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


class Refusals(_Data):
    """What an answer's `message` says when ldnkit does not answer all of a question."""

    no_answer: str  # {subject}: what the question asked about, quoted
    partly: str  # {missing}: the part no record covers
    out_of_scope: str
    not_english: str
    too_long: str  # {length}, {limit}: characters


class PageWords(_Data):
    """The Ask page's own words for one reader (the answer's records are the same for both)."""

    heading: str
    intro: str
    label: str
    example: str  # a question to show in the empty box and in the hint
    empty: str  # {example}
    answer_heading: str = ""
    next_step: str
    next_step_why: str = ""


class PagesWords(_Data):
    patient: PageWords
    clinician: PageWords


class AskData(_Data):
    subjects: tuple[Subject, ...]
    refusals: Refusals
    page: PagesWords


@cache
def _ask_data() -> AskData:
    return AskData.model_validate(read_data("ask.yaml"))


@cache
def lay_terms() -> tuple[LayTerm, ...]:
    """Every lay-term mapping, validated once per process."""
    return TypeAdapter(tuple[LayTerm, ...]).validate_python(read_data("lay_terms.yaml"))


def subjects() -> tuple[Subject, ...]:
    """Every subject answered from the rules, validated once per process."""
    return _ask_data().subjects


def refusals() -> Refusals:
    """What the answerer says when it does not answer (all) of a question."""
    return _ask_data().refusals


def page_words(for_patient: bool) -> PageWords:
    """The Ask page's words for a patient, or for a clinician."""
    pages = _ask_data().page
    return pages.patient if for_patient else pages.clinician
