"""What the clinician's pages keep, on a SQLite file and on PostgreSQL: one patient per intake
form (sent twice, or at once), archived patients hidden and restored, the audit trail counted
by day and filtered, and the migration that adds them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import inspect, text

from ldnkit.domain.profile import PatientProfile
from ldnkit.services import audit, screening
from ldnkit.services.demo import DEMO_CLINICIAN, seed_demo
from ldnkit.store import migrate
from ldnkit.store.database import make_engine
from ldnkit.store.passwords import hash_password
from ldnkit.store.records import Account
from ldnkit.store.repository import AlreadyAdmitted, Store

PASSWORD_HASH = hash_password("records-pass-1")
TOKEN = "form-token-0123456789abcdef"
Fresh = Callable[[str, Path], AbstractContextManager[str]]
Together = Callable[[int, Callable[[int], None]], None]


@dataclass(frozen=True)
class Clinic:
    url: str
    store: Store
    doctor: Account


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def clinic(
    request: pytest.FixtureRequest, tmp_path: Path, fresh_database: Fresh
) -> Iterator[Clinic]:
    with fresh_database(request.param, tmp_path) as url:
        store = Store.open(url)
        store.upgrade()
        doctor = store.create_clinician("doc@records.test", PASSWORD_HASH, "Dr Records")
        yield Clinic(url, store, doctor)
        store.close()


def _names(store: Store, doctor: Account) -> list[str]:
    return [item.record.name for item in store.caseload(doctor.actor)]


def test_an_intake_form_sent_twice_admits_one_patient_screened_once(clinic: Clinic) -> None:
    profile = PatientProfile(conditions=["fibromyalgia"])
    first, screened = screening.admit(
        clinic.store, clinic.doctor.actor, "Dora", profile, intake_token=TOKEN
    )
    again, screened_again = screening.admit(
        clinic.store, clinic.doctor.actor, "Dora", profile, intake_token=TOKEN
    )
    assert again.id == first.id
    assert screened_again.id == screened.id
    assert _names(clinic.store, clinic.doctor) == ["Dora"]
    with pytest.raises(AlreadyAdmitted) as caught:
        clinic.store.create_patient(clinic.doctor.actor, "Other", {}, intake_token=TOKEN)
    assert caught.value.record.id == first.id
    # Without a token (the CLI, the API, the demo) every call is a patient of its own.
    clinic.store.create_patient(clinic.doctor.actor, "Dora", {})
    assert _names(clinic.store, clinic.doctor) == ["Dora", "Dora"]


def test_the_same_form_sent_at_once_from_many_clients_admits_one_patient(
    clinic: Clinic, together: Together
) -> None:
    found: list[int] = []

    def send(_i: int) -> None:
        store = Store.open(clinic.url)
        try:
            record, _ = screening.admit(
                store, clinic.doctor.actor, "Race", PatientProfile(), intake_token=TOKEN
            )
            found.append(record.id)
        finally:
            store.close()

    together(6, send)
    assert len(found) == 6
    assert len(set(found)) == 1
    assert _names(clinic.store, clinic.doctor) == ["Race"]


def test_an_archived_patient_leaves_the_list_is_kept_whole_and_comes_back(clinic: Clinic) -> None:
    actor = clinic.doctor.actor
    kept = clinic.store.create_patient(actor, "Kept", {})
    gone = clinic.store.create_patient(actor, "Duplicate", {"age": 40})
    archived = clinic.store.set_archived(actor, gone.id, True)
    assert archived.archived_at is not None
    assert _names(clinic.store, clinic.doctor) == ["Kept"]
    assert [p.id for p in clinic.store.patients(actor)] == [kept.id]
    assert [i.record.name for i in clinic.store.caseload(actor, archived=True)] == ["Duplicate"]
    assert clinic.store.archived_count(actor) == 1
    assert clinic.store.patient(actor, gone.id).profile == {"age": 40}  # still readable whole
    clinic.store.set_archived(actor, gone.id, False)
    assert _names(clinic.store, clinic.doctor) == ["Duplicate", "Kept"]
    writes = [e.what for e in clinic.store.audit_trail(gone.id) if e.action == "write"]
    assert writes[:2] == ["patient restored", "patient archived"]  # newest first


def test_the_audit_trail_counts_alike_events_by_day_and_filters(clinic: Clinic) -> None:
    actor = clinic.doctor.actor
    pid = clinic.store.create_patient(actor, "Trail", {}).id
    for _ in range(14):
        clinic.store.caseload(actor)
    clinic.store.add_note(actor, pid, "seen today")
    listing = clinic.store.patient_audit_listing(actor, pid)
    by_what = {(g.action, g.what): g for g in listing.groups}
    assert by_what[("read", "patient list")].count == 14
    assert by_what[("read", "patient list")].day == dt.datetime.now(dt.UTC).date()
    assert by_what[("write", "visit note")].count == 1
    assert [p.email for p in listing.people] == ["doc@records.test"]
    writes = clinic.store.patient_audit_listing(actor, pid, action="write")
    assert {g.action for g in writes.groups} == {"write"}
    nobody = clinic.store.patient_audit_listing(actor, pid, account_id=clinic.doctor.id + 99)
    assert nobody.groups == []
    assert nobody.people == listing.people  # who appears is listed whatever the filter


def test_the_demo_diary_is_written_by_the_demo_patient(clinic: Clinic) -> None:
    seed_demo(clinic.store, today=dt.date(2026, 11, 29))
    doctor = clinic.store.account_by_email(DEMO_CLINICIAN)
    assert doctor is not None
    ana = next(
        i.record for i in clinic.store.caseload(doctor.actor) if i.record.name == "Ana Ribeiro"
    )
    trail = audit.patient_trail(clinic.store, doctor.actor, ana.id, kind="write")
    diary = [line for line in trail.lines if "diary" in line.text]
    assert [(line.who, line.text) for line in diary] == [
        ("ana@demo.ldnkit.test (patient)", "entered 104 diary days (2026-08-18 to 2026-11-29)")
    ]
    assert {line.who for line in trail.lines if line not in diary} == {
        f"{DEMO_CLINICIAN} (clinician)"
    }


def _patient_columns(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        return {c["name"] for c in inspect(engine).get_columns("patients")}
    finally:
        engine.dispose()


def test_the_clinic_pages_migration_goes_up_keeps_patients_and_comes_back_down(
    database_url: str,
) -> None:
    engine = make_engine(database_url)
    migrate.upgrade(engine, "0004_cds_token_uses")
    created = {"t": dt.datetime(2026, 11, 1, tzinfo=dt.UTC)}
    with engine.begin() as conn:
        conn.execute(
            text("INSERT INTO clinicians (id, name, created_at) VALUES (1, 'Dr', :t)"), created
        )
        conn.execute(
            text(
                "INSERT INTO patients (id, clinician_id, name, profile, created_at) "
                "VALUES (1, 1, 'Pat', '{}', :t)"
            ),
            created,
        )
    migrate.upgrade(engine)
    assert {"intake_token", "archived_at"} <= _patient_columns(database_url)
    with engine.connect() as conn:
        row = conn.execute(text("SELECT name, intake_token, archived_at FROM patients"))
        assert row.all() == [("Pat", None, None)]
    migrate.downgrade(engine, "0004_cds_token_uses")
    assert not {"intake_token", "archived_at"} & _patient_columns(database_url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT name FROM patients")).scalars().all() == ["Pat"]
    migrate.upgrade(engine)
    assert migrate.current_revision(engine) == migrate.head_revision()
    engine.dispose()
