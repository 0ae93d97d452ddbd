"""Making a titration plan: build it, screen the patient for its start, obey the screen, keep it.

The web plan builder, the JSON API and `ldnkit plan --profile` all come through here, so a plan
is checked against the safety screen the same way wherever it is made.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from ldnkit.domain.formulation import CapsuleSupply, LiquidSupply, dispense
from ldnkit.domain.plan_gate import StartCheck, StartDecision, check_plan_start, decide
from ldnkit.domain.profile import PatientProfile
from ldnkit.domain.screening import Screening, screen
from ldnkit.domain.titration import Plan, PlanRequest, build_plan
from ldnkit.services.screening import current_profile
from ldnkit.store.records import Actor, SavedPlan
from ldnkit.store.repository import Store


class PlanRefused(Exception):
    """The safety screen does not allow the plan's start, and no override was given."""

    def __init__(self, check: StartCheck) -> None:
        self.check = check
        super().__init__(check.explanation())


@dataclass(frozen=True)
class CheckedPlan:
    """A plan that may be given: built, and its start allowed by the screen or overridden."""

    request: PlanRequest
    plan: Plan
    decision: StartDecision


def check_plan(
    profile: PatientProfile,
    request: PlanRequest,
    override_reason: str | None = None,
    *,
    by: str | None = None,
    at: dt.datetime | None = None,
) -> CheckedPlan:
    """Build the plan and check its start against the screen of `profile`.

    A plan that cannot be built is bad input before anything else; a start the screen does not
    allow raises PlanRefused unless `override_reason` records the clinician's decision.
    """
    plan = build_plan(request)
    if request.dispensing is not None:
        # A plan that cannot be dispensed as asked (a liquid dose above the tablet) is bad
        # input too: nothing is saved that the pharmacy could not make.
        dispense(plan, request.dispensing, allow_above_5mg=request.allow_above_5mg)
    check = check_plan_start(profile, request.start)
    decision = decide(check, override_reason, at=at or dt.datetime.now(dt.UTC), by=by)
    if not decision.allowed:
        raise PlanRefused(check)
    return CheckedPlan(request, plan, decision)


@dataclass(frozen=True)
class PlanPreview:
    """A plan as the builder shows it before saving: its steps, what to dispense, and whether
    the patient's safety screen allows its start."""

    plan: Plan
    supply: CapsuleSupply | LiquidSupply | None
    check: StartCheck


def preview(
    store: Store, actor: Actor, patient_id: int, request: PlanRequest, today: dt.date | None = None
) -> PlanPreview:
    """Build the plan, count what to dispense, and check its start against today's screen.

    Bad numbers raise InputError naming every field; nothing is saved.
    """
    plan = build_plan(request)
    supply = (
        dispense(plan, request.dispensing, allow_above_5mg=request.allow_above_5mg)
        if request.dispensing is not None
        else None
    )
    return PlanPreview(plan, supply, start_check(store, actor, patient_id, request.start, today))


def screen_today(
    store: Store, actor: Actor, patient_id: int, today: dt.date | None = None
) -> Screening:
    """The safety screen of the patient's current profile as of today (the plan page's verdict).

    Not saved: it is the screen the plan builder works from, recomputed each time it is shown.
    """
    return screen(current_profile(store, actor, patient_id, today))


def start_check(
    store: Store, actor: Actor, patient_id: int, start: dt.date, today: dt.date | None = None
) -> StartCheck:
    """Whether a plan for this patient may start on `start` (for a preview, before saving)."""
    return check_plan_start(current_profile(store, actor, patient_id, today), start)


def save_plan(
    store: Store,
    actor: Actor,
    patient_id: int,
    request: PlanRequest,
    override_reason: str | None = None,
    *,
    today: dt.date | None = None,
    written_at: dt.datetime | None = None,
) -> SavedPlan:
    """Save a clinician's plan for a patient once the screen allows its start (or is overridden).

    The patient's current profile is screened for the plan's start; the plan is kept with that
    screen's verdict and earliest start, and with the override when there is one (audited).
    Only a clinician may save one: the store refuses anyone else, and audits the refusal.
    `written_at` dates a plan written earlier (entered from other records; default now).
    """
    profile = current_profile(store, actor, patient_id, today)
    checked = check_plan(profile, request, override_reason, by=actor.email)
    return store.save_plan(
        actor,
        patient_id,
        request.protocol,
        request.start,
        request.model_dump(mode="json"),
        [s.model_dump(mode="json") for s in checked.plan.steps],
        check=checked.decision.check,
        override=checked.decision.override,
        written_at=written_at,
    )
