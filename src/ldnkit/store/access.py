"""Who may see which patient record, and the audit trail of every read and write of one.

Each call that touches a patient record first checks that the actor may see that patient (a
clinician their own patients, a patient their own record) and writes an audit row in the same
transaction, so a read or write is never without its audit entry; a refusal is audited too.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import select
from sqlalchemy.orm import Session

from ldnkit.store.database import Transactions, aware
from ldnkit.store.models import AccountRow, AuditRow, PatientRow
from ldnkit.store.records import Actor, AuditEvent

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

    def patient_audit(self, actor: Actor, patient_id: int, limit: int = 500) -> list[AuditEvent]:
        """Who read or changed this patient's record, newest first (for their clinician)."""
        with self._patient_tx(actor, patient_id, "read", "audit trail", clinician_only=True) as (
            s,
            _,
        ):
            return _events(s, patient_id, limit)
