"""The patient diary: one validated entry per day, and explicit merging of a day's duplicates.

An entry is what a patient records for one day: the LDN dose taken (or none), symptom scores on
0-10 scales, optional mood, side effects from the knowledge base's list with a severity, and a
free-text note kept exactly as typed. Out-of-range values are errors, never stored values: a
pain score of 11 is refused, not clipped. Entries may be backdated; a second entry for a day
that already has one is only merged when the caller says how (`keep`, `replace`, `combine`).
"""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ldnkit.domain.titration import EARLIEST, LATEST
from ldnkit.knowledge.limits import limits

Severity = Literal["mild", "moderate", "severe"]
MergePolicy = Literal["keep", "replace", "combine"]
MERGE_POLICIES: tuple[MergePolicy, ...] = ("keep", "replace", "combine")

SEVERITY_RANK: dict[str, int] = {"mild": 1, "moderate": 2, "severe": 3}

# The dose limits are the titration plans' (knowledge/data/limits.yaml, ldn_dose): LDN is usually
# up to its usual maximum a day, but a prescriber may plan up to the hard maximum with an explicit
# override. The diary records what was taken, so it accepts any dose a plan can contain and
# refuses the rest; the standard dose is standard-dose naltrexone, never LDN.
NOTE_MAX_CHARS = 2000

# The symptom scales (limits.yaml, diary.score), fixed when the model is built.
_SCALE = limits().diary.score
Score = Annotated[int, Field(ge=_SCALE.min, le=_SCALE.max)]


class _Model(BaseModel):
    # No whitespace stripping: the note is stored verbatim, exactly as the patient typed it.
    model_config = ConfigDict(extra="forbid", frozen=True)


def known_side_effect_ids() -> frozenset[str]:
    """The side-effect ids of the knowledge base (the only ids a diary may record)."""
    from ldnkit.knowledge import knowledge_base  # late: the knowledge base loads YAML once

    return frozenset(effect.id for effect in knowledge_base().side_effects)


def max_side_effects() -> int:
    """The most side effects one day can record: each the knowledge base knows, once."""
    return len(known_side_effect_ids())


def _dose_schema(schema: dict[str, Any]) -> None:
    # The limits in the published schema are the ones the validator below applies.
    hard_max = limits().ldn_dose.hard_max.mg
    for branch in schema.get("anyOf", [schema]):
        if branch.get("type") == "number":
            branch.update(exclusiveMinimum=0, maximum=hard_max)
    schema["description"] = (
        f"The LDN dose taken, in mg: above 0 and at most {hard_max:g} "
        "(none on a day without a dose)"
    )


def _local_time_schema(schema: dict[str, Any]) -> None:
    # A clock time where the patient is, with no zone: JSON Schema's "time" format (RFC 3339)
    # would demand an offset, so the published schema says what is really sent and read.
    for branch in schema.get("anyOf", [schema]):
        if branch.get("format") == "time":
            del branch["format"]
            branch["pattern"] = r"^([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d{1,6})?)?$"
    schema["description"] = "The local time of the dose, HH:MM (no time zone)"


def _side_effect_id_schema(schema: dict[str, Any]) -> None:
    schema["description"] = "A side effect of the knowledge base: " + ", ".join(
        sorted(known_side_effect_ids())
    )


class SideEffectReport(_Model):
    """One side effect on one day, by knowledge-base id, with how bad it was."""

    id: Annotated[str, Field(json_schema_extra=_side_effect_id_schema)]
    severity: Severity = "mild"

    @field_validator("id")
    @classmethod
    def _known_id(cls, value: str) -> str:
        known = known_side_effect_ids()
        key = value.strip().lower().replace(" ", "_").replace("-", "_")
        for candidate in (value, key, key.replace("_", "-")):
            if candidate in known:
                return candidate
        raise ValueError("a side effect id from the knowledge base: " + ", ".join(sorted(known)))


class DiaryEntry(_Model):
    """What a patient recorded for one day."""

    day: Annotated[dt.date, Field(description=f"The day, from {EARLIEST} to {LATEST}")]
    dose_mg: Annotated[float | None, Field(json_schema_extra=_dose_schema)] = None
    dose_time: Annotated[dt.time | None, Field(json_schema_extra=_local_time_schema)] = None
    pain: Score
    fatigue: Score
    sleep_quality: Score
    mood: Score | None = None
    side_effects: Annotated[
        tuple[SideEffectReport, ...],
        Field(json_schema_extra=lambda schema: schema.update(maxItems=max_side_effects())),
    ] = ()
    note: Annotated[str, Field(max_length=NOTE_MAX_CHARS)] = ""

    @field_validator("day")
    @classmethod
    def _within_calendar(cls, value: dt.date) -> dt.date:
        # Charts and assessments do dated arithmetic on entries; 9999-12-31 would overflow it
        # and break every page that shows the diary.
        if not EARLIEST <= value <= LATEST:
            raise ValueError(f"a date from {EARLIEST} to {LATEST}")
        return value

    @field_validator("dose_mg")
    @classmethod
    def _ldn_dose(cls, value: float | None) -> float | None:
        if value is None:
            return None
        if not math.isfinite(value) or value <= 0:
            raise ValueError("a dose in mg above 0 (leave it empty on a day without a dose)")
        band = limits().ldn_dose
        if value >= band.standard.mg:
            raise ValueError(
                f"an LDN dose of at most {band.hard_max.mg:g} mg: {value:g} mg is "
                "standard-dose naltrexone, not LDN"
            )
        if value > band.hard_max.mg:
            raise ValueError(
                f"at most {band.hard_max.mg:g} mg, the highest LDN dose reported (usually at "
                f"most {band.usual_max.mg:g} mg)"
            )
        return value

    @field_validator("side_effects", mode="before")
    @classmethod
    def _no_more_reports_than_effects(cls, value: object) -> object:
        # Checked before any report is read: a day cannot have more side effects than the
        # knowledge base knows, so 40,000 reports are refused without validating one.
        if isinstance(value, list | tuple) and len(value) > max_side_effects():
            raise ValueError(f"at most {max_side_effects()} side effects (each known one once)")
        return value

    @field_validator("side_effects")
    @classmethod
    def _one_report_per_effect(
        cls, value: tuple[SideEffectReport, ...]
    ) -> tuple[SideEffectReport, ...]:
        counts = Counter(report.id for report in value)
        repeated = sorted(i for i, n in counts.items() if n > 1)
        if repeated:
            raise ValueError(
                "each side effect once per day (repeated: " + ", ".join(repeated) + ")"
            )
        return value

    @model_validator(mode="after")
    def _time_needs_dose(self) -> DiaryEntry:
        if self.dose_time is not None and self.dose_mg is None:
            raise ValueError(
                "a dose_mg with the dose_time (or no dose_time on a day without a dose)"
            )
        return self

    @property
    def dose_taken(self) -> bool:
        return self.dose_mg is not None


class MergeConflict(Exception):
    """A day already has an entry and the caller did not say how to merge the new one."""

    def __init__(
        self, existing: DiaryEntry, incoming: DiaryEntry, fields: Sequence[str] | None = None
    ) -> None:
        self.existing = existing
        self.incoming = incoming
        self.day = existing.day
        self.fields = tuple(fields) if fields is not None else differing_fields(existing, incoming)
        differs = ", ".join(self.fields) or "nothing"
        super().__init__(
            f"{self.day.isoformat()} already has an entry (differs in {differs}); "
            "choose how to merge: " + ", ".join(MERGE_POLICIES)
        )


def differing_fields(a: DiaryEntry, b: DiaryEntry) -> tuple[str, ...]:
    """Names of the fields where two entries disagree."""
    return tuple(name for name in DiaryEntry.model_fields if getattr(a, name) != getattr(b, name))


def combined_score(saved: int, newer: int) -> int:
    """The average of two answers; a half (4.5) goes toward the newer answer.

    So combining two different answers always moves the saved one toward the newer one and
    never leaves it unchanged: 5 then 4 gives 4, 4 then 5 gives 5, 3 then 6 gives 5.
    """
    total = saved + newer
    if total % 2 == 0:
        return total // 2
    return (total + 1) // 2 if newer > saved else (total - 1) // 2


def _combined_side_effects(
    a: Iterable[SideEffectReport], b: Iterable[SideEffectReport]
) -> tuple[SideEffectReport, ...]:
    worst: dict[str, SideEffectReport] = {}
    for report in (*a, *b):
        held = worst.get(report.id)
        if held is None or SEVERITY_RANK[report.severity] > SEVERITY_RANK[held.severity]:
            worst[report.id] = report
    return tuple(worst[i] for i in sorted(worst))


def merge_entries(existing: DiaryEntry, incoming: DiaryEntry, how: MergePolicy) -> DiaryEntry:
    """Merge two entries for the same day, as the caller chose.

    - `keep`: the existing entry stays as it was;
    - `replace`: the incoming entry takes its place;
    - `combine`: one entry from both: each score the average of the two, a half going toward
      the incoming (newer) answer (`combined_score`), side effects united at their worse
      severity, notes joined, the dose from whichever entry has one. Two different doses on
      one day cannot be combined (which one was taken?) and raise MergeConflict.
    """
    if existing.day != incoming.day:
        raise ValueError(
            f"entries for different days cannot be merged ({existing.day} and {incoming.day})"
        )
    if how == "keep":
        return existing
    if how == "replace":
        return incoming
    if how != "combine":
        raise ValueError("how must be one of " + ", ".join(MERGE_POLICIES))
    if (
        existing.dose_mg is not None
        and incoming.dose_mg is not None
        and existing.dose_mg != incoming.dose_mg
    ):
        raise MergeConflict(existing, incoming, ("dose_mg",))
    dosed = existing if existing.dose_mg is not None else incoming
    if existing.mood is None or incoming.mood is None:
        mood = existing.mood if incoming.mood is None else incoming.mood
    else:
        mood = combined_score(existing.mood, incoming.mood)
    notes = [n for n in (existing.note, incoming.note) if n]
    if len(notes) == 2 and notes[0] == notes[1]:
        notes = notes[:1]
    note = "\n".join(notes)
    if len(note) > NOTE_MAX_CHARS:
        raise MergeConflict(existing, incoming, ("note",))
    return DiaryEntry(
        day=existing.day,
        dose_mg=dosed.dose_mg,
        dose_time=dosed.dose_time if dosed.dose_time is not None else incoming.dose_time,
        pain=combined_score(existing.pain, incoming.pain),
        fatigue=combined_score(existing.fatigue, incoming.fatigue),
        sleep_quality=combined_score(existing.sleep_quality, incoming.sleep_quality),
        mood=mood,
        side_effects=_combined_side_effects(existing.side_effects, incoming.side_effects),
        note=note,
    )


def add_entry(
    entries: Sequence[DiaryEntry], incoming: DiaryEntry, how: MergePolicy | None = None
) -> list[DiaryEntry]:
    """The diary with one more entry, sorted by day; a taken day needs an explicit `how`.

    Recording exactly the same entry again changes nothing and needs no `how`.
    """
    result = sorted(entries, key=lambda e: e.day)
    for index, held in enumerate(result):
        if held.day != incoming.day:
            continue
        if held == incoming:
            return result
        if how is None:
            raise MergeConflict(held, incoming)
        result[index] = merge_entries(held, incoming, how)
        return result
    result.append(incoming)
    result.sort(key=lambda e: e.day)
    return result
