"""Plans obey the safety screen: each reason a start is refused, the boundaries, overrides."""

from __future__ import annotations

import datetime as dt

import pytest

from ldnkit.domain.plan_gate import (
    OVERRIDE_REASON_MAX,
    check_plan_start,
    check_start,
    decide,
    override_reason,
    screening_day,
)
from ldnkit.domain.profile import PatientProfile
from ldnkit.domain.screening import Finding, Screening
from ldnkit.validation import InputError

DAY = dt.date(2026, 11, 23)
NOW = dt.datetime(2026, 11, 23, 10, 30, tzinfo=dt.UTC)


def _profile(*medications: dict[str, str], **fields: object) -> PatientProfile:
    return PatientProfile.model_validate(
        {"as_of": DAY.isoformat(), "liver": "normal", "kidney": "normal",
         "medications": list(medications), **fields}
    )  # fmt: skip


PERCOCET_4_DAYS_AGO = {"name": "Percocet 5/325", "status": "stopped", "last_dose": "2026-11-19"}
TRAMADOL = {"name": "tramadol 50 mg", "status": "active"}


def test_active_tramadol_refuses_every_start_as_contraindicated() -> None:
    for start in (DAY, DAY + dt.timedelta(days=30)):
        check = check_plan_start(_profile(TRAMADOL), start)
        assert check.refusal == "contraindicated"
        assert not check.allowed
        assert [f.subject for f in check.blocking] == ["tramadol 50 mg"]
        assert check.explanation() == (
            "The safety screen says contraindicated (tramadol 50 mg): it gives no start date."
        )


def test_percocet_four_days_into_the_washout_may_start_on_the_earliest_start() -> None:
    check = check_plan_start(_profile(PERCOCET_4_DAYS_AGO), dt.date(2026, 11, 26))
    assert check.allowed
    assert check.refusal is None
    assert check.blocking == ()
    assert check.explanation() == ""
    # Screened for the start day itself: by then the washout is over.
    assert check.screened_on == dt.date(2026, 11, 26)
    assert check.screening.verdict != "wait"


def test_percocet_one_day_before_the_earliest_start_is_refused() -> None:
    check = check_plan_start(_profile(PERCOCET_4_DAYS_AGO), dt.date(2026, 11, 25))
    assert check.refusal == "before-earliest-start"
    assert check.screening.verdict == "wait"
    assert check.screening.earliest_start == dt.date(2026, 11, 26)
    assert [f.rule for f in check.blocking] == ["opioid-washout"]
    assert check.explanation() == (
        "The safety screen says wait (Percocet 5/325): the earliest start is 2026-11-26, "
        "and this plan starts on 2026-11-25."
    )


def test_a_wait_without_an_earliest_start_is_refused_whatever_the_start() -> None:
    # A stopped opioid with no last-dose date: the screen cannot name a first day.
    undated = Finding(
        rule="opioid-washout-undated",
        severity="wait",
        subject="oxycodone",
        message="Ask for the date of the last dose.",
        sources=("fda-revia-label",),
    )
    screening = Screening("wait", None, (undated,))
    for start in (DAY, DAY + dt.timedelta(days=365)):
        check = check_start(screening, start, DAY)
        assert check.refusal == "no-earliest-start"
        assert check.blocking == (undated,)
        assert check.explanation().startswith(
            "The safety screen says wait and cannot give a start date yet (oxycodone)"
        )


def test_a_start_before_the_profiles_day_is_refused_even_when_eligible() -> None:
    profile = _profile()
    assert screening_day(profile.as_of, DAY - dt.timedelta(days=10)) == DAY
    check = check_plan_start(profile, DAY - dt.timedelta(days=10))
    assert check.screening.verdict != "contraindicated"
    assert check.screening.earliest_start == DAY
    assert check.refusal == "before-screening"
    assert check.explanation() == (
        "This plan starts on 2026-11-13, before 2026-11-23: the safety screen speaks for "
        "2026-11-23 and later, not for earlier days."
    )


def test_a_start_before_the_profiles_day_inside_a_washout_names_the_washout() -> None:
    check = check_plan_start(_profile(PERCOCET_4_DAYS_AGO), dt.date(2026, 11, 1))
    assert check.refusal == "before-earliest-start"
    assert "the earliest start is 2026-11-26" in check.explanation()


@pytest.mark.parametrize("verdict", ["eligible", "caution"])
def test_eligible_and_caution_allow_a_start_on_or_after_the_earliest_start(verdict: str) -> None:
    caution = Finding("kidney-impaired", "caution", "Kidney function: impaired", "x", ("s",))
    findings = (caution,) if verdict == "caution" else ()
    screening = Screening(verdict, DAY, findings)  # type: ignore[arg-type]
    assert check_start(screening, DAY, DAY).allowed
    assert check_start(screening, DAY + dt.timedelta(days=1), DAY).allowed
    assert check_start(screening, DAY - dt.timedelta(days=1), DAY).refusal == "before-screening"


def test_a_wait_allows_a_start_once_its_findings_resolve() -> None:
    washout = Finding("opioid-washout", "wait", "codeine", "x", ("s",), dt.date(2026, 11, 30))
    screening = Screening("wait", dt.date(2026, 11, 30), (washout,))
    assert check_start(screening, dt.date(2026, 11, 30), DAY).allowed
    refused = check_start(screening, dt.date(2026, 11, 29), DAY)
    assert refused.refusal == "before-earliest-start"
    assert refused.blocking == (washout,)


def test_an_override_with_a_reason_lets_a_refused_start_through_and_records_who_and_when() -> None:
    check = check_plan_start(_profile(TRAMADOL), DAY)
    decision = decide(check, "  Tramadol stops tonight; urine screen clean.  ", at=NOW, by="dr@x")
    assert decision.allowed
    assert decision.override is not None
    assert decision.override.reason == "Tramadol stops tonight; urine screen clean."
    assert (decision.override.at, decision.override.by) == (NOW, "dr@x")
    assert decision.check is check


def test_without_an_override_a_refused_start_stays_refused() -> None:
    decision = decide(check_plan_start(_profile(TRAMADOL), DAY), None, at=NOW)
    assert not decision.allowed
    assert decision.override is None


def test_a_reason_for_a_start_the_screen_allows_is_not_recorded_as_an_override() -> None:
    decision = decide(check_plan_start(_profile(), DAY), "just in case", at=NOW)
    assert decision.allowed
    assert decision.override is None


@pytest.mark.parametrize("reason", ["", "   ", "\n\t", "x" * (OVERRIDE_REASON_MAX + 1)])
def test_an_override_needs_a_reason_of_bounded_length(reason: str) -> None:
    check = check_plan_start(_profile(TRAMADOL), DAY)
    with pytest.raises(InputError) as caught:
        decide(check, reason, at=NOW)
    [problem] = caught.value.problems
    assert problem.field == "override_reason"
    assert problem.expected == (
        "the reason for starting against the safety screen (1 to 1000 characters)"
    )


def test_an_override_reason_at_the_length_limit_is_kept_whole() -> None:
    reason = "y" * OVERRIDE_REASON_MAX
    assert override_reason(reason) == reason
    assert override_reason(None) is None
    with pytest.raises(InputError) as caught:
        override_reason(" ", field="--override-reason")
    assert caught.value.problems[0].field == "--override-reason"


def test_a_refusal_names_the_callers_fields_with_the_screens_words() -> None:
    early = check_plan_start(_profile(PERCOCET_4_DAYS_AGO), dt.date(2026, 11, 25))
    assert str(early.problem("--start", "--override-reason")) == (
        '--start: got "2026-11-25"; expected a start on or after 2026-11-26, the earliest start '
        "the safety screen allows (it says wait: Percocet 5/325); or --override-reason with the "
        "reason for starting against the screen"
    )
    contraindicated = check_plan_start(_profile(TRAMADOL), DAY)
    assert str(contraindicated.problem("start", "override_reason")) == (
        "override_reason: got nothing; expected the reason for starting against the safety "
        "screen, which says contraindicated (tramadol 50 mg) and gives no start date"
    )
    past = check_plan_start(_profile(), DAY - dt.timedelta(days=1))
    assert past.problem("start", "override_reason").field == "start"
    undated = Finding("opioid-washout-undated", "wait", "oxycodone", "x", ("s",))
    no_date = check_start(Screening("wait", None, (undated,)), DAY, DAY)
    assert no_date.problem("start", "override_reason").expected.endswith(
        "which says wait and cannot give a start date yet (oxycodone)"
    )
    with pytest.raises(ValueError, match="allowed"):
        check_plan_start(_profile(), DAY).problem("start", "override_reason")
