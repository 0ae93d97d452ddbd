"""Diary entries: validated on the way in, merged only when the caller says how."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from ldnkit.domain.diary import (
    DiaryEntry,
    MergeConflict,
    SideEffectReport,
    add_entry,
    merge_entries,
)
from ldnkit.knowledge import knowledge_base
from ldnkit.validation import input_error

DAY = dt.date(2026, 3, 2)


def entry(**changes: object) -> DiaryEntry:
    data: dict[str, object] = {"day": DAY, "pain": 5, "fatigue": 6, "sleep_quality": 4}
    data.update(changes)
    return DiaryEntry.model_validate(data)


def problems(**changes: object) -> list[str]:
    data: dict[str, object] = {"day": "2026-03-02", "pain": 5, "fatigue": 6, "sleep_quality": 4}
    data.update(changes)
    with pytest.raises(ValidationError) as caught:
        DiaryEntry.model_validate(data)
    return [str(p) for p in input_error(caught.value).problems]


def test_pain_11_is_an_error_not_a_stored_value() -> None:
    assert problems(pain=11) == ["pain: got 11; expected a number at most 10"]


@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01"])
def test_a_day_at_the_calendars_end_is_refused(day: str) -> None:
    # Charts and assessments shift entry days by weeks; such a day would break every diary page.
    with pytest.raises(ValidationError) as caught:
        entry(day=day)
    (problem,) = input_error(caught.value).problems
    assert problem.field == "day"
    assert problem.expected == "a date from 1900-01-01 to 2199-12-31"


def test_negative_fatigue_and_fractional_sleep_are_refused_together() -> None:
    found = problems(fatigue=-1, sleep_quality=4.5)
    assert [p.split(":")[0] for p in found] == ["fatigue", "sleep_quality"]


def test_unknown_side_effect_names_the_field_and_lists_the_known_ids() -> None:
    (problem,) = problems(side_effects=[{"id": "hair-loss", "severity": "mild"}])
    assert problem.startswith('side_effects[0].id: got "hair-loss"; expected a side effect id')
    assert "vivid-dreams" in problem


def test_side_effect_ids_come_from_the_knowledge_base() -> None:
    for effect in knowledge_base().side_effects:
        assert entry(side_effects=[{"id": effect.id}]).side_effects[0].id == effect.id


def test_side_effect_written_with_underscores_or_capitals_is_recognised() -> None:
    assert SideEffectReport(id="Vivid_Dreams").id == "vivid-dreams"


def test_unknown_severity_is_refused() -> None:
    (problem,) = problems(side_effects=[{"id": "insomnia", "severity": "awful"}])
    assert problem.startswith("side_effects[0].severity")
    assert problem.endswith("expected one of mild, moderate or severe")


def test_same_side_effect_twice_in_a_day_is_refused() -> None:
    (problem,) = problems(side_effects=[{"id": "insomnia"}, {"id": "insomnia"}])
    assert "each side effect once per day" in problem


def test_50_mg_is_standard_dose_naltrexone_not_ldn() -> None:
    (problem,) = problems(dose_mg=50)
    assert problem.startswith("dose_mg: got 50;")
    assert "standard-dose naltrexone, not LDN" in problem


@pytest.mark.parametrize("dose", [0, -1.5, 12.5, 45, float("nan")])
def test_doses_outside_ldn_range_are_refused(dose: float) -> None:
    (problem,) = problems(dose_mg=dose)
    assert problem.startswith("dose_mg:")


def test_ldn_doses_are_accepted_up_to_what_a_plan_may_prescribe() -> None:
    assert entry(dose_mg=0.5).dose_mg == 0.5
    assert entry(dose_mg=4.5, dose_time="22:15").dose_time == dt.time(22, 15)
    # Above 5 mg only with the prescriber's override in the plan, but then it is what was taken.
    assert entry(dose_mg=6).dose_mg == 6
    assert entry(dose_mg=12).dose_mg == 12


def test_dose_time_without_a_dose_is_refused() -> None:
    (problem,) = problems(dose_time="22:00")
    assert "a dose_mg with the dose_time" in problem


def test_unknown_field_is_refused() -> None:
    assert problems(pian=3) == ["pian: got 3; expected no such field (check the spelling)"]


def test_note_is_stored_verbatim_and_limited_to_2000_characters() -> None:
    note = "  <b>bad</b> day & night\n\tsecond line  "
    assert entry(note=note).note == note
    (problem,) = problems(note="x" * 2001)
    assert problem.startswith("note:")


def test_entries_are_frozen() -> None:
    with pytest.raises(ValidationError):
        entry().pain = 3  # type: ignore[misc]


def test_backdated_entries_are_allowed() -> None:
    assert entry(day="2020-01-01").day == dt.date(2020, 1, 1)


# -- merging ---------------------------------------------------------------------------------


def test_keep_and_replace_choose_one_entry_whole() -> None:
    old, new = entry(pain=4, note="morning"), entry(pain=7, note="evening")
    assert merge_entries(old, new, "keep") == old
    assert merge_entries(old, new, "replace") == new


def test_combine_averages_scores_unites_side_effects_and_joins_notes() -> None:
    old = entry(
        pain=4,
        fatigue=6,
        sleep_quality=3,
        dose_mg=1.5,
        dose_time="22:00",
        note="morning",
        side_effects=[{"id": "insomnia", "severity": "mild"}],
    )
    new = entry(
        pain=7,
        fatigue=6,
        sleep_quality=4,
        mood=5,
        note="evening",
        side_effects=[{"id": "insomnia", "severity": "severe"}, {"id": "headache"}],
    )
    merged = merge_entries(old, new, "combine")
    assert (merged.pain, merged.fatigue, merged.sleep_quality, merged.mood) == (6, 6, 4, 5)
    assert (merged.dose_mg, merged.dose_time) == (1.5, dt.time(22, 0))
    assert [(r.id, r.severity) for r in merged.side_effects] == [
        ("headache", "mild"),
        ("insomnia", "severe"),
    ]
    assert merged.note == "morning\nevening"


def test_combining_two_different_doses_is_a_conflict() -> None:
    with pytest.raises(MergeConflict) as caught:
        merge_entries(entry(dose_mg=1.5), entry(dose_mg=3), "combine")
    assert caught.value.fields == ("dose_mg",)


def test_entries_for_different_days_cannot_be_merged() -> None:
    with pytest.raises(ValueError, match="different days"):
        merge_entries(entry(), entry(day=DAY + dt.timedelta(1)), "replace")


def test_second_entry_for_a_day_without_a_policy_is_a_conflict_naming_what_differs() -> None:
    diary = add_entry([], entry(pain=4))
    with pytest.raises(MergeConflict) as caught:
        add_entry(diary, entry(pain=6, note="later"))
    assert caught.value.fields == ("pain", "note")
    assert caught.value.existing.pain == 4
    assert "2026-03-02 already has an entry" in str(caught.value)


def test_same_entry_twice_needs_no_policy() -> None:
    diary = add_entry([], entry())
    assert add_entry(diary, entry()) == diary


def test_add_entry_with_policy_merges_and_keeps_days_sorted() -> None:
    diary = add_entry([entry(day=DAY + dt.timedelta(1))], entry(pain=4))
    diary = add_entry(diary, entry(pain=8), how="replace")
    assert [(e.day, e.pain) for e in diary] == [(DAY, 8), (DAY + dt.timedelta(1), 5)]


# -- round trip ------------------------------------------------------------------------------

scores = st.integers(min_value=0, max_value=10)
side_effect_ids = sorted(e.id for e in knowledge_base().side_effects)


@st.composite
def entries(draw: st.DrawFn) -> DiaryEntry:
    dose = draw(st.none() | st.sampled_from([0.5, 1.0, 1.5, 3.0, 4.5, 5.0]))
    chosen = draw(st.lists(st.sampled_from(side_effect_ids), unique=True, max_size=3))
    return DiaryEntry(
        day=draw(st.dates(dt.date(2000, 1, 1), dt.date(2100, 12, 31))),
        dose_mg=dose,
        dose_time=draw(st.none() | st.times()) if dose is not None else None,
        pain=draw(scores),
        fatigue=draw(scores),
        sleep_quality=draw(scores),
        mood=draw(st.none() | scores),
        side_effects=tuple(
            SideEffectReport(id=i, severity=draw(st.sampled_from(["mild", "moderate", "severe"])))
            for i in chosen
        ),
        note=draw(st.text(max_size=2000)),
    )


@settings(max_examples=60, deadline=None)
@given(entries())
def test_entries_round_trip_through_json(original: DiaryEntry) -> None:
    assert DiaryEntry.model_validate(original.model_dump()) == original
    assert DiaryEntry.model_validate_json(original.model_dump_json()) == original
    assert DiaryEntry.model_validate(original.model_dump(mode="json")) == original
