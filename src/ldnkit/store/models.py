"""Database tables. Only `ldnkit.store` touches them; everything else uses the repository."""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    Time,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JSON, list[Any]: JSON}


class ClinicianRow(Base):
    __tablename__ = "clinicians"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class PatientRow(Base):
    """A patient under one clinician; `profile` is the screening profile (PatientProfile JSON)."""

    __tablename__ = "patients"
    __table_args__ = (
        # One patient per intake form: the same form posted twice names the same token.
        Index("one_patient_per_intake_form", "clinician_id", "intake_token", unique=True),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    clinician_id: Mapped[int] = mapped_column(ForeignKey("clinicians.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    profile: Mapped[dict[str, Any]] = mapped_column(JSON)
    # Intake symptom scores (the response baseline when no diary precedes the start date).
    intake: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # The token of the intake form that created the record (null for records made otherwise).
    intake_token: Mapped[str | None] = mapped_column(String(64))
    # Archived records are kept whole and hidden from the patient list until restored.
    archived_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


# A clinician's login belongs to one clinician, a patient's to one patient record; an analyst's
# to neither (an analyst sees the clinic's figures only, never a record).
ACCOUNT_ROLE_LINK = (
    "(role = 'clinician' AND clinician_id IS NOT NULL AND patient_id IS NULL) OR "
    "(role = 'patient' AND patient_id IS NOT NULL AND clinician_id IS NULL) OR "
    "(role = 'analyst' AND clinician_id IS NULL AND patient_id IS NULL)"
)


class AccountRow(Base):
    """A login: a clinician's, a patient's (which belongs to exactly one patient record), or an
    analyst's."""

    __tablename__ = "accounts"
    __table_args__ = (CheckConstraint(ACCOUNT_ROLE_LINK, name="account_role_link"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    clinician_id: Mapped[int | None] = mapped_column(ForeignKey("clinicians.id"), unique=True)
    patient_id: Mapped[int | None] = mapped_column(ForeignKey("patients.id"), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # Switched off (`ldnkit users disable`): the password no longer signs in; null while usable.
    disabled_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class PasswordResetRow(Base):
    """A one-time code that lets a person choose a new password; only its SHA-256 is kept.

    Issued by a clinician for their patient (or for a patient's first login), shown once, used
    once (`used_at`), and worth nothing after `expires_at`.
    """

    __tablename__ = "password_resets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    issued_by: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class PendingFormRow(Base):
    """A form posted after its browser session had ended, kept until its owner signs in again.

    Keyed by the SHA-256 of a one-time token held in the browser's cookie; the account is the
    one whose ended session the form's CSRF token belonged to.
    """

    __tablename__ = "pending_forms"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    account_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    path: Mapped[str] = mapped_column(String(200))
    fields: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class SessionRow(Base):
    """A browser session or API token; only the SHA-256 of the secret is kept."""

    __tablename__ = "sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    account_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(10))  # "cookie" | "bearer"
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    # Last request made with it: a session unused for longer than the idle timeout has ended.
    last_seen_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class LoginAttemptRow(Base):
    """Sign-in attempts counted against one key: an email, or a client address.

    The key is the SHA-256 of "email:<address>" or "address:<ip>", so the table keeps no
    typed emails. `failures` counts attempts reserved and not given back (a right password
    gives its attempt back); `last_at` is when the latest was reserved.
    """

    __tablename__ = "login_attempts"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer)
    last_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class CdsTokenUseRow(Base):
    """A CDS Hooks JWT already accepted, kept until the token can no longer be used.

    The key is the SHA-256 of the token's issuer and `jti` (JSON `[iss, jti]`), so any length of
    either fits. Every worker process claims tokens here, so a token replayed to another worker,
    or after a restart, is refused as well.
    """

    __tablename__ = "cds_token_uses"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), index=True)


class ScreeningRow(Base):
    __tablename__ = "screenings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    knowledge_version: Mapped[str] = mapped_column(String(40))
    verdict: Mapped[str] = mapped_column(String(20))
    profile: Mapped[dict[str, Any]] = mapped_column(JSON)
    result: Mapped[dict[str, Any]] = mapped_column(JSON)


class PlanRow(Base):
    __tablename__ = "plans"
    __table_args__ = (
        # An override always has its reason and its time; never one without the other.
        CheckConstraint(
            "(override_reason IS NULL AND override_at IS NULL) OR "
            "(override_reason IS NOT NULL AND override_at IS NOT NULL)",
            name="plan_override_complete",
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    protocol: Mapped[str] = mapped_column(String(40))
    start: Mapped[dt.date] = mapped_column(Date)
    request: Mapped[dict[str, Any]] = mapped_column(JSON)
    steps: Mapped[list[Any]] = mapped_column(JSON)
    # The safety screen the start was checked against: its verdict, earliest start, the day it
    # was made for and its findings. Null on plans saved before plans were checked.
    screen_verdict: Mapped[str | None] = mapped_column(String(20))
    screen_earliest_start: Mapped[dt.date | None] = mapped_column(Date)
    screened_on: Mapped[dt.date | None] = mapped_column(Date)
    screen_findings: Mapped[list[Any] | None] = mapped_column(JSON)
    # A clinician's explicit decision to start against the screen: why, who and when.
    override_reason: Mapped[str | None] = mapped_column(Text)
    override_by: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id", name="fk_plans_override_by_accounts")
    )
    override_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class DiaryRow(Base):
    __tablename__ = "diary_entries"
    __table_args__ = (UniqueConstraint("patient_id", "day", name="one_entry_per_day"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    day: Mapped[dt.date] = mapped_column(Date)
    dose_mg: Mapped[float | None] = mapped_column(Float)
    dose_time: Mapped[dt.time | None] = mapped_column(Time)
    pain: Mapped[int] = mapped_column(Integer)
    fatigue: Mapped[int] = mapped_column(Integer)
    sleep_quality: Mapped[int] = mapped_column(Integer)
    mood: Mapped[int | None] = mapped_column(Integer)
    side_effects: Mapped[list[Any]] = mapped_column(JSON)
    note: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # Who entered this version of the day (null for days entered before authors were kept).
    entered_by: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"))
    entered_role: Mapped[str | None] = mapped_column(String(20))


class DiaryVersionRow(Base):
    """A version of a diary day that a later change replaced: nothing entered is ever lost."""

    __tablename__ = "diary_entry_versions"
    __table_args__ = (Index("diary_entry_versions_patient_day", "patient_id", "day"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    day: Mapped[dt.date] = mapped_column(Date)
    entry: Mapped[dict[str, Any]] = mapped_column(JSON)  # the DiaryEntry as it was
    entered_by: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"))
    entered_role: Mapped[str | None] = mapped_column(String(20))
    entered_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    replaced_by: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"))
    replaced_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # "deleted" when the day itself was deleted; null when a new version replaced this one.
    change: Mapped[str | None] = mapped_column(String(10))


class ReminderFeedRow(Base):
    """A patient's calendar feed of daily check-in reminders, reached by a secret URL.

    Only the SHA-256 of the secret is kept; a revoked feed keeps its row (so its URL answers
    "gone", not "never existed"), and a new one gets a new secret.
    """

    __tablename__ = "reminder_feeds"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The local time of the reminder (floating: it rings at this time wherever the patient is).
    remind_at: Mapped[dt.time] = mapped_column(Time)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"))
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class QuestionnaireRow(Base):
    """A scored questionnaire (FIQR, ACR criteria) on one day, answers and result as JSON."""

    __tablename__ = "questionnaires"
    __table_args__ = (Index("questionnaires_patient_day", "patient_id", "taken_on"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    kind: Mapped[str] = mapped_column(String(20))
    taken_on: Mapped[dt.date] = mapped_column(Date)
    answers: Mapped[dict[str, Any]] = mapped_column(JSON)
    result: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class VisitNoteRow(Base):
    __tablename__ = "visit_notes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    clinician_id: Mapped[int] = mapped_column(ForeignKey("clinicians.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    text: Mapped[str] = mapped_column(Text)


class DispenseRow(Base):
    """LDN handed to the patient for one plan: the day, and the days it is meant to last.

    Never deleted: a dispense recorded by mistake is marked entered in error (who, when).
    """

    __tablename__ = "dispenses"
    __table_args__ = (
        CheckConstraint("days_supply >= 1", name="dispense_days_supply"),
        CheckConstraint("status IN ('completed', 'entered-in-error')", name="dispense_status"),
        Index("dispenses_patient_day", "patient_id", "dispensed_on"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"))
    dispensed_on: Mapped[dt.date] = mapped_column(Date)
    days_supply: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20), default="completed")
    recorded_by: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"))
    recorded_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    corrected_by: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"))
    corrected_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class LdnStopRow(Base):
    """A clinician's decision that a patient stops LDN: the day, why, and who recorded it."""

    __tablename__ = "ldn_stops"
    __table_args__ = (
        UniqueConstraint("plan_id", name="one_stop_per_plan"),
        CheckConstraint(
            "reason IN ('side_effects', 'no_benefit', 'cost', 'patient_choice', 'other')",
            name="ldn_stop_reason",
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"))
    stopped_on: Mapped[dt.date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(String(20))
    note: Mapped[str] = mapped_column(Text, default="")
    recorded_by: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"))
    recorded_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class AuditRow(Base):
    """Who did what to which patient record, and when. Never updated, never deleted."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"))
    action: Mapped[str] = mapped_column(String(10))  # read | write | login | denied
    patient_id: Mapped[int | None] = mapped_column(Integer, index=True)
    what: Mapped[str] = mapped_column(String(100))
    detail: Mapped[str] = mapped_column(Text, default="")


# Outcomes of CDS Hooks cards (accepted or overridden), posted by EHRs to the feedback endpoint.
# A Core table: the CDS service writes whole batches and never needs ORM objects.
cds_feedback = Table(
    "cds_feedback",
    Base.metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("service_id", String(100), nullable=False, index=True),
    Column("card_uuid", String(100), nullable=False, index=True),
    Column("outcome", String(20), nullable=False),
    Column("accepted_suggestions", Text, nullable=False),  # JSON list of suggestion uuids
    Column("override_reason", Text, nullable=True),  # JSON {reason?, userComment?}
    Column("outcome_timestamp", DateTime(timezone=True), nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("client", String(500), nullable=True),  # the JWT issuer; null when checks are off
)
