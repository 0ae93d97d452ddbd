"""Logins, their sessions and API tokens, and the sign-in attempts counted against them."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Iterable, Mapping
from typing import Literal

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ldnkit.store.access import Access, NotFound, audit, is_row_id
from ldnkit.store.attempts import AttemptLimit, TooManyAttempts, retry_after_seconds
from ldnkit.store.database import affected, aware, secret_hash, upsert_insert
from ldnkit.store.models import (
    AccountRow,
    AuditRow,
    ClinicianRow,
    LoginAttemptRow,
    PatientRow,
    SessionRow,
    utcnow,
)
from ldnkit.store.records import Account, Actor, Role
from ldnkit.validation import InputError

SessionKind = Literal["cookie", "bearer"]

# How stale a session's "last seen" may get before a request writes it again: the idle timeout
# is counted in minutes, and a write on every request would queue behind SQLite's one writer.
_SEEN_EVERY = dt.timedelta(minutes=1)


def normalise_email(email: str) -> str:
    return email.strip().lower()


_ROLES: dict[str, Role] = {"clinician": "clinician", "patient": "patient", "analyst": "analyst"}


def account_of(row: AccountRow) -> Account:
    role = _ROLES[row.role]
    return Account(
        row.id,
        row.email,
        role,
        row.password_hash,
        row.clinician_id,
        row.patient_id,
        row.disabled_at is not None,
    )


def _check_email_free(s: Session, email: str) -> None:
    if s.scalar(select(AccountRow.id).where(AccountRow.email == email)) is not None:
        raise InputError.single("email", email, "an email that has no account yet")


def add_account(s: Session, row: AccountRow) -> None:
    """Insert a login; two created at once with one email give one and a clear error.

    The check before is for the usual case; the unique index decides a race (the loser's
    insert waits for the winner's commit on PostgreSQL, then fails here).
    """
    _check_email_free(s, row.email)
    try:
        with s.begin_nested():
            s.add(row)
            s.flush()
    except IntegrityError:
        _check_email_free(s, row.email)
        raise


def end_account_sessions(s: Session, account_id: int, kinds: Iterable[SessionKind]) -> int:
    return affected(
        s.execute(
            delete(SessionRow).where(
                SessionRow.account_id == account_id, SessionRow.kind.in_(list(kinds))
            )
        )
    )


class Accounts(Access):
    """Logins, sessions and sign-in attempts."""

    def is_empty(self) -> bool:
        """True when nobody has an account yet (a fresh install)."""
        with self._read() as s:
            return s.scalar(select(func.count()).select_from(AccountRow)) == 0

    def create_clinician(self, email: str, password_hash: str, name: str) -> Account:
        """A clinician and their login."""
        email = normalise_email(email)
        with self._tx() as s:
            clinician = ClinicianRow(name=name)
            s.add(clinician)
            s.flush()
            row = AccountRow(
                email=email,
                password_hash=password_hash,
                role="clinician",
                clinician_id=clinician.id,
            )
            add_account(s, row)
            return account_of(row)

    def create_analyst(self, email: str, password_hash: str) -> Account:
        """An analyst's login: the clinic's figures in aggregate, never a patient's record."""
        with self._tx() as s:
            row = AccountRow(
                email=normalise_email(email), password_hash=password_hash, role="analyst"
            )
            add_account(s, row)
            return account_of(row)

    def account_by_email(self, email: str) -> Account | None:
        with self._read() as s:
            row = s.scalar(select(AccountRow).where(AccountRow.email == normalise_email(email)))
            return account_of(row) if row else None

    def account_for_patient(self, patient_id: int) -> Account | None:
        with self._read() as s:
            row = s.scalar(select(AccountRow).where(AccountRow.patient_id == patient_id))
            return account_of(row) if row else None

    def log_login(self, email: str, account: Account | None, ok: bool, why: str = "") -> None:
        """Audit a sign-in attempt (the email is kept as typed, for failed attempts too)."""
        with self._tx() as s:
            s.add(
                AuditRow(
                    account_id=account.id if account else None,
                    action="login" if ok else "denied",
                    what="login",
                    detail=(email[:200] + (f" ({why})" if why else "")),
                )
            )

    def set_password_hash(self, account_id: int, password_hash: str, how: str = "") -> int:
        """Replace an account's password; every session and API token of it ends with it.

        Returns how many sessions and tokens ended. One transaction: no session made with the
        old password outlives the change, and the change is audited with it (`how` says by
        which path).
        """
        with self._tx() as s:
            row = s.get(AccountRow, account_id)
            if row is None:
                return 0
            row.password_hash = password_hash
            audit(s, None, "write", row.patient_id, "password", how or "new password set")
            return end_account_sessions(s, account_id, ("cookie", "bearer"))

    def set_disabled(self, account_id: int, disabled: bool) -> int:
        """Switch an account off (every session and token ends; returns how many) or on again."""
        with self._tx() as s:
            row = s.get(AccountRow, account_id)
            if row is None:
                return 0
            row.disabled_at = utcnow() if disabled else None
            what = "account switched off" if disabled else "account switched on"
            audit(s, None, "write", row.patient_id, "login", what)
            return end_account_sessions(s, account_id, ("cookie", "bearer")) if disabled else 0

    def attach_patient_login(
        self, actor: Actor | None, patient_id: int, email: str, password_hash: str
    ) -> Account:
        """A login for a patient record made without one (by its clinician, or by an operator
        on the command line when `actor` is None); refused when the record has a login."""
        email = normalise_email(email)
        with self._tx() as s:
            patient = s.get(PatientRow, patient_id) if is_row_id(patient_id) else None
            if patient is None and actor is None:
                raise InputError.single("patient", patient_id, "the id of a patient record")
            if patient is None or (
                actor is not None
                and (actor.role != "clinician" or patient.clinician_id != actor.clinician_id)
            ):
                raise NotFound(f"patient {patient_id}")
            if s.scalar(select(AccountRow.id).where(AccountRow.patient_id == patient_id)):
                raise InputError.single(
                    "patient", patient_id, "a patient record that has no login yet"
                )
            row = AccountRow(
                email=email, password_hash=password_hash, role="patient", patient_id=patient_id
            )
            add_account(s, row)
            audit(s, actor, "write", patient_id, "login", f"login {email} created")
            return account_of(row)

    # -- sign-in attempts -----------------------------------------------------------------

    def reserve_login_attempt(
        self, limits: Mapping[str, AttemptLimit], now: dt.datetime | None = None
    ) -> None:
        """Count one sign-in attempt against every key, before the password is checked.

        Raises TooManyAttempts (and counts nothing) when any key must still wait. The rows are
        locked for the check and the increment, so concurrent attempts (from any worker
        process) are counted one after another and none slips past the limit.
        """
        now = now or utcnow()
        # Sorted, so two reservations always lock their rows in the same order (no deadlock).
        keyed = sorted((secret_hash(key), limit) for key, limit in limits.items())
        with self._tx() as s:
            # A row another client is inserting at the same moment is waited for, then kept.
            s.execute(
                upsert_insert(s, LoginAttemptRow)
                .values([{"key": h, "failures": 0, "last_at": now} for h, _ in keyed])
                .on_conflict_do_nothing(index_elements=["key"])
            )
            rows = {
                row.key: row
                for row in s.scalars(
                    select(LoginAttemptRow)
                    .where(LoginAttemptRow.key.in_([h for h, _ in keyed]))
                    .order_by(LoginAttemptRow.key)
                    .with_for_update()
                    .execution_options(populate_existing=True)
                )
            }
            wait = dt.timedelta(0)
            for key, limit in keyed:
                row = rows[key]
                last = aware(row.last_at)
                if now - last >= limit.forget_after:
                    row.failures = 0
                wait = max(wait, last + limit.wait_after(row.failures) - now)
            if wait > dt.timedelta(0):
                raise TooManyAttempts(retry_after_seconds(wait))
            for row in rows.values():
                row.failures += 1
                row.last_at = now

    def give_back_login_attempt(self, keys: Iterable[str], *, forget: Iterable[str] = ()) -> None:
        """After a right password: its attempt no longer counts against `keys`, and `forget`
        (the account's own email) starts again from zero."""
        with self._tx() as s:
            s.execute(
                update(LoginAttemptRow)
                .where(
                    LoginAttemptRow.key.in_([secret_hash(k) for k in keys]),
                    LoginAttemptRow.failures > 0,
                )
                .values(failures=LoginAttemptRow.failures - 1)
            )
            s.execute(
                delete(LoginAttemptRow).where(
                    LoginAttemptRow.key.in_([secret_hash(k) for k in forget])
                )
            )

    def remove_quiet_login_attempts(
        self, quiet: dt.timedelta, now: dt.datetime | None = None
    ) -> int:
        """Forget the attempt counts of keys that have had no attempt for `quiet`."""
        cutoff = (now or utcnow()) - quiet
        with self._tx() as s:
            return affected(
                s.execute(delete(LoginAttemptRow).where(LoginAttemptRow.last_at < cutoff))
            )

    # -- sessions and API tokens ----------------------------------------------------------

    def open_session(
        self, account: Account, kind: SessionKind, lifetime: dt.timedelta
    ) -> tuple[str, str]:
        """A new secret token and its CSRF token; only the token's hash is stored."""
        token = secrets.token_urlsafe(32)
        csrf = secrets.token_urlsafe(32)
        now = utcnow()
        with self._tx() as s:
            s.add(
                SessionRow(
                    token_hash=secret_hash(token),
                    account_id=account.id,
                    kind=kind,
                    csrf_token=csrf,
                    created_at=now,
                    last_seen_at=now,
                    expires_at=now + lifetime,
                )
            )
        return token, csrf

    def session(
        self, token: str, kind: SessionKind, idle: dt.timedelta | None = None
    ) -> tuple[Actor, str] | None:
        """The actor and CSRF token of a live session, or None.

        A session past its expiry, or unused for longer than `idle`, has ended. An expired one
        is removed; a browser session ended by idleness is kept, unusable, until its expiry, so
        that a form sent after it ended can still be shown to be its owner's (`ended_session`).
        Use is recorded at most once a minute, so most requests only read.
        """
        now = utcnow()
        with self._read() as s:
            found = s.execute(
                select(SessionRow, AccountRow)
                .join(AccountRow, AccountRow.id == SessionRow.account_id)
                .where(SessionRow.token_hash == secret_hash(token), SessionRow.kind == kind)
            ).first()
            if found is None:
                return None
            session_row, account_row = found
            last_seen = aware(session_row.last_seen_at)
            expired = aware(session_row.expires_at) <= now or account_row.disabled_at is not None
            idle_ended = idle is not None and now - last_seen > idle
            result = account_of(account_row).actor, session_row.csrf_token
        if expired or (idle_ended and kind == "bearer"):
            self.close_session(token)
            return None
        if idle_ended:
            return None
        if now - last_seen > _SEEN_EVERY:
            with self._tx() as s:
                s.execute(
                    update(SessionRow)
                    .where(SessionRow.token_hash == secret_hash(token))
                    .values(last_seen_at=now)
                )
        return result

    def ended_session(self, token: str) -> tuple[Actor, str] | None:
        """The actor and CSRF token of a browser session that has ended through idleness (and
        is not past its expiry), or None: whose form it was, when a form arrives after it."""
        now = utcnow()
        with self._read() as s:
            found = s.execute(
                select(SessionRow, AccountRow)
                .join(AccountRow, AccountRow.id == SessionRow.account_id)
                .where(
                    SessionRow.token_hash == secret_hash(token),
                    SessionRow.kind == "cookie",
                    AccountRow.disabled_at.is_(None),
                )
            ).first()
            if found is None or aware(found[0].expires_at) <= now:
                return None
            return account_of(found[1]).actor, found[0].csrf_token

    def close_session(self, token: str) -> None:
        with self._tx() as s:
            s.execute(delete(SessionRow).where(SessionRow.token_hash == secret_hash(token)))

    def end_sessions(
        self, account_id: int, kinds: Iterable[SessionKind] = ("cookie", "bearer")
    ) -> int:
        """End every session (browser) and/or API token of an account; returns how many."""
        with self._tx() as s:
            return end_account_sessions(s, account_id, kinds)

    def remove_ended_sessions(
        self, idle: dt.timedelta | None = None, now: dt.datetime | None = None
    ) -> int:
        """Delete sessions past their expiry, and API tokens idle for longer than `idle`;
        returns how many. Browser sessions ended by idleness stay until their expiry (see
        `session`)."""
        now = now or utcnow()
        ended = SessionRow.expires_at <= now
        if idle is not None:
            ended = or_(
                ended, and_(SessionRow.kind == "bearer", SessionRow.last_seen_at < now - idle)
            )
        with self._tx() as s:
            return affected(s.execute(delete(SessionRow).where(ended)))
