"""Saving a plan through the service: screened for its start, refused or overridden, audited.

Runs on a SQLite file and on PostgreSQL (when the test URL is set).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ldnkit.domain.titration import PlanRequest
from ldnkit.services import plans
from ldnkit.store.passwords import hash_password
from ldnkit.store.records import Account
from ldnkit.store.repository import Forbidden, Store
from ldnkit.validation import InputError

TODAY = dt.date(2026, 11, 23)
PASSWORD_HASH = hash_password("plan-pass-1")
TRAMADOL: dict[str, Any] = {
    "as_of": "2026-11-01",
    "liver": "normal",
    "kidney": "normal",
    "medications": [{"name": "tramadol 50 mg", "status": "active"}],
}
# Percocet last taken 4 days before TODAY: the 7-day washout ends on 2026-11-26.
PERCOCET: dict[str, Any] = {
    **TRAMADOL,
    "medications": [{"name": "Percocet 5/325", "status": "stopped", "last_dose": "2026-11-19"}],
}


@dataclass(frozen=True)
class Clinic:
    store: Store
    doctor: Account
    tramadol: int
    percocet: int


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def clinic(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    fresh_database: Callable[[str, Path], AbstractContextManager[str]],
) -> Iterator[Clinic]:
    with fresh_database(request.param, tmp_path) as url:
        store = Store.open(url)
        store.upgrade()
        doctor = store.create_clinician("doc@plans.test", PASSWORD_HASH, "Dr Plan")
        tramadol = store.create_patient(doctor.actor, "Tom Tramadol", TRAMADOL)
        percocet = store.create_patient(
            doctor.actor, "Pia Percocet", PERCOCET, email="pia@plans.test",
            password_hash=PASSWORD_HASH,
        )  # fmt: skip
        yield Clinic(store, doctor, tramadol.id, percocet.id)
        store.close()


def _standard(start: dt.date) -> PlanRequest:
    return PlanRequest(protocol="standard", start=start)


def test_a_plan_for_the_tramadol_patient_is_refused_and_nothing_is_saved(clinic: Clinic) -> None:
    with pytest.raises(plans.PlanRefused) as caught:
        plans.save_plan(clinic.store, clinic.doctor.actor, clinic.tramadol, _standard(TODAY),
                        today=TODAY)  # fmt: skip
    assert caught.value.check.refusal == "contraindicated"
    assert "contraindicated (tramadol 50 mg)" in str(caught.value)
    assert clinic.store.current_plan(clinic.doctor.actor, clinic.tramadol) is None
    writes = [e.what for e in clinic.store.audit_trail(clinic.tramadol) if e.action == "write"]
    assert writes == ["patient"]  # the record's creation, and no plan


def test_an_override_saves_the_plan_with_the_reason_who_when_and_the_screen(
    clinic: Clinic,
) -> None:
    reason = "Tramadol stopped by the pain team tonight; urine screen booked."
    saved = plans.save_plan(
        clinic.store, clinic.doctor.actor, clinic.tramadol, _standard(TODAY), reason, today=TODAY
    )
    current = clinic.store.current_plan(clinic.doctor.actor, clinic.tramadol)
    assert current is not None
    for plan in (saved, current):
        assert plan.override is not None
        assert (plan.override.reason, plan.override.by) == (reason, "doc@plans.test")
        assert plan.override.at.tzinfo is not None
        assert plan.check is not None
        assert plan.check.screening.verdict == "contraindicated"
        assert plan.check.screening.earliest_start is None
        assert plan.check.screened_on == TODAY
        assert plan.check.refusal == "contraindicated"
        assert [f.subject for f in plan.check.blocking] == ["tramadol 50 mg"]
    trail = clinic.store.audit_trail(clinic.tramadol)
    override = next(e for e in trail if e.what == "plan started against the screen")
    assert (override.action, override.email) == ("write", "doc@plans.test")
    assert override.detail.endswith(f"Reason: {reason}")
    assert "contraindicated" in override.detail


def test_the_percocet_patients_screen_today_gives_the_washouts_end_as_earliest_start(
    clinic: Clinic,
) -> None:
    today = plans.screen_today(clinic.store, clinic.doctor.actor, clinic.percocet, TODAY)
    assert (today.verdict, today.earliest_start) == ("wait", dt.date(2026, 11, 26))


def test_the_percocet_patients_plan_starts_on_the_earliest_start_but_not_a_day_before(
    clinic: Clinic,
) -> None:
    actor = clinic.doctor.actor
    with pytest.raises(plans.PlanRefused) as caught:
        plans.save_plan(clinic.store, actor, clinic.percocet, _standard(dt.date(2026, 11, 25)),
                        today=TODAY)  # fmt: skip
    assert caught.value.check.refusal == "before-earliest-start"
    assert caught.value.check.screening.earliest_start == dt.date(2026, 11, 26)
    assert clinic.store.current_plan(actor, clinic.percocet) is None
    saved = plans.save_plan(
        clinic.store, actor, clinic.percocet, _standard(dt.date(2026, 11, 26)), today=TODAY
    )
    assert saved.override is None
    assert saved.check is not None
    assert saved.check.allowed
    assert saved.check.screened_on == dt.date(2026, 11, 26)
    assert saved.steps[0]["start"] == "2026-11-26"
    caseload = {i.record.id: i for i in clinic.store.caseload(actor)}
    listed = caseload[clinic.percocet].plan
    assert listed is not None
    assert listed.check == saved.check


def test_a_plan_refused_for_its_start_is_saved_on_override_with_the_washout_kept(
    clinic: Clinic,
) -> None:
    saved = plans.save_plan(
        clinic.store, clinic.doctor.actor, clinic.percocet, _standard(TODAY),
        "Only 1 tablet taken in the last week, confirmed by the pharmacy.", today=TODAY,
    )  # fmt: skip
    assert saved.check is not None
    assert saved.check.refusal == "before-earliest-start"
    assert saved.check.screening.earliest_start == dt.date(2026, 11, 26)
    assert [f.rule for f in saved.check.blocking] == ["opioid-washout"]


def test_a_blank_override_reason_is_bad_input_and_saves_nothing(clinic: Clinic) -> None:
    with pytest.raises(InputError) as caught:
        plans.save_plan(clinic.store, clinic.doctor.actor, clinic.tramadol, _standard(TODAY),
                        "   ", today=TODAY)  # fmt: skip
    assert caught.value.problems[0].field == "override_reason"
    assert clinic.store.current_plan(clinic.doctor.actor, clinic.tramadol) is None


def test_a_patient_cannot_save_a_plan_and_the_refusal_is_audited(clinic: Clinic) -> None:
    me = clinic.store.account_by_email("pia@plans.test")
    assert me is not None
    with pytest.raises(Forbidden):
        plans.save_plan(clinic.store, me.actor, clinic.percocet,
                        _standard(dt.date(2026, 12, 1)), today=TODAY)  # fmt: skip
    denied = [e for e in clinic.store.audit_trail(clinic.percocet) if e.action == "denied"]
    assert [(e.account_id, e.what) for e in denied] == [(me.id, "plan")]


def test_a_plan_saved_before_plans_were_checked_has_no_check(clinic: Clinic) -> None:
    actor = clinic.doctor.actor
    clinic.store.save_plan(actor, clinic.percocet, "standard", TODAY, {}, [])
    plan = clinic.store.current_plan(actor, clinic.percocet)
    assert plan is not None
    assert (plan.check, plan.override) == (None, None)
