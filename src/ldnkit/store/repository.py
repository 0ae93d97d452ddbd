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
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from typing import Any, Literal, cast

from sqlalchemy import Engine, Select, delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from ldnkit.domain.diary import DiaryEntry, MergeConflict, MergePolicy, merge_entries
from ldnkit.domain.plan_gate import Override, StartCheck, check_start
from ldnkit.domain.screening import Finding, Screening, Verdict
from ldnkit.store import migrate
from ldnkit.store.database import is_sqlite, make_engine
from ldnkit.store.models import (
    AccountRow,
    AuditRow,
    ClinicianRow,
    DiaryRow,
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
    CaseloadItem,
    PatientRecord,
    Questionnaire,
    Role,
    SavedPlan,
    SavedScreening,
    VisitNote,
)
from ldnkit.validation import InputError

SessionKind = Literal["cookie", "bearer"]


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


def _fill(row: DiaryRow, entry: DiaryEntry) -> None:
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

    def create_clinician(self, email: str, password_hash: str, name: str) -> Account:
        """A clinician and their login."""
        email = normalise_email(email)
        with self._tx() as s:
            self._check_email_free(s, email)
            clinician = ClinicianRow(name=name)
            s.add(clinician)
            s.flush()
            row = AccountRow(
                email=email,
                password_hash=password_hash,
                role="clinician",
                clinician_id=clinician.id,
            )
            s.add(row)
            s.flush()
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
            if email is not None:
                email = normalise_email(email)
                self._check_email_free(s, email)
            patient = PatientRow(
                clinician_id=actor.clinician_id, name=name, profile=profile, intake=intake
            )
            s.add(patient)
            s.flush()
            if email is not None and password_hash is not None:
                s.add(
                    AccountRow(
                        email=email,
                        password_hash=password_hash,
                        role="patient",
                        patient_id=patient.id,
                    )
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

    # -- sessions and API tokens ----------------------------------------------------------

    def open_session(
        self, account: Account, kind: SessionKind, lifetime: dt.timedelta
    ) -> tuple[str, str]:
        """A new secret token and its CSRF token; only the token's hash is stored."""
        token = secrets.token_urlsafe(32)
        csrf = secrets.token_urlsafe(32)
        with self._tx() as s:
            s.add(
                SessionRow(
                    token_hash=_token_hash(token),
                    account_id=account.id,
                    kind=kind,
                    csrf_token=csrf,
                    expires_at=utcnow() + lifetime,
                )
            )
        return token, csrf

    def session(self, token: str, kind: SessionKind) -> tuple[Actor, str] | None:
        """The actor and CSRF token of a live session, or None (an expired one is removed)."""
        with self._read() as s:
            found = s.execute(
                select(SessionRow, AccountRow)
                .join(AccountRow, AccountRow.id == SessionRow.account_id)
                .where(SessionRow.token_hash == _token_hash(token), SessionRow.kind == kind)
            ).first()
            if found is None:
                return None
            session_row, account_row = found
            expired = _aware(session_row.expires_at) <= utcnow()
            result = _account(account_row).actor, session_row.csrf_token
        if expired:
            self.close_session(token)
            return None
        return result

    def close_session(self, token: str) -> None:
        with self._tx() as s:
            s.execute(delete(SessionRow).where(SessionRow.token_hash == _token_hash(token)))

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
        with self._patient_tx(actor, patient_id, "read", "diary") as (s, _):
            query = select(DiaryRow).where(DiaryRow.patient_id == patient_id).order_by(DiaryRow.day)
            return [_entry(r) for r in s.scalars(query)]

    def record_entry(
        self, actor: Actor, patient_id: int, entry: DiaryEntry, how: MergePolicy | None = None
    ) -> DiaryEntry:
        """Save a day's entry (backdating allowed). A day that already has one needs `how`.

        Without `how` a different second entry for the same day raises MergeConflict carrying
        the stored entry, so the user decides; with it, `merge_entries` decides and the result
        is stored. The very same entry sent twice (a retried request) changes nothing.
        """
        for _attempt in range(2):
            try:
                with self._patient_tx(actor, patient_id, "write", f"diary {entry.day}") as (s, _):
                    row = s.scalar(
                        select(DiaryRow).where(
                            DiaryRow.patient_id == patient_id, DiaryRow.day == entry.day
                        )
                    )
                    if row is None:
                        row = DiaryRow(patient_id=patient_id)
                        _fill(row, entry)
                        s.add(row)
                        s.flush()
                        return entry
                    existing = _entry(row)
                    if existing == entry:
                        return existing
                    if how is None:
                        raise MergeConflict(existing, entry)
                    merged = merge_entries(existing, entry, how)
                    _fill(row, merged)
                    return merged
            except IntegrityError:
                # Another client saved the same day between our read and our insert (PostgreSQL
                # only; SQLite serialises writers). The second attempt sees that entry.
                continue
        raise MergeConflict(self._entry_on(patient_id, entry.day), entry)

    def _entry_on(self, patient_id: int, day: dt.date) -> DiaryEntry:
        with self._read() as s:
            row = s.scalar(
                select(DiaryRow).where(DiaryRow.patient_id == patient_id, DiaryRow.day == day)
            )
            if row is None:  # pragma: no cover (only reachable by deleting mid-request)
                raise NotFound(f"diary entry {day}")
            return _entry(row)

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
