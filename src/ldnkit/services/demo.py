"""A demo clinic: one clinician and three patients with 90 days of diary each (their own), and
an analyst who sees the clinic's outcomes.

The patients show a responder, a non-responder and one with sleep side effects (the diaries come
from `ldnkit.demo.diaries`, deterministic), each screened, on the standard plan since its start
day and given a month's supply on that day and every month since.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ldnkit.demo.diaries import DemoKind, demo_diary
from ldnkit.domain.profile import Medication, PatientProfile
from ldnkit.domain.titration import PlanRequest
from ldnkit.services import courses, plans
from ldnkit.services.accounts import Login, NewAccount, create_account
from ldnkit.services.diary import record_entry
from ldnkit.services.screening import admit
from ldnkit.store.repository import Store

DEMO_PASSWORD = "ldn-demo-2026"  # noqa: S105 (printed for everyone: demo data only)
DEMO_CLINICIAN = "clinician@demo.ldnkit.test"
DEMO_ANALYST = "analyst@demo.ldnkit.test"
TREATMENT_DAYS = 90


@dataclass(frozen=True)
class DemoPatient:
    kind: DemoKind
    name: str
    email: str
    conditions: tuple[str, ...]
    age: int


DEMO_PATIENTS = (
    DemoPatient("responder", "Ana Ribeiro", "ana@demo.ldnkit.test", ("fibromyalgia",), 46),
    DemoPatient("non_responder", "Ben Okafor", "ben@demo.ldnkit.test", ("M79.7",), 53),
    DemoPatient(
        "sleep_side_effects",
        "Chloe Martin",
        "chloe@demo.ldnkit.test",
        ("fibromyalgia", "chronic fatigue syndrome"),
        38,
    ),
)


@dataclass(frozen=True)
class DemoLogin:
    role: str
    email: str
    password: str
    name: str


def reviewed_profile(as_of: dt.date, age: int, conditions: Sequence[Any]) -> PatientProfile:
    """A made-up patient's profile, reviewed so the screen lets LDN start (organs normal)."""
    return PatientProfile(
        as_of=as_of,
        age=age,
        sex="female",
        conditions=list(conditions),
        # A reviewed medication list: an empty one asks the clinician to confirm no opioids.
        medications=[Medication(name="vitamin D 1000 units", status="active")],
        liver="normal",
        kidney="normal",
        alcohol="none",
        pregnant=False,
        breastfeeding=False,
    )


def demo_logins() -> list[DemoLogin]:
    """The logins the demo clinic has (the same every time it is seeded)."""
    return (
        [DemoLogin("clinician", DEMO_CLINICIAN, DEMO_PASSWORD, "Dr Demo")]
        + [DemoLogin("patient", p.email, DEMO_PASSWORD, p.name) for p in DEMO_PATIENTS]
        + [DemoLogin("analyst", DEMO_ANALYST, DEMO_PASSWORD, "Clinic analyst")]
    )


def seed_demo(store: Store, today: dt.date | None = None) -> list[DemoLogin]:
    """Create the demo clinic; returns the logins to print. The database should be empty."""
    today = today or dt.date.today()
    start = today - dt.timedelta(days=TREATMENT_DAYS - 1)
    doctor = create_account(
        store,
        NewAccount(role="clinician", email=DEMO_CLINICIAN, password=DEMO_PASSWORD, name="Dr Demo"),
    )
    for person in DEMO_PATIENTS:
        profile = reviewed_profile(start - dt.timedelta(days=1), person.age, person.conditions)
        record, _screening = admit(
            store,
            doctor.actor,
            person.name,
            profile,
            login=Login(email=person.email, password=DEMO_PASSWORD),
        )
        patient = store.account_for_patient(record.id)
        assert patient is not None  # created with its login just above
        # The plan was made on its start day, checked against the screen for that day.
        plans.save_plan(
            store,
            doctor.actor,
            record.id,
            PlanRequest(protocol="standard", start=start),
            today=start,
            written_at=dt.datetime.combine(start, dt.time(9), tzinfo=dt.UTC),
        )
        # Filled on the start day and every month since, as a pharmacy would hand it over.
        supply = courses.default_days_supply()
        for fill in range(0, TREATMENT_DAYS, supply):
            day = start + dt.timedelta(days=fill)
            if day <= today:
                courses.record_dispense(
                    store,
                    doctor.actor,
                    record.id,
                    {"dispensed_on": day, "days_supply": supply},
                    today=today,
                )
        # The diary is the patient's own: entered by them, as a real patient would.
        for entry in demo_diary(person.kind, start, days=TREATMENT_DAYS):
            if entry.day <= today:
                record_entry(store, patient.actor, record.id, entry)
    create_account(store, NewAccount(role="analyst", email=DEMO_ANALYST, password=DEMO_PASSWORD))
    return demo_logins()


def seed_demo_if_empty(store: Store) -> list[DemoLogin] | None:
    """Seed the demo clinic into an empty database; None when it already has accounts."""
    return seed_demo(store) if store.is_empty() else None
