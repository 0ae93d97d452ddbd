"""The repository: every read and write of clinic data, scoped to the actor and audited.

Nothing outside `ldnkit.store` sees SQLAlchemy. Each public method is one transaction; each one
that touches a patient record first checks that the actor may see that patient (a clinician their
own patients, a patient their own record) and writes an audit row in the same transaction, so a
read or write is never without its audit entry.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import threading
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager, nullcontext
from typing import Any, Literal, cast

from sqlalchemy import Engine, Select, delete, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from ldnkit.domain.diary import DiaryEntry, MergeConflict, MergePolicy, merge_entries
from ldnkit.domain.plan_gate import Override, StartCheck, check_start
from ldnkit.domain.screening import Finding, Screening, Verdict
from ldnkit.store import migrate
from ldnkit.store.attempts import AttemptLimit, TooManyAttempts, retry_after_seconds
from ldnkit.store.database import is_sqlite, make_engine
from ldnkit.store.models import (
    AccountRow,
    AuditRow,
    ClinicianRow,
    DiaryRow,
    DiaryVersionRow,
    LoginAttemptRow,
    PatientRow,
    PlanRow,
    QuestionnaireRow,
    ScreeningRow,
    SessionRow,
    VisitNoteRow,
    utcnow,
)
from ldnkit.store.records import (
    Account,
    Actor,
    AuditEvent,
    Author,
    CaseloadItem,
    DiaryRecord,
    DiaryVersion,
    PatientRecord,
    Questionnaire,
    Role,
    SavedPlan,
    SavedScreening,
    VisitNote,
)
from ldnkit.validation import InputError

SessionKind = Literal["cookie", "bearer"]

# How stale a session's "last seen" may get before a request writes it again: the idle timeout
# is counted in minutes, and a write on every request would queue behind SQLite's one writer.
_SEEN_EVERY = dt.timedelta(minutes=1)


# Row ids are INTEGER columns: 32-bit on PostgreSQL. An id from a URL or form beyond that can
# name no row, and binding it would fail in the driver instead of answering "not found".
_MAX_ROW_ID = 2**31 - 1


def _is_row_id(value: int) -> bool:
    return 0 < value <= _MAX_ROW_ID


class NotFound(LookupError):
    """No such record, or not one the actor may see (the two look the same on purpose)."""


class Forbidden(PermissionError):
    """The actor may see the record but not do this to it (a patient writing a plan)."""


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _aware(value: dt.datetime) -> dt.datetime:
    # SQLite hands timezone-aware columns back naive; they were written in UTC.
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _account(row: AccountRow) -> Account:
    role: Role = "clinician" if row.role == "clinician" else "patient"
    return Account(row.id, row.email, role, row.password_hash, row.clinician_id, row.patient_id)


def _patient(row: PatientRow) -> PatientRecord:
    return PatientRecord(
        row.id, row.clinician_id, row.name, row.profile, row.intake, _aware(row.created_at)
    )


def _entry(row: DiaryRow) -> DiaryEntry:
    return DiaryEntry.model_validate(
        {
            "day": row.day,
            "dose_mg": row.dose_mg,
            "dose_time": row.dose_time,
            "pain": row.pain,
            "fatigue": row.fatigue,
            "sleep_quality": row.sleep_quality,
            "mood": row.mood,
            "side_effects": row.side_effects,
            "note": row.note,
        }
    )


def _author(account_id: int | None, role: str | None, email: str | None = None) -> Author:
    known: Role | None = "clinician" if role == "clinician" else "patient" if role else None
    return Author(account_id, known, email)


def _fill(row: DiaryRow, entry: DiaryEntry, author: Actor) -> None:
    data = entry.model_dump(mode="json")
    row.day = entry.day
    row.dose_mg = entry.dose_mg
    row.dose_time = entry.dose_time
    row.pain = entry.pain
    row.fatigue = entry.fatigue
    row.sleep_quality = entry.sleep_quality
    row.mood = entry.mood
    row.side_effects = data["side_effects"]
    row.note = entry.note
    row.updated_at = utcnow()
    row.entered_by = author.account_id
    row.entered_role = author.role


def _insert_missing(s: Session, rows: list[dict[str, Any]], key: str) -> None:
    """INSERT ... ON CONFLICT DO NOTHING of login-attempt rows (a row another client is
    inserting at the same moment is waited for, then left as it is)."""
    dialect = postgresql if s.get_bind().dialect.name == "postgresql" else sqlite
    s.execute(dialect.insert(LoginAttemptRow).values(rows).on_conflict_do_nothing(
        index_elements=[key]))  # fmt: skip


def normalise_email(email: str) -> str:
    return email.strip().lower()


class Store:
    """The clinic's records behind one engine (SQLite file or PostgreSQL server)."""

    def __init__(self, engine: Engine, read_engine: Engine | None = None) -> None:
        self.engine = engine
        self._read_engine = read_engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        self._read_sessions = sessionmaker(read_engine or engine, expire_on_commit=False)
        # SQLite has one writer at a time; its busy handler waits by sleeping in steps of up to
        # 100 ms, which under load turns into long tail latencies. Writers from this process
        # queue on a lock instead and are handed the database the moment it is free.
        self._write_lock: threading.Lock | nullcontext[None] = (
            threading.Lock() if is_sqlite(str(engine.url)) else nullcontext()
        )

    @classmethod
    def open(cls, url: str) -> Store:
        if is_sqlite(url):
            return cls(make_engine(url), make_engine(url, immediate=False))
        return cls(make_engine(url))

    def upgrade(self) -> None:
        """Apply every pending migration."""
        migrate.upgrade(self.engine)

    def close(self) -> None:
        self.engine.dispose()
        if self._read_engine is not None:
            self._read_engine.dispose()

    @contextmanager
    def _tx(self) -> Iterator[Session]:
        """A write transaction (nearly all are: reading a patient record writes its audit row)."""
        with self._write_lock, self._sessions.begin() as session:
            yield session

    @contextmanager
    def _read(self) -> Iterator[Session]:
        """A read-only transaction: in WAL mode it never waits for the writer."""
        with self._read_sessions.begin() as session:
            yield session

    # -- accounts -------------------------------------------------------------------------

    def is_empty(self) -> bool:
        """True when nobody has an account yet (a fresh install)."""
        with self._read() as s:
            return s.scalar(select(func.count()).select_from(AccountRow)) == 0

    def _check_email_free(self, s: Session, email: str) -> None:
        if s.scalar(select(AccountRow.id).where(AccountRow.email == email)) is not None:
            raise InputError.single("email", email, "an email that has no account yet")

    def _add_account(self, s: Session, row: AccountRow) -> None:
        """Insert a login; two created at once with one email give one and a clear error.

        The check before is for the usual case; the unique index decides a race (the loser's
        insert waits for the winner's commit on PostgreSQL, then fails here).
        """
        self._check_email_free(s, row.email)
        try:
            with s.begin_nested():
                s.add(row)
                s.flush()
        except IntegrityError:
            self._check_email_free(s, row.email)
            raise

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
            self._add_account(s, row)
            return _account(row)

    def create_patient(
        self,
        actor: Actor,
        name: str,
        profile: dict[str, Any],
        *,
        intake: dict[str, Any] | None = None,
        email: str | None = None,
        password_hash: str | None = None,
    ) -> PatientRecord:
        """A patient record under the acting clinician, with a login when an email is given."""
        if actor.role != "clinician" or actor.clinician_id is None:
            raise Forbidden("only a clinician adds patients")
        with self._tx() as s:
            patient = PatientRow(
                clinician_id=actor.clinician_id, name=name, profile=profile, intake=intake
            )
            s.add(patient)
            s.flush()
            if email is not None and password_hash is not None:
                self._add_account(
                    s,
                    AccountRow(
                        email=normalise_email(email),
                        password_hash=password_hash,
                        role="patient",
                        patient_id=patient.id,
                    ),
                )
            self._audit(s, actor, "write", patient.id, "patient", "created")
            return _patient(patient)

    def account_by_email(self, email: str) -> Account | None:
        with self._read() as s:
            row = s.scalar(select(AccountRow).where(AccountRow.email == normalise_email(email)))
            return _account(row) if row else None

    def account_for_patient(self, patient_id: int) -> Account | None:
        with self._read() as s:
            row = s.scalar(select(AccountRow).where(AccountRow.patient_id == patient_id))
            return _account(row) if row else None

    def log_login(self, email: str, account: Account | None, ok: bool) -> None:
        """Audit a sign-in attempt (the email is kept as typed, for failed attempts too)."""
        with self._tx() as s:
            s.add(
                AuditRow(
                    account_id=account.id if account else None,
                    action="login" if ok else "denied",
                    what="login",
                    detail=email[:200],
                )
            )

    def set_password_hash(self, account_id: int, password_hash: str) -> int:
        """Replace an account's password; every session and API token of it ends with it.

        Returns how many sessions and tokens ended. One transaction: no session made with the
        old password outlives the change.
        """
        with self._tx() as s:
            s.execute(
                update(AccountRow)
                .where(AccountRow.id == account_id)
                .values(password_hash=password_hash)
            )
            return self._end_sessions(s, account_id, ("cookie", "bearer"))

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
        keyed = sorted((_token_hash(key), limit) for key, limit in limits.items())
        with self._tx() as s:
            _insert_missing(s, [{"key": h, "failures": 0, "last_at": now} for h, _ in keyed], "key")
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
                last = _aware(row.last_at)
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
                    LoginAttemptRow.key.in_([_token_hash(k) for k in keys]),
                    LoginAttemptRow.failures > 0,
                )
                .values(failures=LoginAttemptRow.failures - 1)
            )
            s.execute(
                delete(LoginAttemptRow).where(
                    LoginAttemptRow.key.in_([_token_hash(k) for k in forget])
                )
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
                    token_hash=_token_hash(token),
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

        A session past its expiry, or unused for longer than `idle`, has ended (and is removed).
        Use is recorded at most once a minute, so most requests only read.
        """
        now = utcnow()
        with self._read() as s:
            found = s.execute(
                select(SessionRow, AccountRow)
                .join(AccountRow, AccountRow.id == SessionRow.account_id)
                .where(SessionRow.token_hash == _token_hash(token), SessionRow.kind == kind)
            ).first()
            if found is None:
                return None
            session_row, account_row = found
            last_seen = _aware(session_row.last_seen_at)
            ended = _aware(session_row.expires_at) <= now or (
                idle is not None and now - last_seen > idle
            )
            result = _account(account_row).actor, session_row.csrf_token
        if ended:
            self.close_session(token)
            return None
        if now - last_seen > _SEEN_EVERY:
            with self._tx() as s:
                s.execute(
                    update(SessionRow)
                    .where(SessionRow.token_hash == _token_hash(token))
                    .values(last_seen_at=now)
                )
        return result

    def close_session(self, token: str) -> None:
        with self._tx() as s:
            s.execute(delete(SessionRow).where(SessionRow.token_hash == _token_hash(token)))

    @staticmethod
    def _end_sessions(s: Session, account_id: int, kinds: Iterable[SessionKind]) -> int:
        ended = s.execute(
            delete(SessionRow).where(
                SessionRow.account_id == account_id, SessionRow.kind.in_(list(kinds))
            )
        )
        return int(ended.rowcount)  # type: ignore[attr-defined]

    def end_sessions(
        self, account_id: int, kinds: Iterable[SessionKind] = ("cookie", "bearer")
    ) -> int:
        """End every session (browser) and/or API token of an account; returns how many."""
        with self._tx() as s:
            return self._end_sessions(s, account_id, kinds)

    def remove_ended_sessions(
        self, idle: dt.timedelta | None = None, now: dt.datetime | None = None
    ) -> int:
        """Delete sessions past their expiry or idle for longer than `idle`; returns how many."""
        now = now or utcnow()
        ended = SessionRow.expires_at <= now
        if idle is not None:
            ended = or_(ended, SessionRow.last_seen_at < now - idle)
        with self._tx() as s:
            return int(s.execute(delete(SessionRow).where(ended)).rowcount)  # type: ignore[attr-defined]

    def remove_quiet_login_attempts(
        self, quiet: dt.timedelta, now: dt.datetime | None = None
    ) -> int:
        """Forget the attempt counts of keys that have had no attempt for `quiet`."""
        cutoff = (now or utcnow()) - quiet
        with self._tx() as s:
            removed = s.execute(delete(LoginAttemptRow).where(LoginAttemptRow.last_at < cutoff))
            return int(removed.rowcount)  # type: ignore[attr-defined]

    # -- audit ----------------------------------------------------------------------------

    @staticmethod
    def _audit(
        s: Session,
        actor: Actor | None,
        action: str,
        patient_id: int | None,
        what: str,
        detail: str = "",
    ) -> None:
        s.add(
            AuditRow(
                account_id=actor.account_id if actor else None,
                action=action,
                patient_id=patient_id,
                what=what,
                detail=detail,
            )
        )

    def _scoped(
        self, s: Session, actor: Actor, patient_id: int, action: str, what: str
    ) -> PatientRow:
        """The patient row when the actor may see it; audits the access either way."""
        if not _is_row_id(patient_id):
            raise NotFound(f"patient {patient_id}")
        row = s.get(PatientRow, patient_id)
        allowed = row is not None and (
            (actor.role == "clinician" and row.clinician_id == actor.clinician_id)
            or (actor.role == "patient" and row.id == actor.patient_id)
        )
        if row is None or not allowed:
            raise NotFound(f"patient {patient_id}")
        self._audit(s, actor, action, patient_id, what)
        return row

    def _denied(self, actor: Actor, patient_id: int, what: str) -> None:
        with self._tx() as s:
            self._audit(s, actor, "denied", patient_id if _is_row_id(patient_id) else None, what)

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
            return self._events(s, patient_id, limit)

    @staticmethod
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
            AuditEvent(
                r.id, _aware(r.at), r.account_id, r.action, r.patient_id, r.what, r.detail, email
            )
            for r, email in s.execute(query)
        ]

    def patient_audit(self, actor: Actor, patient_id: int, limit: int = 500) -> list[AuditEvent]:
        """Who read or changed this patient's record, newest first (for their clinician)."""
        with self._patient_tx(actor, patient_id, "read", "audit trail", clinician_only=True) as (
            s,
            _,
        ):
            return self._events(s, patient_id, limit)

    # -- patients -------------------------------------------------------------------------

    def patients(self, actor: Actor) -> list[PatientRecord]:
        """The patients the actor may see: a clinician's own, or a patient's own record."""
        with self._tx() as s:
            query = select(PatientRow).order_by(PatientRow.name, PatientRow.id)
            if actor.role == "clinician":
                query = query.where(PatientRow.clinician_id == actor.clinician_id)
            else:
                query = query.where(PatientRow.id == actor.patient_id)
            rows = list(s.scalars(query))
            for row in rows:
                self._audit(s, actor, "read", row.id, "patient list")
            return [_patient(r) for r in rows]

    def patient(self, actor: Actor, patient_id: int) -> PatientRecord:
        with self._patient_tx(actor, patient_id, "read", "patient") as (_, row):
            return _patient(row)

    def caseload(self, actor: Actor) -> list[CaseloadItem]:
        """A clinician's patients with their latest verdict, current plan and diary.

        Four queries for the whole list instead of several per patient; each patient's read
        is audited as "patient list".
        """
        if actor.role != "clinician":
            raise Forbidden("only a clinician has a caseload")
        with self._tx() as s:
            rows = list(
                s.scalars(
                    select(PatientRow)
                    .where(PatientRow.clinician_id == actor.clinician_id)
                    .order_by(PatientRow.name, PatientRow.id)
                )
            )
            ids = [r.id for r in rows]
            verdicts: dict[int, str] = {}
            for patient_id, verdict in s.execute(
                select(ScreeningRow.patient_id, ScreeningRow.verdict)
                .where(ScreeningRow.patient_id.in_(ids))
                .order_by(ScreeningRow.id)
            ):
                verdicts[patient_id] = verdict  # the newest screening wins
            plans: dict[int, SavedPlan] = {}
            for plan, author in s.execute(
                _plans_with_override_author()
                .where(PlanRow.patient_id.in_(ids))
                .order_by(PlanRow.id)
            ):
                plans[plan.patient_id] = _plan(plan, author)
            diaries: dict[int, list[DiaryEntry]] = {i: [] for i in ids}
            for entry in s.scalars(
                select(DiaryRow)
                .where(DiaryRow.patient_id.in_(ids))
                .order_by(DiaryRow.patient_id, DiaryRow.day)
            ):
                diaries[entry.patient_id].append(_entry(entry))
            for row in rows:
                self._audit(s, actor, "read", row.id, "patient list")
            return [
                CaseloadItem(_patient(r), verdicts.get(r.id), plans.get(r.id), diaries[r.id])
                for r in rows
            ]

    def update_patient(
        self,
        actor: Actor,
        patient_id: int,
        *,
        name: str | None = None,
        profile: dict[str, Any] | None = None,
        intake: dict[str, Any] | None = None,
    ) -> PatientRecord:
        with self._patient_tx(actor, patient_id, "write", "patient", clinician_only=True) as (
            _,
            row,
        ):
            if name is not None:
                row.name = name
            if profile is not None:
                row.profile = profile
            if intake is not None:
                row.intake = intake
            return _patient(row)

    # -- screenings -----------------------------------------------------------------------

    def save_screening(
        self,
        actor: Actor,
        patient_id: int,
        profile: dict[str, Any],
        result: dict[str, Any],
        knowledge_version: str,
    ) -> SavedScreening:
        """Keep a screen's result with the knowledge-base version it was made with."""
        with self._patient_tx(actor, patient_id, "write", "screening", clinician_only=True) as (
            s,
            _,
        ):
            row = ScreeningRow(
                patient_id=patient_id,
                knowledge_version=knowledge_version,
                verdict=str(result.get("verdict", "")),
                profile=profile,
                result=result,
            )
            s.add(row)
            s.flush()
            return _screening(row)

    def screenings(self, actor: Actor, patient_id: int) -> list[SavedScreening]:
        """The patient's saved screenings, newest first."""
        with self._patient_tx(actor, patient_id, "read", "screenings") as (s, _):
            query = (
                select(ScreeningRow)
                .where(ScreeningRow.patient_id == patient_id)
                .order_by(ScreeningRow.id.desc())
            )
            return [_screening(r) for r in s.scalars(query)]

    # -- plans ----------------------------------------------------------------------------

    def save_plan(
        self,
        actor: Actor,
        patient_id: int,
        protocol: str,
        start: dt.date,
        request: dict[str, Any],
        steps: list[dict[str, Any]],
        *,
        check: StartCheck | None = None,
        override: Override | None = None,
    ) -> SavedPlan:
        """Save a titration plan; the newest plan is the patient's current one.

        `check` is the safety screen its start was checked against; `override`, a clinician's
        decision to start against it, gets an audit entry of its own with the reason.
        """
        with self._patient_tx(actor, patient_id, "write", "plan", clinician_only=True) as (s, _):
            row = PlanRow(
                patient_id=patient_id, protocol=protocol, start=start, request=request, steps=steps
            )
            if check is not None:
                row.screen_verdict = check.screening.verdict
                row.screen_earliest_start = check.screening.earliest_start
                row.screened_on = check.screened_on
                row.screen_findings = [_finding_data(f) for f in check.screening.findings]
            if override is not None:
                row.override_reason = override.reason
                row.override_by = actor.account_id
                row.override_at = override.at
                self._audit(
                    s,
                    actor,
                    "write",
                    patient_id,
                    "plan started against the screen",
                    f"{check.explanation() if check else ''} Reason: {override.reason}".strip(),
                )
            s.add(row)
            s.flush()
            return _plan(row, actor.email if override is not None else None)

    def current_plan(self, actor: Actor, patient_id: int) -> SavedPlan | None:
        with self._patient_tx(actor, patient_id, "read", "plan") as (s, _):
            found = s.execute(
                _plans_with_override_author()
                .where(PlanRow.patient_id == patient_id)
                .order_by(PlanRow.id.desc())
                .limit(1)
            ).first()
            if found is None:
                return None
            plan, author = found
            return _plan(plan, author)

    # -- diary ----------------------------------------------------------------------------

    def diary(self, actor: Actor, patient_id: int) -> list[DiaryEntry]:
        """The patient's diary, oldest day first."""
        return [record.entry for record in self.diary_records(actor, patient_id)]

    def diary_records(self, actor: Actor, patient_id: int) -> list[DiaryRecord]:
        """The diary with who entered each day and how many earlier versions it has."""
        with self._patient_tx(actor, patient_id, "read", "diary") as (s, _):
            versions = dict(
                s.execute(
                    select(DiaryVersionRow.day, func.count())
                    .where(DiaryVersionRow.patient_id == patient_id)
                    .group_by(DiaryVersionRow.day)
                ).all()
            )
            query = (
                select(DiaryRow, AccountRow.email)
                .outerjoin(AccountRow, AccountRow.id == DiaryRow.entered_by)
                .where(DiaryRow.patient_id == patient_id)
                .order_by(DiaryRow.day)
            )
            return [
                DiaryRecord(
                    _entry(row),
                    _author(row.entered_by, row.entered_role, email),
                    _aware(row.updated_at),
                    versions.get(row.day, 0),
                )
                for row, email in s.execute(query)
            ]

    def diary_versions(self, actor: Actor, patient_id: int, day: dt.date) -> list[DiaryVersion]:
        """The earlier versions of one diary day, oldest first (the current one is not here)."""
        with self._patient_tx(actor, patient_id, "read", f"diary {day} versions") as (s, _):
            rows = s.scalars(
                select(DiaryVersionRow)
                .where(DiaryVersionRow.patient_id == patient_id, DiaryVersionRow.day == day)
                .order_by(DiaryVersionRow.id)
            ).all()
            ids = {r.entered_by for r in rows} | {r.replaced_by for r in rows}
            emails: dict[int | None, str] = dict(
                s.execute(
                    select(AccountRow.id, AccountRow.email).where(AccountRow.id.in_(ids))
                ).all()
            )
            return [
                DiaryVersion(
                    DiaryEntry.model_validate(r.entry),
                    _author(r.entered_by, r.entered_role, emails.get(r.entered_by)),
                    _aware(r.entered_at),
                    _author(r.replaced_by, None, emails.get(r.replaced_by)),
                    _aware(r.replaced_at),
                )
                for r in rows
            ]

    def record_entry(
        self, actor: Actor, patient_id: int, entry: DiaryEntry, how: MergePolicy | None = None
    ) -> DiaryEntry:
        """Save a day's entry (backdating allowed). A day that already has one needs `how`.

        Without `how` a different second entry for the same day raises MergeConflict carrying
        the stored entry, so the user decides; with it, `merge_entries` decides and the result
        is stored. The very same entry sent twice (a retried request) changes nothing.

        The day's row is locked from the read to the write, so concurrent merges of one day
        are applied one after another and none is lost; the version a change replaces is kept
        with its author. The actor is recorded as the author of what is stored.
        """
        with self._patient_tx(actor, patient_id, "write", f"diary {entry.day}") as (s, _):
            row = self._locked_day(s, patient_id, entry.day)
            if row is None:
                if self._insert_day(s, patient_id, entry, actor):
                    return entry
                # Another client saved this day first: merge with theirs, under the lock.
                row = self._locked_day(s, patient_id, entry.day)
                assert row is not None  # the insert failed on this very row
            existing = _entry(row)
            if existing == entry:
                return existing
            if how is None:
                raise MergeConflict(existing, entry)
            merged = merge_entries(existing, entry, how)
            if merged != existing:
                s.add(
                    DiaryVersionRow(
                        patient_id=patient_id,
                        day=row.day,
                        entry=existing.model_dump(mode="json"),
                        entered_by=row.entered_by,
                        entered_role=row.entered_role,
                        entered_at=row.updated_at,
                        replaced_by=actor.account_id,
                    )
                )
                _fill(row, merged, actor)
            return merged

    @staticmethod
    def _locked_day(s: Session, patient_id: int, day: dt.date) -> DiaryRow | None:
        """The day's row, locked until the transaction ends (SELECT ... FOR UPDATE).

        SQLite has no row locks and needs none: its write transactions start IMMEDIATE, so
        they never overlap.
        """
        return s.scalar(
            select(DiaryRow)
            .where(DiaryRow.patient_id == patient_id, DiaryRow.day == day)
            .with_for_update()
            .execution_options(populate_existing=True)
        )

    @staticmethod
    def _insert_day(s: Session, patient_id: int, entry: DiaryEntry, actor: Actor) -> bool:
        """Insert the day's first entry; False when another client's insert won the race.

        The unique (patient, day) index decides; the savepoint keeps the transaction usable.
        """
        row = DiaryRow(patient_id=patient_id)
        _fill(row, entry, actor)
        try:
            with s.begin_nested():
                s.add(row)
                s.flush()
        except IntegrityError:
            return False
        return True

    # -- questionnaires and visit notes ---------------------------------------------------

    def add_questionnaire(
        self,
        actor: Actor,
        patient_id: int,
        kind: str,
        taken_on: dt.date,
        answers: dict[str, Any],
        result: dict[str, Any],
    ) -> Questionnaire:
        with self._patient_tx(actor, patient_id, "write", f"questionnaire {kind}") as (s, _):
            row = QuestionnaireRow(
                patient_id=patient_id, kind=kind, taken_on=taken_on, answers=answers, result=result
            )
            s.add(row)
            s.flush()
            return _questionnaire(row)

    def questionnaires(
        self, actor: Actor, patient_id: int, kind: str | None = None
    ) -> list[Questionnaire]:
        """Scored questionnaires over time, oldest first."""
        with self._patient_tx(actor, patient_id, "read", "questionnaires") as (s, _):
            query = (
                select(QuestionnaireRow)
                .where(QuestionnaireRow.patient_id == patient_id)
                .order_by(QuestionnaireRow.taken_on, QuestionnaireRow.id)
            )
            if kind is not None:
                query = query.where(QuestionnaireRow.kind == kind)
            return [_questionnaire(r) for r in s.scalars(query)]

    def add_note(self, actor: Actor, patient_id: int, text: str) -> VisitNote:
        with self._patient_tx(actor, patient_id, "write", "visit note", clinician_only=True) as (
            s,
            _,
        ):
            assert actor.clinician_id is not None  # clinician_only checked above
            row = VisitNoteRow(patient_id=patient_id, clinician_id=actor.clinician_id, text=text)
            s.add(row)
            s.flush()
            return _note(row)

    def notes(self, actor: Actor, patient_id: int) -> list[VisitNote]:
        """Visit notes, newest first (clinicians only: notes are the clinician's record)."""
        with self._patient_tx(actor, patient_id, "read", "visit notes", clinician_only=True) as (
            s,
            _,
        ):
            query = (
                select(VisitNoteRow)
                .where(VisitNoteRow.patient_id == patient_id)
                .order_by(VisitNoteRow.id.desc())
            )
            return [_note(r) for r in s.scalars(query)]


def _screening(row: ScreeningRow) -> SavedScreening:
    return SavedScreening(
        row.id,
        row.patient_id,
        _aware(row.created_at),
        row.knowledge_version,
        row.verdict,
        row.profile,
        row.result,
    )


def _plans_with_override_author() -> Select[PlanRow, str]:
    """Plans with the email of the account that overrode the screen, if any did."""
    return select(PlanRow, AccountRow.email).outerjoin(
        AccountRow, AccountRow.id == PlanRow.override_by
    )


def _finding_data(finding: Finding) -> dict[str, Any]:
    # The day a finding stops applying is kept too: it tells a washout from the screen's own day.
    resolves_on = finding.resolves_on.isoformat() if finding.resolves_on else None
    return {**finding.model_dump(mode="json"), "resolves_on": resolves_on}


def _finding(data: dict[str, Any]) -> Finding:
    resolves_on = data.get("resolves_on")
    return Finding(
        rule=data["rule"],
        severity=data["severity"],
        subject=data["subject"],
        message=data["message"],
        sources=tuple(data.get("sources", ())),
        resolves_on=dt.date.fromisoformat(resolves_on) if resolves_on else None,
    )


def _start_check(row: PlanRow) -> StartCheck | None:
    """The check the plan's start passed (or was overridden on), rebuilt from what was kept."""
    if row.screen_verdict is None or row.screened_on is None:
        return None
    screening = Screening(
        cast(Verdict, row.screen_verdict),
        row.screen_earliest_start,
        tuple(_finding(f) for f in row.screen_findings or ()),
    )
    return check_start(screening, row.start, row.screened_on)


def _plan(row: PlanRow, override_author: str | None = None) -> SavedPlan:
    override = None
    if row.override_reason is not None and row.override_at is not None:
        override = Override(row.override_reason, _aware(row.override_at), override_author)
    return SavedPlan(
        row.id,
        row.patient_id,
        _aware(row.created_at),
        row.protocol,
        row.start,
        row.request,
        list(row.steps),
        _start_check(row),
        override,
    )


def _questionnaire(row: QuestionnaireRow) -> Questionnaire:
    return Questionnaire(row.id, row.patient_id, row.kind, row.taken_on, row.answers, row.result)


def _note(row: VisitNoteRow) -> VisitNote:
    return VisitNote(row.id, row.patient_id, row.clinician_id, _aware(row.created_at), row.text)


__all__ = [
    "Account",
    "Actor",
    "Forbidden",
    "MergeConflict",
    "NotFound",
    "PatientRecord",
    "Store",
    "normalise_email",
]
