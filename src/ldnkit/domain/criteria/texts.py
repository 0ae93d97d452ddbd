"""The criteria data (`knowledge/data/criteria.yaml`) as typed, validated models.

Criterion texts, pain areas, bands and thresholds are clinical content, so they live in the
knowledge data with their sources; the calculators only apply them.
"""

from __future__ import annotations

from functools import cache
from typing import Literal

from pydantic import BaseModel, ConfigDict

from ldnkit.knowledge.files import read_data

RegionId = Literal["left_upper", "right_upper", "left_lower", "right_lower", "axial"]
FiqrDomainId = Literal["function", "overall", "symptoms"]


class _Data(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PainArea(_Data):
    """One of the 19 Widespread Pain Index areas and the 2016 region it belongs to."""

    id: str
    label: str
    region: RegionId


class PainAreas(_Data):
    sources: tuple[str, ...]
    areas: tuple[PainArea, ...]


class Region(_Data):
    """A 2016 body region; pain only in `uncounted` areas does not make it count."""

    id: RegionId
    label: str
    uncounted: tuple[str, ...]


class Regions(_Data):
    sources: tuple[str, ...]
    items: tuple[Region, ...]


class Band(_Data):
    name: str
    low: int
    high: int


class PsdBands(_Data):
    sources: tuple[str, ...]
    bands: tuple[Band, ...]


class Arm(_Data):
    """One way to satisfy pain and severity: WPI within [wpi_low, wpi_high] and SS >= sss_min."""

    wpi_low: int
    wpi_high: int
    sss_min: int


class FibromyalgiaSet(_Data):
    """One published fibromyalgia criteria set: its arms, duration and exclusion rule."""

    title: str
    sources: tuple[str, ...]
    scale: str
    arms: tuple[Arm, ...]
    duration_months_min: int
    excludes_other_explanation: bool
    fs_cutoff: int | None = None
    regions_min: int | None = None


class MecfsSet(_Data):
    title: str
    sources: tuple[str, ...]
    reduced_activity_months_over: int


class CriterionText(_Data):
    text: str
    sources: tuple[str, ...]


class NoteText(_Data):
    text: str
    sources: tuple[str, ...]


class FiqrDomainText(_Data):
    label: str
    divisor: int
    max: int
    items: tuple[str, ...]


class SeverityBand(_Data):
    name: str
    range: str
    upto: float | None


class SeverityScheme(_Data):
    scheme: str
    label: str
    sources: tuple[str, ...]
    bands: tuple[SeverityBand, ...]


class FiqrMissing(_Data):
    prorate_max_missing_per_domain: int
    prorate: NoteText
    invalid: NoteText


class FiqrData(_Data):
    title: str
    sources: tuple[str, ...]
    domains: dict[FiqrDomainId, FiqrDomainText]
    missing: FiqrMissing
    severity: tuple[SeverityScheme, ...]


class CriteriaData(_Data):
    """Everything in criteria.yaml."""

    pain_areas: PainAreas
    regions: Regions
    psd_bands: PsdBands
    fibromyalgia: dict[str, FibromyalgiaSet]
    mecfs: dict[str, MecfsSet]
    criteria: dict[str, CriterionText]
    notes: dict[str, NoteText]
    fiqr: FiqrData


@cache
def criteria_data() -> CriteriaData:
    """The parsed criteria data; read once per process."""
    return CriteriaData.model_validate(read_data("criteria.yaml"))


def note(note_id: str) -> NoteText:
    """A note by id (a KeyError here is a programming error caught by the tests)."""
    return criteria_data().notes[note_id]


def criterion_text(criterion_id: str, **fields: object) -> str:
    """A criterion's text with its `{...}` fields filled in."""
    return criteria_data().criteria[criterion_id].text.format(**fields)
