"""Who may see which patient record, and the audit trail of every read and write of one.

Each call that touches a patient record first checks that the actor may see that patient (a
clinician their own patients, a patient their own record) and writes an audit row in the same
transaction, so a read or write is never without its audit entry; a refusal is audited too.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ldnkit.store.database import Transactions, aware
from ldnkit.store.models import AccountRow, AuditRow, PatientRow
from ldnkit.store.records import Actor, AuditEvent, AuditGroup, AuditListing, AuditPerson

# Row ids are INTEGER columns: 32-bit on PostgreSQL. An id from a URL or form beyond that can
# name no row, and binding it would fail in the driver instead of answering "not found".
_MAX_ROW_ID = 2**31 - 1


def is_row_id(value: int) -> bool:
    return 0 < value <= _MAX_ROW_ID


class NotFound(LookupError):
    """No such record, or not one the actor may see (the two look the same on purpose)."""


class Forbidden(PermissionError):
    """The actor may see the record but not do this to it (a patient writing a plan)."""


def audit(
    s: Session,
    actor: Actor | None,
    action: str,
    patient_id: int | None,
    what: str,
    detail: str = "",
) -> None:
    """Add an audit row to the transaction `s` (kept or lost with what it records)."""
    s.add(
        AuditRow(
            account_id=actor.account_id if actor else None,
            action=action,
            patient_id=patient_id,
            what=what,
            detail=detail,
        )
    )


def _events(s: Session, patient_id: int | None, limit: int) -> list[AuditEvent]:
    query = (
        select(AuditRow, AccountRow.email)
        .outerjoin(AccountRow, AccountRow.id == AuditRow.account_id)
        .order_by(AuditRow.id.desc())
        .limit(limit)
    )
    if patient_id is not None:
        query = query.where(AuditRow.patient_id == patient_id)
    return [
        AuditEvent(r.id, aware(r.at), r.account_id, r.action, r.patient_id, r.what, r.detail, email)
        for r, email in s.execute(query)
    ]


def _utc_day(s: Session) -> Any:
    """The UTC calendar day of an audit row, as SQL (PostgreSQL would use the session's zone)."""
    if s.get_bind().dialect.name == "postgresql":
        return func.date(func.timezone("UTC", AuditRow.at))
    return func.date(AuditRow.at)  # SQLite keeps the UTC time as written


def _as_date(value: object) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


def _groups(
    s: Session, patient_id: int, action: str | None, account_id: int | None, limit: int
) -> list[AuditGroup]:
    # One group: the same person doing the same thing to the same part of the record on one day.
    same = (
        _utc_day(s).label("day"),
        AuditRow.account_id,
        AccountRow.email,
        AccountRow.role,
        AuditRow.action,
        AuditRow.what,
        AuditRow.detail,
    )
    query = (
        select(
            *same,
            func.count().label("events"),
            func.min(AuditRow.at).label("first_at"),
            func.max(AuditRow.at).label("last_at"),
        )
        .outerjoin(AccountRow, AccountRow.id == AuditRow.account_id)
        .where(AuditRow.patient_id == patient_id)
        .group_by(*same)
        .order_by(func.max(AuditRow.at).desc(), func.max(AuditRow.id).desc())
        .limit(limit)
    )
    if action is not None:
        query = query.where(AuditRow.action == action)
    if account_id is not None:
        query = query.where(AuditRow.account_id == account_id)
    return [
        AuditGroup(
            _as_date(r.day),
            r.account_id,
            r.email,
            r.role,
            r.action,
            r.what,
            r.detail,
            int(r.events),
            aware(r.first_at),
            aware(r.last_at),
        )
        for r in s.execute(query)
    ]


def _people(s: Session, patient_id: int) -> list[AuditPerson]:
    query = (
        select(AuditRow.account_id, AccountRow.email, AccountRow.role)
        .outerjoin(AccountRow, AccountRow.id == AuditRow.account_id)
        .where(AuditRow.patient_id == patient_id)
        .distinct()
    )
    found = [AuditPerson(r.account_id, r.email, r.role) for r in s.execute(query)]
    return sorted(found, key=lambda p: (p.email is None, p.email or ""))


class Access(Transactions):
    """Scoped, audited transactions on one patient's record, and the audit trail itself."""

    def _scoped(
        self, s: Session, actor: Actor, patient_id: int, action: str, what: str
    ) -> PatientRow:
        """The patient row when the actor may see it; audits the access either way."""
        if not is_row_id(patient_id):
            raise NotFound(f"patient {patient_id}")
        row = s.get(PatientRow, patient_id)
        allowed = row is not None and (
            (actor.role == "clinician" and row.clinician_id == actor.clinician_id)
            or (actor.role == "patient" and row.id == actor.patient_id)
        )
        if row is None or not allowed:
            raise NotFound(f"patient {patient_id}")
        audit(s, actor, action, patient_id, what)
        return row

    def _denied(self, actor: Actor, patient_id: int, what: str) -> None:
        with self._tx() as s:
            audit(s, actor, "denied", patient_id if is_row_id(patient_id) else None, what)

    @contextmanager
    def _patient_tx(
        self, actor: Actor, patient_id: int, action: str, what: str, *, clinician_only: bool = False
    ) -> Iterator[tuple[Session, PatientRow]]:
        """A transaction on one patient's record; a refusal is itself audited, then raised."""
        try:
            with self._tx() as s:
                row = self._scoped(s, actor, patient_id, action, what)
                if clinician_only and actor.role != "clinician":
                    raise Forbidden(what)
                yield s, row
        except (NotFound, Forbidden):
            self._denied(actor, patient_id, what)
            raise

    def audit_trail(self, patient_id: int | None = None, limit: int = 1000) -> list[AuditEvent]:
        """The newest audit events, for one patient or for all (an operator's view, unscoped)."""
        with self._read() as s:
            return _events(s, patient_id, limit)

    def patient_audit_listing(
        self,
        actor: Actor,
        patient_id: int,
        *,
        action: str | None = None,
        account_id: int | None = None,
        limit: int = 500,
    ) -> AuditListing:
        """The patient's audit trail for their clinician, alike events counted together.

        Events are grouped by UTC day, account, action, what and detail (newest group first);
        `action` and `account_id` keep only those. The accounts listed are every one that
        appears in the trail, whatever the filter.
        """
        with self._patient_tx(actor, patient_id, "read", "audit trail", clinician_only=True) as (
            s,
            _,
        ):
            return AuditListing(
                _groups(s, patient_id, action, account_id, limit), _people(s, patient_id)
            )
