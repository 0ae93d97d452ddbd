"""limits.yaml: every clinical number is sourced or its choice explained, and texts name them.

The loader refuses a number with neither sources nor a reason, and numbers that contradict each
other; every {placeholder} in the knowledge texts that names a number is one limits.yaml has.
"""

from __future__ import annotations

import copy
import re
import string
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import ValidationError

from ldnkit.knowledge.files import data_file_names, read_data
from ldnkit.knowledge.limits import Limits, limits

# A placeholder that names a number: {washout_short_days}, {ldn_max_mg}, {moderate_pct}.
NUMBER_PLACEHOLDER = re.compile(r"_(days|mg|pct|hours)$|^recommendation_day$")
# Per-finding or per-call values named like numbers: filled by the caller, not by limits.yaml.
PER_CALL = {"washout_days", "hold_days", "days", "dose_mg", "adherence_pct"}


def _with(change: dict[str, Any]) -> Limits:
    data = copy.deepcopy(read_data("limits.yaml"))
    for path, value in change.items():
        node = data
        *parents, last = path.split(".")
        for key in parents:
            node = node[key]
        node[last] = value
    return Limits.model_validate(data)


def _strings(node: Any) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for value in node.values():
            yield from _strings(value)
    elif isinstance(node, list):
        for item in node:
            yield from _strings(item)


def test_every_number_cites_sources_that_resolve_or_says_why_it_was_chosen() -> None:
    known = {s["id"] for s in read_data("sources.yaml")}
    assert limits().cited_source_ids() <= known
    numbers = [number for group in read_data("limits.yaml").values() for number in group.values()]
    assert numbers
    for number in numbers:
        assert bool(number.get("sources")) != bool(number.get("chosen")), number


def test_a_number_with_neither_sources_nor_a_reason_is_refused() -> None:
    with pytest.raises(ValidationError, match="sources"):
        _with({"washout.short_acting": {"days": 7}})


def test_a_number_with_both_sources_and_a_reason_is_refused() -> None:
    with pytest.raises(ValidationError, match="either its sources"):
        _with({"hold.usual": {"days": 3, "sources": ["seed-003"], "chosen": "because"}})


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"washout.short_acting.days": 12}, "must not shorten"),
        ({"hold.minimum.days": 4}, "minimum hold is longer"),
        ({"ldn_dose.hard_max.mg": 30}, "hard_max < standard_min"),
        ({"response.moderate_improvement.percent": 60}, "minimal < moderate < substantial"),
        ({"response.min_latest_entries.entries": 15}, "cannot fit in 14 days"),
        ({"screen.unrecognised_stopped_lookback.days": 10}, "shorter than a washout"),
    ],
)
def test_numbers_that_contradict_each_other_are_refused(
    change: dict[str, Any], problem: str
) -> None:
    with pytest.raises(ValidationError, match=problem):
        _with(change)


def test_texts_name_only_numbers_limits_yaml_has() -> None:
    known = set(limits().parameters())
    unknown = set()
    for name in data_file_names():
        for text in _strings(read_data(name)):
            for _, field, _, _ in string.Formatter().parse(text):
                if field and NUMBER_PLACEHOLDER.search(field) and field not in known | PER_CALL:
                    unknown.add((name, field))
    assert unknown == set()


def test_the_texts_use_the_numbers_they_would_otherwise_write() -> None:
    # The files with ldnkit's own decisions in words name the numbers rather than write them.
    used = {
        field
        for name in ("rules.yaml", "cards.yaml", "response.yaml", "protocols.yaml")
        for text in _strings(read_data(name))
        for _, field, _, _ in string.Formatter().parse(text)
        if field
    }
    assert {
        "washout_short_days",
        "washout_long_days",
        "washout_maintenance_days",
        "hold_days",
        "hold_min_days",
        "standard_dose_mg",
        "moderate_pct",
        "recommendation_day",
    } <= used
