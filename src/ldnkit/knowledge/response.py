"""Typed access to `response.yaml`: what the response assessment says, and its sources."""

from __future__ import annotations

from functools import cache
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from ldnkit.knowledge.files import read_data
from ldnkit.knowledge.limits import render


class _Data(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CitedText(_Data):
    """A sentence with a clinical claim, and the sources that make it."""

    text: str
    sources: Annotated[tuple[str, ...], Field(min_length=1)]

    def render(self, **values: object) -> str:
        """The sentence with its placeholders filled (the values given, then limits.yaml)."""
        return " ".join(render(self.text, **values).split())


class Reasons(_Data):
    too_early: CitedText
    responding: CitedText
    partial: CitedText
    not_responding: CitedText
    other_measure_improved: CitedText
    pain: CitedText
    immpact_bands: CitedText
    morning_dose: CitedText


class Wording(_Data):
    """Sentences without a clinical claim of their own."""

    too_few: str
    low_adherence: str
    severe_side_effect: str
    missing_baseline: str
    missing_latest: str


class PatientTexts(_Data):
    """What the patient's progress page says, by the assessment's recommendation and status."""

    too_early: CitedText
    responding: CitedText
    partial: CitedText
    not_responding: CitedText
    too_few: str
    latest_needed: str
    baseline_needed: str

    def cited(self) -> tuple[CitedText, ...]:
        return (self.too_early, self.responding, self.partial, self.not_responding)


class ResponseTexts(_Data):
    """Everything in response.yaml."""

    reasons: Reasons
    wording: Wording
    patient: PatientTexts

    def cited_source_ids(self) -> frozenset[str]:
        texts = (*vars(self.reasons).values(), *self.patient.cited())
        return frozenset(s for text in texts for s in text.sources)


def say(template: str, /, **values: object) -> str:
    """A wording template filled in, on one line."""
    return " ".join(render(template, **values).split())


@cache
def response_texts() -> ResponseTexts:
    """The response assessment's texts, validated once per process."""
    return ResponseTexts.model_validate(read_data("response.yaml"))
