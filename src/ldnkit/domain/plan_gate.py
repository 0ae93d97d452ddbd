"""Whether a titration plan may start on its first day, given the safety screen.

A plan obeys the screen: it does not start for a contraindicated patient, before the screen's
earliest start, or while the screen cannot name a start day at all (a stopped opioid without a
last-dose date). A clinician may still decide otherwise, but only explicitly: an override with a
written reason, which is kept with the plan, audited and printed on it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Literal

from ldnkit.domain.profile import PatientProfile
from ldnkit.domain.screening import Finding, Screening, screen
from ldnkit.validation import InputError, Problem, show

Refusal = Literal[
    "contraindicated", "no-earliest-start", "before-earliest-start", "before-screening"
]

# Long enough for a clinical justification, short enough to print on one plan.
OVERRIDE_REASON_MAX = 1000
OVERRIDE_REASON_EXPECTED = (
    f"the reason for starting against the safety screen (1 to {OVERRIDE_REASON_MAX} characters)"
)


def screening_day(profile_as_of: dt.date, start: dt.date) -> dt.date:
    """The day a plan is screened for: its start, or the profile's day if the plan starts earlier.

    Screening the start day itself catches what is still true then (a washout not yet over, a
    procedure a few days later). A profile cannot speak for days before it was recorded, so a plan
    that starts earlier is screened for the profile's day and refused (unless overridden).
    """
    return max(profile_as_of, start)


def screen_for_start(profile: PatientProfile, start: dt.date) -> Screening:
    """The safety screen of `profile` for a plan starting on `start`."""
    day = screening_day(profile.as_of, start)
    return screen(profile if day == profile.as_of else profile.model_copy(update={"as_of": day}))


def _day(value: dt.date | None, mode: Literal["python", "json"]) -> Any:
    return value.isoformat() if mode == "json" and value is not None else value


@dataclass(frozen=True, slots=True)
class StartCheck:
    """A plan's start day against the screen made for it: allowed, or why not."""

    start: dt.date
    screened_on: dt.date
    screening: Screening
    refusal: Refusal | None

    @property
    def allowed(self) -> bool:
        return self.refusal is None

    @property
    def blocking(self) -> tuple[Finding, ...]:
        """The findings that stand against this start (empty when it is allowed)."""
        if self.refusal is None:
            return ()
        findings = self.screening.findings
        if self.refusal == "contraindicated":
            return tuple(f for f in findings if f.severity == "contraindicated")
        late = tuple(
            f for f in findings if f.resolves_on is not None and f.resolves_on > self.start
        )
        return late or tuple(f for f in findings if f.severity == "wait")

    def model_dump(self, mode: Literal["python", "json"] = "python") -> dict[str, Any]:
        """The check as the plan's outputs show it (the CLI's --json, the JSON API)."""
        return {
            "screened_on": _day(self.screened_on, mode),
            "verdict": self.screening.verdict,
            "earliest_start": _day(self.screening.earliest_start, mode),
            "start_allowed": self.allowed,
            "explanation": self.explanation(),
            "findings": [f.model_dump(mode) for f in self.screening.findings],
        }

    @property
    def _subjects(self) -> str:
        """What the blocking findings are about: "tramadol 50 mg"."""
        return "; ".join(dict.fromkeys(f.subject for f in self.blocking))

    @property
    def _why(self) -> str:
        return f" ({self._subjects})" if self._subjects else ""

    def explanation(self) -> str:
        """What the screen says about this start, in one sentence (empty when allowed)."""
        verdict = self.screening.verdict
        earliest = self.screening.earliest_start
        why = self._why
        if self.refusal == "contraindicated":
            return f"The safety screen says contraindicated{why}: it gives no start date."
        if self.refusal == "no-earliest-start":
            return (
                f"The safety screen says {verdict} and cannot give a start date yet{why}: "
                "what its findings ask for has to be settled first."
            )
        if self.refusal == "before-earliest-start":
            return (
                f"The safety screen says {verdict}{why}: the earliest start is {earliest}, "
                f"and this plan starts on {self.start}."
            )
        if self.refusal == "before-screening":
            return (
                f"This plan starts on {self.start}, before {self.screened_on}: the safety screen "
                f"speaks for {self.screened_on} and later, not for earlier days."
            )
        return ""

    def problem(self, start_field: str, reason_field: str) -> Problem:
        """The refusal as bad input, named by the caller's fields (an option, a JSON key)."""
        if self.refusal is None:
            raise ValueError("an allowed start is not a problem")
        verdict = self.screening.verdict
        why = self._why
        against = f"or {reason_field} with the reason for starting against the screen"
        if self.refusal == "before-earliest-start":
            return Problem(
                start_field,
                show(self.start.isoformat()),
                f"a start on or after {self.screening.earliest_start}, the earliest start the "
                f"safety screen allows (it says {verdict}"
                + (f": {self._subjects}" if self._subjects else "")
                + f"); {against}",
            )
        if self.refusal == "before-screening":
            return Problem(
                start_field,
                show(self.start.isoformat()),
                f"a start on or after {self.screened_on} (the safety screen speaks for that day "
                f"and later); {against}",
            )
        if self.refusal == "no-earliest-start":
            return Problem(
                reason_field,
                "nothing",
                f"the reason for starting against the safety screen, which says {verdict} and "
                f"cannot give a start date yet{why}",
            )
        return Problem(
            reason_field,
            "nothing",
            "the reason for starting against the safety screen, which says contraindicated"
            f"{why} and gives no start date",
        )


def check_start(screening: Screening, start: dt.date, screened_on: dt.date) -> StartCheck:
    """Whether a plan may start on `start`, given the screen made for `screened_on`."""
    earliest = screening.earliest_start
    refusal: Refusal | None = None
    if screening.verdict == "contraindicated":
        refusal = "contraindicated"
    elif earliest is None:
        refusal = "no-earliest-start"
    elif start < earliest:
        # Nothing but the screen's own day holds the start back: the plan starts in its past.
        held = any(f.resolves_on is not None and f.resolves_on > start for f in screening.findings)
        refusal = "before-earliest-start" if held or start >= screened_on else "before-screening"
    return StartCheck(start, screened_on, screening, refusal)


def check_plan_start(profile: PatientProfile, start: dt.date) -> StartCheck:
    """Screen `profile` for a plan starting on `start`, and check the start against it."""
    screening = screen_for_start(profile, start)
    return check_start(screening, start, screening_day(profile.as_of, start))


def override_reason(text: str | None, field: str = "override_reason") -> str | None:
    """A clinician's reason for starting against the screen, trimmed; None when none was given.

    Given but blank, or too long to print, it is bad input: an override is never implied.
    """
    if text is None:
        return None
    reason = text.strip()
    if not reason or len(reason) > OVERRIDE_REASON_MAX:
        raise InputError.single(field, text, OVERRIDE_REASON_EXPECTED)
    return reason


@dataclass(frozen=True, slots=True)
class Override:
    """A clinician's explicit decision to start a plan against the screen, and why."""

    reason: str
    at: dt.datetime
    by: str | None = None  # the deciding account; None where there is none (the command line)

    def model_dump(self, mode: Literal["python", "json"] = "python") -> dict[str, Any]:
        at: Any = self.at.isoformat() if mode == "json" else self.at
        return {"reason": self.reason, "by": self.by, "at": at}


@dataclass(frozen=True, slots=True)
class StartDecision:
    """The check and, when the start was refused, the override that lets the plan be saved."""

    check: StartCheck
    override: Override | None

    @property
    def allowed(self) -> bool:
        return self.check.allowed or self.override is not None


def decide(
    check: StartCheck, reason: str | None, *, at: dt.datetime, by: str | None = None
) -> StartDecision:
    """The start check with the clinician's override applied.

    An override is recorded only when it overrides something: a reason given for a start the
    screen allows is not an override (there was nothing to decide against).
    """
    reason = override_reason(reason)
    if check.allowed or reason is None:
        return StartDecision(check, None)
    return StartDecision(check, Override(reason, at, by))
