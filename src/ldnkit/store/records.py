"""What the repository hands out: plain frozen records, never database rows."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from ldnkit.domain.diary import DiaryEntry
    from ldnkit.domain.plan_gate import Override, StartCheck

Role = Literal["clinician", "patient", "analyst"]
StopReason = Literal["side_effects", "no_benefit", "cost", "patient_choice", "other"]
DispenseStatus = Literal["completed", "entered-in-error"]


@dataclass(frozen=True)
class Actor:
    """The signed-in account on whose behalf a repository call is made."""

    account_id: int
    email: str
    role: Role
    clinician_id: int | None = None
    patient_id: int | None = None


@dataclass(frozen=True)
class Account:
    id: int
    email: str
    role: Role
    password_hash: str
    clinician_id: int | None
    patient_id: int | None
    disabled: bool = False  # switched off: the password no longer signs in

    @property
    def actor(self) -> Actor:
        return Actor(self.id, self.email, self.role, self.clinician_id, self.patient_id)


@dataclass(frozen=True)
class PatientRecord:
    id: int
    clinician_id: int
    name: str
    profile: dict[str, Any]
    intake: dict[str, Any] | None
    created_at: dt.datetime
    # When the record was archived (hidden from the patient list, kept whole); None if not.
    archived_at: dt.datetime | None = None


@dataclass(frozen=True)
class SavedScreening:
    id: int
    patient_id: int
    created_at: dt.datetime
    knowledge_version: str
    verdict: str
    profile: dict[str, Any]
    result: dict[str, Any]


@dataclass(frozen=True)
class SavedPlan:
    id: int
    patient_id: int
    created_at: dt.datetime
    protocol: str
    start: dt.date
    request: dict[str, Any]
    steps: list[dict[str, Any]]
    # The safety screen the start was checked against (None on plans saved before the check),
    # and the clinician's override when the plan starts against it.
    check: StartCheck | None = None
    override: Override | None = None


@dataclass(frozen=True)
class Questionnaire:
    id: int
    patient_id: int
    kind: str
    taken_on: dt.date
    answers: dict[str, Any]
    result: dict[str, Any]


@dataclass(frozen=True)
class VisitNote:
    id: int
    patient_id: int
    clinician_id: int
    created_at: dt.datetime
    text: str


@dataclass(frozen=True)
class AuditEvent:
    id: int
    at: dt.datetime
    account_id: int | None
    action: str
    patient_id: int | None
    what: str
    detail: str
    email: str | None = None  # of the account, when there is one


@dataclass(frozen=True)
class AuditGroup:
    """Audit events alike (one account, one action on one kind of thing, one UTC day), counted.

    A page that lists a patient reads its record each time it is shown; one row per such read
    would bury the writes that matter, so alike events are kept together with their count.
    """

    day: dt.date
    account_id: int | None
    email: str | None
    role: str | None  # of the account, when there is one
    action: str
    what: str
    detail: str
    count: int
    first_at: dt.datetime
    last_at: dt.datetime


@dataclass(frozen=True)
class AuditPerson:
    """An account that appears in a patient's audit trail (None: done without an account)."""

    account_id: int | None
    email: str | None
    role: str | None


@dataclass(frozen=True)
class AuditListing:
    """A patient's audit trail as a person reads it: alike events together, and who appears."""

    groups: list[AuditGroup]
    people: list[AuditPerson]


@dataclass(frozen=True)
class Author:
    """Who entered a version of a diary day: the account and its role at the time.

    Days entered before authors were kept have neither (shown as "not recorded").
    """

    account_id: int | None
    role: Role | None
    email: str | None = None

    @property
    def is_patient(self) -> bool:
        return self.role == "patient"


@dataclass(frozen=True)
class DiaryRecord:
    """A stored diary day: the entry, who entered this version, and how many it replaced."""

    entry: DiaryEntry
    author: Author
    updated_at: dt.datetime
    earlier_versions: int = 0

    @property
    def version(self) -> str:
        """Names this version of the day: a form filled from it says which version it edits."""
        return version_of(self.updated_at)


def version_of(updated_at: dt.datetime) -> str:
    """A stored time as the same text on every database (UTC, microseconds)."""
    stamp = updated_at if updated_at.tzinfo else updated_at.replace(tzinfo=dt.UTC)
    return stamp.astimezone(dt.UTC).isoformat(timespec="microseconds")


@dataclass(frozen=True)
class DiaryVersion:
    """A version of a diary day that a later change replaced, kept as it was."""

    entry: DiaryEntry
    author: Author
    entered_at: dt.datetime
    replaced_by: Author
    replaced_at: dt.datetime
    deleted: bool = False  # kept because the day was deleted, not replaced by a new version


@dataclass(frozen=True)
class CaseloadItem:
    """One line of a clinician's patient list: the record and what the list shows about it."""

    record: PatientRecord
    verdict: str | None
    plan: SavedPlan | None
    entries: list[DiaryEntry]


@dataclass(frozen=True)
class CardOutcome:
    """What a clinician did with a CDS card (accepted or overridden), as the EHR reported it."""

    service_id: str
    card_uuid: str
    outcome: str
    accepted_suggestions: tuple[str, ...]
    override_reason: dict[str, Any] | None
    outcome_timestamp: dt.datetime
    client: str | None  # the JWT issuer; None when checks are off


@dataclass(frozen=True)
class DispenseRecord:
    """LDN handed to the patient for a plan, as the clinician recorded it."""

    id: int
    patient_id: int
    plan_id: int
    dispensed_on: dt.date
    days_supply: int
    status: DispenseStatus
    recorded_by: str | None  # the email of the account that recorded it
    recorded_at: dt.datetime


@dataclass(frozen=True)
class StopRecord:
    """A clinician's stop of LDN: the plan it ends, the day, why, and who recorded it."""

    id: int
    patient_id: int
    plan_id: int
    stopped_on: dt.date
    reason: StopReason
    note: str
    recorded_by: str | None
    recorded_at: dt.datetime


@dataclass(frozen=True)
class ProfileSnapshot:
    """A profile as it was saved (with a screening, or the current one), and when."""

    profile: dict[str, Any]
    saved_at: dt.datetime


@dataclass(frozen=True)
class CourseRecord:
    """Everything the clinic keeps about one patient's course of LDN, for outcomes and exports.

    `plans` oldest first; `profiles` every profile saved with a screening, then the current one.
    """

    patient_id: int
    clinician_id: int
    name: str
    plans: list[SavedPlan]
    dispenses: list[DispenseRecord]
    stops: list[StopRecord]
    diary: list[DiaryRecord]
    profiles: list[ProfileSnapshot]
