"""The earliest start: never a day a finding stands against, and messages right for every date.

Issue 8's examples: a procedure needing opioids tomorrow gave "start today"; a stopped opioid
without a last-dose date gave "start today"; a hold message read "Last LDN dose on none".
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from ldnkit.domain.profile import PatientProfile
from ldnkit.domain.screening import SEVERITY_RANK, Screening, screen
from ldnkit.validation import input_error

AS_OF = dt.date(2026, 11, 23)
RECORDED: dict[str, Any] = {
    "liver": "normal",
    "kidney": "normal",
    "pregnant": False,
    "medications": [{"name": "lisinopril 10 mg", "status": "active"}],
}


def run(**fields: Any) -> Screening:
    return screen(PatientProfile.model_validate({"as_of": AS_OF.isoformat(), **RECORDED, **fields}))


def day(offset: int) -> dt.date:
    return AS_OF + dt.timedelta(days=offset)


def procedure(offset: int, name: str = "knee arthroscopy") -> dict[str, Any]:
    return {"date": day(offset).isoformat(), "opioids_expected": True, "name": name}


# ---- procedures --------------------------------------------------------------------------------


def test_a_procedure_with_opioids_tomorrow_is_a_wait_until_after_it() -> None:
    result = run(planned_procedures=[procedure(1)])
    assert result.verdict == "wait"
    assert result.earliest_start is not None
    assert result.earliest_start > day(1)  # no earlier than the day after the procedure
    assert result.earliest_start == day(1 + 7)  # opioid-free for 7 days after it
    (finding,) = result.findings
    assert finding.rule == "procedure-hold-window"
    assert f"{day(1)} (tomorrow)" in finding.message
    assert f"First LDN dose on {day(8)} at the earliest" in finding.message
    assert "later if opioids continue" in finding.message


@pytest.mark.parametrize(("offset", "verdict"), [(0, "wait"), (3, "wait"), (4, "caution")])
def test_the_hold_window_is_three_days(offset: int, verdict: str) -> None:
    result = run(planned_procedures=[procedure(offset)])
    assert result.verdict == verdict
    if verdict == "caution":
        assert result.earliest_start == AS_OF
        assert f"Last LDN dose on {day(offset - 3)}" in result.findings[0].message


def test_a_procedure_a_few_days_ago_still_needs_the_opioid_free_interval() -> None:
    result = run(planned_procedures=[procedure(-2)])
    assert result.verdict == "wait"
    assert result.earliest_start == day(5)
    assert "(2 days ago)" in result.findings[0].message


def test_a_procedure_long_ago_needs_nothing() -> None:
    assert run(planned_procedures=[procedure(-7)]).findings == ()


def test_a_washout_ending_inside_a_hold_window_moves_the_start_past_the_procedure() -> None:
    # Opioid-free from day 4; a procedure on day 6 needs LDN stopped from day 3: start after it.
    result = run(
        medications=[{"name": "tramadol", "status": "stopped", "last_dose": day(-3).isoformat()}],
        planned_procedures=[procedure(6)],
    )
    assert [f.rule for f in result.findings] == ["opioid-washout", "procedure-hold"]
    assert result.earliest_start == day(6 + 7)


# ---- stopped opioids ---------------------------------------------------------------------------


def test_a_stopped_opioid_without_a_date_cannot_be_dated() -> None:
    result = run(medications=[{"name": "methadone 10 mg", "status": "stopped"}])
    assert result.verdict == "wait"
    assert result.earliest_start is None
    message = result.findings[0].message
    assert "interval of 14 days" in message
    assert "urine opioid screen" in message


@pytest.mark.parametrize(("ago", "said"), [(0, "the day of this screen"), (1, "1 day before")])
def test_the_days_since_the_last_dose_read_right(ago: int, said: str) -> None:
    last_dose = day(-ago).isoformat()
    result = run(medications=[{"name": "tramadol", "status": "stopped", "last_dose": last_dose}])
    assert said in result.findings[0].message
    assert "day(s)" not in result.findings[0].message


def test_a_last_dose_after_the_screening_day_is_refused_naming_the_field() -> None:
    with pytest.raises(ValidationError) as raised:
        PatientProfile.model_validate(
            {
                "as_of": AS_OF.isoformat(),
                "medications": [
                    {"name": "oxycodone", "status": "stopped", "last_dose": "2026-12-01"}
                ],
            }
        )
    (problem,) = input_error(raised.value).problems
    assert problem.field == "medications[0].last_dose"
    assert problem.expected == f"a date on or before the screening date as_of ({AS_OF})"


# ---- the invariant: no earliest start a finding contradicts ----------------------------------

_DRUGS = ["tramadol 50 mg", "OxyContin 20 mg", "methadone 10 mg", "Suboxone 8 mg/2 mg",
          "lisinopril 10 mg", "naltrexone 4.5 mg", "Xyzzy 5 mg"]  # fmt: skip
_FIRST_DOSE = re.compile(r"[Ff]irst LDN dose on (\d{4}-\d\d-\d\d) at the earliest")


def _medication(name: str, stopped: bool, ago: int | None) -> dict[str, Any]:
    if not stopped:
        return {"name": name, "status": "active"}
    dated = {} if ago is None else {"last_dose": day(-ago).isoformat()}
    return {"name": name, "status": "stopped", **dated}


medication = st.builds(
    _medication, st.sampled_from(_DRUGS), st.booleans(), st.one_of(st.none(), st.integers(0, 20))
)
planned = st.builds(
    lambda offset, opioids: {"date": day(offset).isoformat(), "opioids_expected": opioids},
    st.integers(-12, 40),
    st.booleans(),
)


@settings(max_examples=400, deadline=None)
@given(
    medications=st.lists(medication, max_size=3),
    procedures=st.lists(planned, max_size=3),
    liver=st.sampled_from(["normal", "chronic_disease", "acute_hepatitis", "unknown"]),
    kidney=st.sampled_from(["normal", "impaired", "severe", "unknown"]),
)
def test_no_earliest_start_is_one_a_finding_contradicts(
    medications: list[dict[str, Any]], procedures: list[dict[str, Any]], liver: str, kidney: str
) -> None:
    result = run(medications=medications, planned_procedures=procedures, liver=liver, kidney=kidney)
    worst = max((SEVERITY_RANK[f.severity] for f in result.findings), default=0)
    assert SEVERITY_RANK.get(result.verdict, 0) == worst  # "eligible" ranks as info
    start = result.earliest_start
    undated = any(f.undated for f in result.findings)
    assert (start is None) == (result.verdict == "contraindicated" or undated)
    for f in result.findings:
        # Every message reads right whatever the dates: no "none", no negative or "(s)" days.
        assert "none" not in f.message.split()
        assert "day(s)" not in f.message
        assert not re.search(r"(?:^|[\s(])-\d+ days?\b", f.message)
        assert "{" not in f.message
    if start is None:
        return
    assert start >= AS_OF
    assert (start > AS_OF) == (result.verdict == "wait")
    for f in result.findings:
        if f.resolves_on is not None:
            assert start >= f.resolves_on, f.rule
        if f.blocks is not None:
            assert not f.blocks[0] <= start < f.blocks[1], f.rule
        for stated in _FIRST_DOSE.findall(f.message):
            assert start >= dt.date.fromisoformat(stated), f.rule
    # And it is the first such day: the day before it is ruled out by some finding.
    if start > AS_OF:
        before = start - dt.timedelta(days=1)
        assert any(
            (f.resolves_on is not None and before < f.resolves_on)
            or (f.blocks is not None and f.blocks[0] <= before < f.blocks[1])
            for f in result.findings
        )
