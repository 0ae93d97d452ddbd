"""A patient's audit trail as a person reads it: who did what, in words, alike events counted.

Every read of a patient record is audited, so a list page shown fourteen times is fourteen
events; the trail says "viewed the patient list 14 times" instead, and a patient's ninety
diary days entered in one sitting are one line. Nothing is dropped: every event is in a line
with its count, and the lines can be filtered by kind and by person.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Literal

from ldnkit.store.records import Actor, AuditGroup, AuditPerson
from ldnkit.store.repository import Store

Kind = Literal["read", "write", "denied"]
KINDS: dict[str, str] = {"read": "views", "write": "changes", "denied": "refusals"}

_READ = {
    "patient list": "viewed the patient list",
    "patient": "opened the record",
    "plan": "read the plan",
    "diary": "read the diary",
    "screenings": "read the safety screens",
    "questionnaires": "read the questionnaires",
    "visit notes": "read the visit notes",
    "audit trail": "viewed this audit trail",
}
_WRITE = {
    "patient": "changed the profile",
    "screening": "screened the patient",
    "plan": "saved a plan",
    "plan started against the screen": "started a plan against the safety screen",
    "visit note": "added a visit note",
    "patient archived": "archived the record",
    "patient restored": "restored the record",
}
_DIARY_DAY = re.compile(r"^diary (\d{4}-\d{2}-\d{2})$")


@dataclass(frozen=True)
class TrailLine:
    """One line of the trail: who, what (in words), how many times, and when."""

    day: dt.date
    first_at: dt.datetime
    last_at: dt.datetime
    who: str
    action: str
    text: str
    count: int
    detail: str


@dataclass(frozen=True)
class Trail:
    lines: list[TrailLine]
    people: list[AuditPerson]
    kind: Kind | None
    person: int | None


def kind_of(text: str) -> Kind | None:
    """The kind a filter names, or None (everything) for anything else."""
    for kind in ("read", "write", "denied"):
        if text == kind:
            return kind
    return None


def person_name(person: AuditPerson | AuditGroup) -> str:
    """An account as the trail names it: its email and role (the patient is called so)."""
    if person.email is None:
        return "no account (the system)"
    return f"{person.email} ({person.role})" if person.role else person.email


def _words(group: AuditGroup) -> str:
    times = f" {group.count} times" if group.count > 1 else ""
    if group.action == "read":
        return _READ.get(group.what, f"read {group.what}") + times
    if group.action == "denied":
        return f"was refused: {group.what}" + times
    if group.action == "write":
        if group.what == "patient" and group.detail == "created":
            return "added the patient"
        if group.what.startswith("questionnaire "):
            return f"saved a {group.what.removeprefix('questionnaire ').upper()} result" + times
        return _WRITE.get(group.what, f"changed {group.what}") + times
    return f"{group.action} {group.what}" + times


def _diary_days(groups: list[AuditGroup]) -> list[TrailLine]:
    """Diary days written by one account on one day, as one line naming the days."""
    names = sorted(m.group(1) for g in groups if (m := _DIARY_DAY.match(g.what)))
    first = groups[0]
    text = (
        f"entered the diary for {names[0]}"
        if len(names) == 1
        else f"entered {len(names)} diary days ({names[0]} to {names[-1]})"
    )
    return [
        TrailLine(
            first.day,
            min(g.first_at for g in groups),
            max(g.last_at for g in groups),
            person_name(first),
            "write",
            text,
            sum(g.count for g in groups),
            "",
        )
    ]


def readable(groups: list[AuditGroup]) -> list[TrailLine]:
    """The store's groups as lines, diary days of one account and day together, newest first."""
    lines: list[TrailLine] = []
    diary: dict[tuple[dt.date, int | None], list[AuditGroup]] = {}
    for g in groups:
        if g.action == "write" and _DIARY_DAY.match(g.what):
            diary.setdefault((g.day, g.account_id), []).append(g)
            continue
        lines.append(
            TrailLine(
                g.day, g.first_at, g.last_at, person_name(g), g.action, _words(g), g.count, g.detail
            )
        )
    for written in diary.values():
        lines += _diary_days(written)
    return sorted(lines, key=lambda line: line.last_at, reverse=True)


def patient_trail(
    store: Store,
    actor: Actor,
    patient_id: int,
    kind: Kind | None = None,
    person: int | None = None,
) -> Trail:
    """The patient's audit trail for their clinician, filtered by kind and person."""
    listing = store.patient_audit_listing(actor, patient_id, action=kind, account_id=person)
    return Trail(readable(listing.groups), listing.people, kind, person)
