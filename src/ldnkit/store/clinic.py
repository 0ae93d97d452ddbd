"""The clinic's records of each patient: the record itself, screenings, plans, questionnaires
and visit notes (the diary has a module of its own)."""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

from sqlalchemy import Select, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ldnkit.domain.diary import DiaryEntry
from ldnkit.domain.plan_gate import Override, StartCheck, check_start
from ldnkit.domain.screening import Finding, Screening, Verdict
from ldnkit.store.access import Access, Forbidden, audit
from ldnkit.store.accounts import add_account, normalise_email
from ldnkit.store.database import aware
from ldnkit.store.diary import entry_of
from ldnkit.store.models import (
    AccountRow,
    ClinicianRow,
    DiaryRow,
    PatientRow,
    PlanRow,
    QuestionnaireRow,
    ScreeningRow,
    VisitNoteRow,
)
from ldnkit.store.records import (
    Actor,
    CaseloadItem,
    PatientRecord,
    Questionnaire,
    SavedPlan,
    SavedScreening,
    VisitNote,
)


def patient_of(row: PatientRow) -> PatientRecord:
    return PatientRecord(
        row.id,
        row.clinician_id,
        row.name,
        row.profile,
        row.intake,
        aware(row.created_at),
        aware(row.archived_at) if row.archived_at else None,
    )


class AlreadyAdmitted(Exception):
    """This intake form has already created a patient (the form was sent twice)."""

    def __init__(self, record: PatientRecord) -> None:
        self.record = record
        super().__init__(f"patient {record.id} was created by this intake form")


def _by_intake_token(s: Session, clinician_id: int, token: str) -> PatientRow | None:
    return s.scalars(
        select(PatientRow).where(
            PatientRow.clinician_id == clinician_id, PatientRow.intake_token == token
        )
    ).first()


class Clinic(Access):
    """Patients and what the clinic keeps about each of them."""

    # -- patients -------------------------------------------------------------------------

    def create_patient(
        self,
        actor: Actor,
        name: str,
        profile: dict[str, Any],
        *,
        intake: dict[str, Any] | None = None,
        email: str | None = None,
        password_hash: str | None = None,
        intake_token: str | None = None,
    ) -> PatientRecord:
        """A patient record under the acting clinician, with a login when an email is given.

        `intake_token` names the intake form that sends it: a second patient from the same
        form is refused with AlreadyAdmitted, which carries the record the first one made
        (two sends at once included: the unique index decides, as for emails).
        """
        if actor.role != "clinician" or actor.clinician_id is None:
            raise Forbidden("only a clinician adds patients")
        clinician_id = actor.clinician_id
        with self._tx() as s:
            if intake_token is not None:
                earlier = _by_intake_token(s, clinician_id, intake_token)
                if earlier is not None:
                    raise AlreadyAdmitted(patient_of(earlier))
            patient = PatientRow(
                clinician_id=clinician_id,
                name=name,
                profile=profile,
                intake=intake,
                intake_token=intake_token,
            )
            try:
                with s.begin_nested():
                    s.add(patient)
                    s.flush()
            except IntegrityError:
                # The same form, sent at the same moment, won the race on another connection.
                earlier = _by_intake_token(s, clinician_id, intake_token or "")
                if earlier is None:
                    raise
                raise AlreadyAdmitted(patient_of(earlier)) from None
            if email is not None and password_hash is not None:
                add_account(
                    s,
                    AccountRow(
                        email=normalise_email(email),
                        password_hash=password_hash,
                        role="patient",
                        patient_id=patient.id,
                    ),
                )
            audit(s, actor, "write", patient.id, "patient", "created")
            return patient_of(patient)

    def patients(self, actor: Actor) -> list[PatientRecord]:
        """The patients the actor may see: a clinician's own (archived ones left out), or a
        patient's own record."""
        with self._tx() as s:
            query = select(PatientRow).order_by(PatientRow.name, PatientRow.id)
            if actor.role == "clinician":
                query = query.where(
                    PatientRow.clinician_id == actor.clinician_id, PatientRow.archived_at.is_(None)
                )
            elif actor.role == "patient":
                query = query.where(PatientRow.id == actor.patient_id)
            else:
                raise Forbidden("an analyst sees the clinic's figures, never a patient's record")
            rows = list(s.scalars(query))
            for row in rows:
                audit(s, actor, "read", row.id, "patient list")
            return [patient_of(r) for r in rows]

    def patient(self, actor: Actor, patient_id: int) -> PatientRecord:
        with self._patient_tx(actor, patient_id, "read", "patient") as (_, row):
            return patient_of(row)

    def caseload(self, actor: Actor, *, archived: bool = False) -> list[CaseloadItem]:
        """A clinician's patients with their latest verdict, current plan and diary.

        The patients in care, or with `archived` the archived ones. Four queries for the whole
        list instead of several per patient; each patient's read is audited as "patient list".
        """
        if actor.role != "clinician":
            raise Forbidden("only a clinician has a caseload")
        shown = (
            PatientRow.archived_at.is_not(None) if archived else PatientRow.archived_at.is_(None)
        )
        with self._tx() as s:
            rows = list(
                s.scalars(
                    select(PatientRow)
                    .where(PatientRow.clinician_id == actor.clinician_id, shown)
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
                diaries[entry.patient_id].append(entry_of(entry))
            for row in rows:
                audit(s, actor, "read", row.id, "patient list")
            return [
                CaseloadItem(patient_of(r), verdicts.get(r.id), plans.get(r.id), diaries[r.id])
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
            return patient_of(row)

    def set_archived(self, actor: Actor, patient_id: int, archived: bool) -> PatientRecord:
        """Archive a patient record (hidden from the list, nothing removed) or restore it."""
        what = "patient archived" if archived else "patient restored"
        with self._patient_tx(actor, patient_id, "write", what, clinician_only=True) as (_, row):
            row.archived_at = dt.datetime.now(dt.UTC) if archived else None
            return patient_of(row)

    def archived_count(self, actor: Actor) -> int:
        """How many of the clinician's patients are archived (no record is read)."""
        if actor.role != "clinician":
            return 0
        with self._read() as s:
            query = select(func.count()).where(
                PatientRow.clinician_id == actor.clinician_id, PatientRow.archived_at.is_not(None)
            )
            return int(s.scalar(query) or 0)

    def clinician_name(self, actor: Actor) -> str | None:
        """The acting clinician's name as their account records it (a prescription's signer)."""
        if actor.role != "clinician" or actor.clinician_id is None:
            return None
        with self._read() as s:
            return s.scalar(select(ClinicianRow.name).where(ClinicianRow.id == actor.clinician_id))

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
        written_at: dt.datetime | None = None,
    ) -> SavedPlan:
        """Save a titration plan; the newest plan is the patient's current one.

        `check` is the safety screen its start was checked against; `override`, a clinician's
        decision to start against it, gets an audit entry of its own with the reason.
        `written_at` (default now) dates a plan written earlier, entered from other records.
        """
        with self._patient_tx(actor, patient_id, "write", "plan", clinician_only=True) as (s, _):
            row = PlanRow(
                patient_id=patient_id, protocol=protocol, start=start, request=request, steps=steps
            )
            if written_at is not None:
                row.created_at = written_at
            if check is not None:
                row.screen_verdict = check.screening.verdict
                row.screen_earliest_start = check.screening.earliest_start
                row.screened_on = check.screened_on
                row.screen_findings = [_finding_data(f) for f in check.screening.findings]
            if override is not None:
                row.override_reason = override.reason
                row.override_by = actor.account_id
                row.override_at = override.at
                audit(
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
        aware(row.created_at),
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
        override = Override(row.override_reason, aware(row.override_at), override_author)
    return SavedPlan(
        row.id,
        row.patient_id,
        aware(row.created_at),
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
    return VisitNote(row.id, row.patient_id, row.clinician_id, aware(row.created_at), row.text)
