"""Courses of LDN: what was handed to each patient, a clinician's stop, and the whole course read
at once for clinic outcomes and exports.

A dispense fills the plan current on its day (the newest plan written on or before it); it is
never deleted, only marked entered in error. A stop ends the patient's current plan; LDN given
again needs a new plan. Every write is audited with what it recorded.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable
from typing import Any, TypeVar, cast

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from ldnkit.store.access import Access, Forbidden, NotFound, audit, is_row_id
from ldnkit.store.clinic import _plan, _plans_with_override_author
from ldnkit.store.database import aware
from ldnkit.store.diary import _author, entry_of
from ldnkit.store.models import (
    AccountRow,
    DiaryRow,
    DiaryVersionRow,
    DispenseRow,
    LdnStopRow,
    PatientRow,
    PlanRow,
    ScreeningRow,
    utcnow,
)
from ldnkit.store.records import (
    Actor,
    CourseRecord,
    DiaryRecord,
    DispenseRecord,
    DispenseStatus,
    ProfileSnapshot,
    StopReason,
    StopRecord,
)
from ldnkit.validation import InputError

STOP_REASONS: dict[StopReason, str] = {
    "side_effects": "side effects",
    "no_benefit": "no benefit",
    "cost": "cost",
    "patient_choice": "the patient's choice",
    "other": "other",
}


def _dispense(row: DispenseRow, email: str | None) -> DispenseRecord:
    return DispenseRecord(
        row.id,
        row.patient_id,
        row.plan_id,
        row.dispensed_on,
        row.days_supply,
        cast(DispenseStatus, row.status),
        email,
        aware(row.recorded_at),
    )


def _stop(row: LdnStopRow, email: str | None) -> StopRecord:
    return StopRecord(
        row.id,
        row.patient_id,
        row.plan_id,
        row.stopped_on,
        cast(StopReason, row.reason),
        row.note,
        email,
        aware(row.recorded_at),
    )


def _written_on(plan: PlanRow) -> dt.date:
    """The day a plan was written (saved), in UTC as every export dates it."""
    return aware(plan.created_at).astimezone(dt.UTC).date()


def _dispenses_query() -> Select[DispenseRow, str]:
    return select(DispenseRow, AccountRow.email).outerjoin(
        AccountRow, AccountRow.id == DispenseRow.recorded_by
    )


def _stops_query() -> Select[LdnStopRow, str]:
    return select(LdnStopRow, AccountRow.email).outerjoin(
        AccountRow, AccountRow.id == LdnStopRow.recorded_by
    )


def _add_audited(
    s: Session, actor: Actor, row: DispenseRow | LdnStopRow, what: str, detail: str
) -> None:
    """Add a record of the patient's course, with an audit entry saying what it records."""
    s.add(row)
    s.flush()
    audit(s, actor, "write", row.patient_id, what, detail)


def _not_future(field: str, day: dt.date, today: dt.date) -> None:
    if day > today:
        raise InputError.single(field, day.isoformat(), f"a day on or before today ({today})")


class Courses(Access):
    """Dispenses and stops of LDN, and each patient's course read whole."""

    # -- dispenses ------------------------------------------------------------------------

    def record_dispense(
        self,
        actor: Actor,
        patient_id: int,
        dispensed_on: dt.date,
        days_supply: int,
        *,
        today: dt.date,
    ) -> DispenseRecord:
        """Record LDN handed to the patient on a day, for the plan current on that day.

        Bad input (InputError naming `dispensed_on`): a day in the future, a day before any
        plan was written, or a day after the plan current then was stopped.
        """
        _not_future("dispensed_on", dispensed_on, today)
        with self._patient_tx(actor, patient_id, "write", "dispense", clinician_only=True) as (
            s,
            _,
        ):
            written = s.scalars(
                select(PlanRow)
                .where(PlanRow.patient_id == patient_id)
                .order_by(PlanRow.created_at, PlanRow.id)
            )
            # A patient has a handful of plans: the day each was written is read here, in UTC
            # as every export dates it, not by each database's own date functions.
            plan = next(
                (p for p in reversed(list(written)) if _written_on(p) <= dispensed_on), None
            )
            if plan is None:
                raise InputError.single(
                    "dispensed_on",
                    dispensed_on.isoformat(),
                    "a day on or after the day the patient's plan was written (save the plan "
                    "first)",
                )
            stop = s.scalar(select(LdnStopRow).where(LdnStopRow.plan_id == plan.id))
            if stop is not None and stop.stopped_on < dispensed_on:
                raise InputError.single(
                    "dispensed_on",
                    dispensed_on.isoformat(),
                    f"a day on or before {stop.stopped_on}, when LDN was stopped (save a new "
                    "plan to start again)",
                )
            row = DispenseRow(
                patient_id=patient_id,
                plan_id=plan.id,
                dispensed_on=dispensed_on,
                days_supply=days_supply,
                status="completed",
                recorded_by=actor.account_id,
            )
            detail = f"{days_supply} days' supply dispensed on {dispensed_on} (plan {plan.id})"
            _add_audited(s, actor, row, "dispense recorded", detail)
            return _dispense(row, actor.email)

    def mark_dispense_in_error(
        self, actor: Actor, patient_id: int, dispense_id: int
    ) -> DispenseRecord:
        """Mark a dispense entered in error: kept, but no longer counted."""
        with self._patient_tx(
            actor, patient_id, "write", "dispense entered in error", clinician_only=True
        ) as (s, _):
            row = (
                s.get(DispenseRow, dispense_id, with_for_update=True)
                if is_row_id(dispense_id)
                else None
            )
            if row is None or row.patient_id != patient_id:
                raise NotFound(f"dispense {dispense_id}")
            if row.status != "entered-in-error":
                row.status = "entered-in-error"
                row.corrected_by = actor.account_id
                row.corrected_at = utcnow()
                audit(
                    s,
                    actor,
                    "write",
                    patient_id,
                    "dispense entered in error",
                    f"dispense {row.id} of {row.dispensed_on} ({row.days_supply} days)",
                )
            return _dispense(row, None)

    def dispenses(self, actor: Actor, patient_id: int) -> list[DispenseRecord]:
        """The patient's dispenses, oldest day first (those entered in error too)."""
        with self._patient_tx(actor, patient_id, "read", "dispenses") as (s, _):
            query = (
                _dispenses_query()
                .where(DispenseRow.patient_id == patient_id)
                .order_by(DispenseRow.dispensed_on, DispenseRow.id)
            )
            return [_dispense(row, email) for row, email in s.execute(query)]

    # -- stops ----------------------------------------------------------------------------

    def stop_ldn(
        self,
        actor: Actor,
        patient_id: int,
        stopped_on: dt.date,
        reason: StopReason,
        note: str,
        *,
        today: dt.date,
    ) -> StopRecord:
        """Stop LDN: the patient's current plan ends on `stopped_on`, for `reason`.

        Bad input (InputError): a day in the future or before the plan was written, a patient
        without a plan, or a plan already stopped.
        """
        _not_future("stopped_on", stopped_on, today)
        with self._patient_tx(actor, patient_id, "write", "LDN stopped", clinician_only=True) as (
            s,
            _,
        ):
            plan = s.scalar(
                select(PlanRow)
                .where(PlanRow.patient_id == patient_id)
                .order_by(PlanRow.id.desc())
                .limit(1)
                .with_for_update()
            )
            if plan is None:
                raise InputError.single(
                    "stopped_on", stopped_on.isoformat(), "a patient with a plan to stop"
                )
            stopped = s.scalar(select(LdnStopRow).where(LdnStopRow.plan_id == plan.id))
            if stopped is not None:
                raise InputError.single(
                    "stopped_on",
                    stopped_on.isoformat(),
                    f"a plan not stopped yet (this one was stopped on {stopped.stopped_on})",
                )
            if stopped_on < _written_on(plan):
                raise InputError.single(
                    "stopped_on",
                    stopped_on.isoformat(),
                    f"a day on or after {_written_on(plan)}, when the plan was written",
                )
            row = LdnStopRow(
                patient_id=patient_id,
                plan_id=plan.id,
                stopped_on=stopped_on,
                reason=reason,
                note=note,
                recorded_by=actor.account_id,
            )
            detail = f"on {stopped_on}, {STOP_REASONS[reason]}" + (f": {note}" if note else "")
            _add_audited(s, actor, row, "LDN stopped", detail)
            return _stop(row, actor.email)

    def stops(self, actor: Actor, patient_id: int) -> list[StopRecord]:
        """The patient's stops of LDN, oldest first."""
        with self._patient_tx(actor, patient_id, "read", "LDN stops") as (s, _):
            query = _stops_query().where(LdnStopRow.patient_id == patient_id)
            return [_stop(row, email) for row, email in s.execute(query.order_by(LdnStopRow.id))]

    # -- whole courses --------------------------------------------------------------------

    def patient_course(self, actor: Actor, patient_id: int) -> CourseRecord:
        """One patient's whole course (for their FHIR export), scoped and audited."""
        with self._patient_tx(actor, patient_id, "read", "course") as (s, _):
            (record,) = _course_records(s, select(PatientRow.id).where(PatientRow.id == patient_id))
            return record

    def course_records(self, actor: Actor | None, purpose: str) -> list[CourseRecord]:
        """Every course the actor may count: a clinician's own patients, or for an analyst (and
        for the operator, `actor` None: the command line) the whole clinic.

        Read in one transaction and audited once, as `purpose` ("clinic outcomes", "bulk
        export"), with how many patients it covered; a patient's account is refused.
        """
        if actor is not None and actor.role not in ("clinician", "analyst"):
            raise Forbidden("a patient sees their own record only")
        with self._tx() as s:
            in_scope = select(PatientRow.id)
            if actor is not None and actor.role == "clinician":
                in_scope = in_scope.where(PatientRow.clinician_id == actor.clinician_id)
            records = _course_records(s, in_scope)
            audit(s, actor, "read", None, purpose, f"{len(records)} patients, in aggregate")
            return records


def _course_records(s: Session, in_scope: Select[int]) -> list[CourseRecord]:
    patients = list(
        s.scalars(select(PatientRow).where(PatientRow.id.in_(in_scope)).order_by(PatientRow.id))
    )
    plans = _by_patient(
        s,
        _plans_with_override_author()
        .where(PlanRow.patient_id.in_(in_scope))
        .order_by(PlanRow.created_at, PlanRow.id),
        _plan,
    )
    dispenses = _by_patient(
        s,
        _dispenses_query()
        .where(DispenseRow.patient_id.in_(in_scope))
        .order_by(DispenseRow.dispensed_on, DispenseRow.id),
        _dispense,
    )
    stops = _by_patient(
        s,
        _stops_query().where(LdnStopRow.patient_id.in_(in_scope)).order_by(LdnStopRow.id),
        _stop,
    )
    diary = _diaries(s, in_scope)
    profiles: dict[int, list[ProfileSnapshot]] = defaultdict(list)
    for patient_id, profile, created in s.execute(
        select(ScreeningRow.patient_id, ScreeningRow.profile, ScreeningRow.created_at)
        .where(ScreeningRow.patient_id.in_(in_scope))
        .order_by(ScreeningRow.id)
    ):
        profiles[patient_id].append(ProfileSnapshot(_dict(profile), aware(created)))
    return [
        CourseRecord(
            patient_id=p.id,
            clinician_id=p.clinician_id,
            name=p.name,
            plans=plans[p.id],
            dispenses=dispenses[p.id],
            stops=stops[p.id],
            diary=diary[p.id],
            profiles=[*profiles[p.id], ProfileSnapshot(_dict(p.profile), aware(p.created_at))],
        )
        for p in patients
    ]


R = TypeVar("R")


def _by_patient(
    s: Session, query: Select[Any, str], record: Callable[[Any, str | None], R]
) -> dict[int, list[R]]:
    """Each row (with the email beside it) made a record, by the row's patient."""
    found: dict[int, list[R]] = defaultdict(list)
    for row, email in s.execute(query):
        found[row.patient_id].append(record(row, email))
    return found


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _diaries(s: Session, in_scope: Select[int]) -> dict[int, list[DiaryRecord]]:
    """Every diary day of the patients in scope, with its author and earlier versions."""
    versions = {
        (patient_id, day): count
        for patient_id, day, count in s.execute(
            select(DiaryVersionRow.patient_id, DiaryVersionRow.day, func.count())
            .where(DiaryVersionRow.patient_id.in_(in_scope))
            .group_by(DiaryVersionRow.patient_id, DiaryVersionRow.day)
        )
    }
    diaries: dict[int, list[DiaryRecord]] = defaultdict(list)
    for row, email in s.execute(
        select(DiaryRow, AccountRow.email)
        .outerjoin(AccountRow, AccountRow.id == DiaryRow.entered_by)
        .where(DiaryRow.patient_id.in_(in_scope))
        .order_by(DiaryRow.patient_id, DiaryRow.day)
    ):
        diaries[row.patient_id].append(
            DiaryRecord(
                entry_of(row),
                _author(row.entered_by, row.entered_role, email),
                aware(row.updated_at),
                versions.get((row.patient_id, row.day), 0),
            )
        )
    return diaries
