"""Typed records of the knowledge base; every clinical record carries source ids.

The YAML files in `knowledge/data/` are validated against these models when the knowledge base
is loaded: an unknown key is an error (a misspelled `soruces` must not silently drop a
citation), and so is an empty `sources` list.
"""

from __future__ import annotations

from typing import Annotated, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, computed_field

# The kinds of source. The list plus `criteria` (diagnostic criteria papers), `cohort`
# (registry and cohort studies), `in-vitro` (laboratory studies), `uncontrolled` (single-arm or
# before-after studies without a control group) and `protocol` (a trial's published plan, no
# results yet), so that a source is never shown as a stronger design than it is.
SourceKind = Literal[
    "rct",
    "crossover",
    "uncontrolled",
    "case-series",
    "case-report",
    "protocol",
    "guideline",
    "label",
    "review",
    "lay",
    "criteria",
    "cohort",
    "in-vitro",
]
SOURCE_KINDS: tuple[str, ...] = get_args(SourceKind)

# Sources of these kinds may have no DOI, PMID or URL: lay articles known by their publisher,
# title and date, and lay guidance such as compounders' leaflets.
UNLINKED_KINDS: frozenset[str] = frozenset({"lay"})

# How strong the evidence for LDN in a condition is, strongest first. A level names the designs
# behind it: "small-trials" needs a controlled trial, "uncontrolled" has none.
EvidenceLevel = Literal[
    "rct",  # randomised trials (placebo or active comparator, incl. crossover) support a benefit
    "mixed",  # randomised trials disagree, or a primary outcome failed while others improved
    "small-trials",  # small or pilot controlled trials only; benefit uncertain
    "uncontrolled",  # uncontrolled before-after studies or case series only, no control group
    "case-reports",  # only individual case reports
    "reported-use",  # used or proposed in the sources, without trial results there
    "preclinical",  # animal or laboratory data only
    "no-benefit",  # a controlled study found no difference
    "none",  # nothing on LDN: recorded so that codes from health records are recognised
]
EVIDENCE_LEVELS: tuple[str, ...] = get_args(EvidenceLevel)

ScreenRole = Literal[
    "candidate",
    "limited_evidence",
    "not_recommended",
    "thyroid",
    "pregnancy",
    "liver_chronic",
    "liver_acute",
    "kidney_impaired",
    "opioid_use_disorder",
    "alcohol_heavy",
    "other",
]
SCREEN_ROLES: tuple[str, ...] = get_args(ScreenRole)

Stance = Literal["for", "against", "uncertain"]

Id = Annotated[str, StringConstraints(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$")]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
SourceIds = Annotated[tuple[Id, ...], Field(min_length=1)]


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Source(_Record):
    """A citation: where a fact comes from."""

    id: Id
    citation: Text
    doi: str | None = None
    pmid: Annotated[str, StringConstraints(pattern=r"^\d{1,9}$")] | None = None
    url: str | None = None
    kind: SourceKind
    year: Annotated[int, Field(ge=1900, le=2100)]

    @computed_field  # type: ignore[prop-decorator]
    @property
    def link(self) -> str | None:
        """The best address to read the source at: DOI, then PubMed, then the URL."""
        if self.doi:
            return f"https://doi.org/{self.doi}"
        if self.pmid:
            return f"https://pubmed.ncbi.nlm.nih.gov/{self.pmid}/"
        return self.url


class SnomedCode(_Record):
    """A SNOMED CT concept; `verified: false` marks a code taken from a secondary source."""

    code: Annotated[str, StringConstraints(pattern=r"^\d{6,18}$")]
    display: Text
    verified: bool
    note: str | None = None


class Study(_Record):
    """One study of LDN in a condition, as its sources report it."""

    label: Text  # "Younger 2013"
    design: Text
    n: Annotated[int, Field(ge=1)] | None = None
    dose: str | None = None
    effect: Text
    sources: SourceIds


class Position(_Record):
    """What a guideline body, label or article says about LDN in a condition."""

    by: Text
    stance: Stance
    text: Text
    sources: SourceIds


class ConflictSide(_Record):
    claim: Text
    sources: SourceIds


class Conflict(_Record):
    """Sources that disagree; ldnkit shows every side and never silently picks one."""

    id: Id
    topic: Text
    conditions: tuple[Id, ...] = ()
    positions: Annotated[tuple[ConflictSide, ...], Field(min_length=2)]
    note: Text  # how ldnkit handles the disagreement

    @computed_field  # type: ignore[prop-decorator]
    @property
    def sources(self) -> tuple[str, ...]:
        """Every source cited by any side, in order of first appearance."""
        return tuple(dict.fromkeys(s for side in self.positions for s in side.sources))


class Condition(_Record):
    """A condition: how to recognise it in records and what the evidence for LDN is."""

    id: Id
    name: Text
    synonyms: tuple[Text, ...] = ()
    icd10cm: tuple[str, ...] = ()  # codes or category prefixes, CMS spelling (M79.7, K50)
    icd10cm_note: str | None = None
    snomed_codes: tuple[SnomedCode, ...] = ()
    screen_role: ScreenRole
    evidence_level: EvidenceLevel
    summary: Text
    studies: tuple[Study, ...] = ()
    positions: tuple[Position, ...] = ()
    conflicts: tuple[Conflict, ...] = ()  # filled from conflicts.yaml by the loader
    sources: SourceIds

    @computed_field  # type: ignore[prop-decorator]
    @property
    def snomed(self) -> tuple[str, ...]:
        """The SNOMED CT codes that identify this condition."""
        return tuple(c.code for c in self.snomed_codes)


class SideEffect(_Record):
    """An adverse effect reported with LDN."""

    id: Id
    name: Text
    frequency: str | None = None  # as a source words it; None when no source gives one
    sleep_related: bool = False  # drives the advice to move the dose to the morning
    rare: bool = False
    sources: SourceIds


class Mechanism(_Record):
    """A proposed way LDN works."""

    id: Id
    name: Text
    text: Text
    sources: SourceIds


AlternativeKind = Literal["supplement", "diet", "mind-body", "physical", "drug"]


class Alternative(_Record):
    """Something the sources list to try before or beside LDN."""

    id: Id
    name: Text
    kind: AlternativeKind
    text: Text
    sources: SourceIds


Topic = Literal[
    "overview",
    "efficacy",
    "dosing",
    "timing",
    "safety",
    "interactions",
    "side-effects",
    "mechanism",
    "formulation",
    "cost",
    "monitoring",
    "response",
]
TOPICS: tuple[str, ...] = get_args(Topic)


class Statement(_Record):
    """One small, self-contained claim with its sources, for display and for retrieval."""

    id: Id
    text: Text
    topic: Topic
    condition: Id | None = None
    sources: SourceIds
