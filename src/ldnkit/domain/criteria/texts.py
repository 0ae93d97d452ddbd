"""The criteria data (`knowledge/data/criteria.yaml`) as typed, validated models.

Criterion texts, pain areas, bands and thresholds are clinical content, so they live in the
knowledge data with their sources; the calculators only apply them.
"""

from __future__ import annotations

from functools import cache
from typing import Literal

from pydantic import BaseModel, ConfigDict, model_validator

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
    """One FIQR domain: its items and the words at each end of their 0-10 scales.

    `anchors` hold for every item of the domain; `item_anchors`, one pair per item, where each
    item has its own (the symptoms).
    """

    label: str
    divisor: int
    max: int
    items: tuple[str, ...]
    anchors: tuple[str, str] | None = None
    item_anchors: tuple[tuple[str, str], ...] | None = None
    # Items whose name reads the other way from their scale (energy: 0 is lots of it).
    reversed_items: tuple[int, ...] = ()
    reversed_items_note: str | None = None

    @model_validator(mode="after")
    def _every_item_anchored(self) -> FiqrDomainText:
        if self.item_anchors is None and self.anchors is None:
            raise ValueError(f"FIQR domain {self.label}: anchors or item_anchors are required")
        if self.item_anchors is not None and len(self.item_anchors) != len(self.items):
            raise ValueError(f"FIQR domain {self.label}: one pair of item_anchors per item")
        return self

    def anchors_of(self, index: int) -> tuple[str, str]:
        """What 0 and 10 mean for item `index` of this domain."""
        if self.item_anchors is not None:
            return self.item_anchors[index]
        assert self.anchors is not None  # one of the two is required (checked above)
        return self.anchors


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


class Levels(_Data):
    """The words for each point of a 0-3 scale, from 0 up."""

    sources: tuple[str, ...]
    levels: tuple[str, str, str, str]


class Questions(_Data):
    """What the calculators ask, by input field, and the anchors of the 0-3 scales."""

    sources: tuple[str, ...]
    labels: dict[str, str]
    symptom_levels: Levels
    somatic_levels: Levels


class CriteriaData(_Data):
    """Everything in criteria.yaml."""

    pain_areas: PainAreas
    regions: Regions
    psd_bands: PsdBands
    fibromyalgia: dict[str, FibromyalgiaSet]
    mecfs: dict[str, MecfsSet]
    criteria: dict[str, CriterionText]
    notes: dict[str, NoteText]
    questions: Questions
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
