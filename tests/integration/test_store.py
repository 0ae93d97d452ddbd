"""The store against real databases: a SQLite file, and PostgreSQL when the test URL is set."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterator
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import IntegrityError

from ldnkit.domain.diary import DiaryEntry, MergeConflict, add_entry
from ldnkit.services.diary import record_entry
from ldnkit.store import migrate
from ldnkit.store.database import make_engine
from ldnkit.store.models import Base
from ldnkit.store.passwords import hash_password, verify_password
from ldnkit.store.repository import Account, Forbidden, NotFound, PatientRecord, Store
from ldnkit.validation import InputError

TABLES = {
    "clinicians", "patients", "accounts", "sessions", "screenings", "plans", "diary_entries",
    "questionnaires", "visit_notes", "audit_log",
}  # fmt: skip
INJECTIONS = [
    "<script>alert(1)</script>",
    "'; DROP TABLE patients; --",
    '" onmouseover="x',
    "{{ 7*7 }}",
    "Robert'); DELETE FROM diary_entries;--",
    "ümlaut ☃ \u202e",
]


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    s = Store.open(database_url)
    s.upgrade()
    yield s
    s.close()


def _entry(day: str, pain: int = 5, note: str = "", dose: float | None = 1.5) -> DiaryEntry:
    return DiaryEntry(
        day=dt.date.fromisoformat(day), dose_mg=dose, pain=pain, fatigue=4, sleep_quality=6,
        note=note,
    )  # fmt: skip


@functools.cache
def _hash(password: str) -> str:
    # argon2 is slow on purpose; one hash per password is enough for every test.
    return hash_password(password)


def _clinic(store: Store) -> tuple[Account, Account, PatientRecord]:
    """Two clinicians; the first has one patient with a login."""
    alice = store.create_clinician("alice@clinic.test", _hash("alice-pass"), "Dr Alice")
    bob = store.create_clinician("bob@clinic.test", _hash("bob-pass"), "Dr Bob")
    patient = store.create_patient(
        alice.actor, "Pat One", {"age": 40}, email="pat@home.test",
        password_hash=_hash("pat-pass"),
    )  # fmt: skip
    return alice, bob, patient


def test_migrations_build_every_table_from_an_empty_database_and_step_back(
    database_url: str,
) -> None:
    engine = make_engine(database_url)
    assert migrate.current_revision(engine) is None
    migrate.upgrade(engine)
    assert migrate.current_revision(engine) == migrate.head_revision()
    assert set(inspect(engine).get_table_names()) >= TABLES
    migrate.downgrade(engine, "base")
    assert not TABLES & set(inspect(engine).get_table_names())
    migrate.upgrade(engine)
    assert set(inspect(engine).get_table_names()) >= TABLES
    engine.dispose()


PLAN_CHECK_COLUMNS = {
    "screen_verdict", "screen_earliest_start", "screened_on", "screen_findings",
    "override_reason", "override_by", "override_at",
}  # fmt: skip


def _plan_columns(engine: Engine) -> set[str]:
    return {c["name"] for c in inspect(engine).get_columns("plans")}


def test_migration_0003_keeps_plans_and_adds_their_screen_and_override_then_steps_back(
    database_url: str,
) -> None:
    engine = make_engine(database_url)
    migrate.upgrade(engine, "0002")
    assert not PLAN_CHECK_COLUMNS & _plan_columns(engine)
    with engine.begin() as conn:
        conn.execute(
            text("INSERT INTO clinicians (id, name, created_at) VALUES (1, 'Dr', :t)"),
            {"t": dt.datetime(2026, 11, 1, tzinfo=dt.UTC)},
        )
        conn.execute(
            text(
                "INSERT INTO patients (id, clinician_id, name, profile, created_at) "
                "VALUES (1, 1, 'Pat', '{}', :t)"
            ),
            {"t": dt.datetime(2026, 11, 1, tzinfo=dt.UTC)},
        )
        conn.execute(
            text(
                "INSERT INTO plans (id, patient_id, created_at, protocol, start, "
                "request, steps) VALUES (1, 1, :t, 'standard', :d, '{}', '[]')"
            ),
            {"t": dt.datetime(2026, 11, 1, tzinfo=dt.UTC), "d": dt.date(2026, 11, 2)},
        )
    migrate.upgrade(engine)
    assert _plan_columns(engine) >= PLAN_CHECK_COLUMNS
    with engine.connect() as conn:
        kept = conn.execute(text("SELECT protocol, screen_verdict, override_reason FROM plans"))
        assert kept.all() == [("standard", None, None)]
    migrate.downgrade(engine, "0002")
    assert migrate.current_revision(engine) == "0002"
    assert not PLAN_CHECK_COLUMNS & _plan_columns(engine)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT protocol FROM plans")).scalars().all() == ["standard"]
    migrate.upgrade(engine)
    assert _plan_columns(engine) >= PLAN_CHECK_COLUMNS
    # An override is never kept without the time it was made.
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(text("UPDATE plans SET override_reason = 'because' WHERE id = 1"))
    engine.dispose()


def test_the_migrated_schema_is_the_schema_the_models_describe(database_url: str) -> None:
    engine = make_engine(database_url)
    migrate.upgrade(engine)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []
    engine.dispose()


def test_sqlite_runs_in_wal_mode_with_foreign_keys_enforced(tmp_path: object) -> None:
    engine = make_engine(f"sqlite:///{tmp_path}/wal.db")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    engine.dispose()


def test_a_patient_account_belongs_to_its_patient_and_clinician(store: Store) -> None:
    alice, _, patient = _clinic(store)
    account = store.account_by_email("  PAT@home.test ")
    assert account is not None
    assert account.role == "patient"
    assert account.patient_id == patient.id
    assert patient.clinician_id == alice.clinician_id
    assert verify_password(account.password_hash, "pat-pass")
    assert not verify_password(account.password_hash, "wrong")


def test_an_email_cannot_be_registered_twice(store: Store) -> None:
    _clinic(store)
    with pytest.raises(InputError) as caught:
        store.create_clinician("Alice@clinic.test", _hash("x" * 8), "Another Alice")
    assert caught.value.problems[0].field == "email"


def test_a_clinician_sees_only_their_own_patients(store: Store) -> None:
    alice, bob, patient = _clinic(store)
    assert [p.id for p in store.patients(alice.actor)] == [patient.id]
    assert store.patients(bob.actor) == []
    with pytest.raises(NotFound):
        store.patient(bob.actor, patient.id)
    with pytest.raises(NotFound):
        record_entry(store, bob.actor, patient.id, _entry("2026-11-01"))
    assert store.diary(alice.actor, patient.id) == []


def test_a_patient_sees_only_their_own_record_and_cannot_write_clinical_records(
    store: Store,
) -> None:
    alice, _, patient = _clinic(store)
    other = store.create_patient(alice.actor, "Pat Two", {})
    me = store.account_by_email("pat@home.test")
    assert me is not None
    assert [p.id for p in store.patients(me.actor)] == [patient.id]
    with pytest.raises(NotFound):
        store.diary(me.actor, other.id)
    with pytest.raises(Forbidden):
        store.save_plan(me.actor, patient.id, "standard", dt.date(2026, 12, 1), {}, [])
    with pytest.raises(Forbidden):
        store.create_patient(me.actor, "Someone", {})


@pytest.mark.parametrize("patient_id", [2**31, 10**23, 0, -1])
def test_a_patient_id_no_row_can_have_is_not_found_and_audited(
    store: Store, patient_id: int
) -> None:
    # Ids come from URLs and forms; one beyond the INTEGER column must not reach the driver.
    alice, _, _ = _clinic(store)
    with pytest.raises(NotFound):
        store.patient(alice.actor, patient_id)
    with pytest.raises(NotFound):
        record_entry(store, alice.actor, patient_id, _entry("2026-11-01"))
    denied = [(e.account_id, e.what) for e in store.audit_trail() if e.action == "denied"]
    assert denied[:2] == [(alice.id, "diary 2026-11-01"), (alice.id, "patient")]


def test_every_read_write_and_refusal_of_a_patient_record_is_audited(store: Store) -> None:
    alice, bob, patient = _clinic(store)
    record_entry(store, alice.actor, patient.id, _entry("2026-11-01"))
    store.diary(alice.actor, patient.id)
    with pytest.raises(NotFound):
        store.diary(bob.actor, patient.id)
    trail = [(e.account_id, e.action, e.what) for e in store.audit_trail(patient.id)]
    assert trail[:4] == [
        (bob.id, "denied", "diary"),
        (alice.id, "read", "diary"),
        (alice.id, "write", "diary 2026-11-01"),
        (alice.id, "write", "patient"),
    ]


def test_a_second_entry_for_a_day_is_a_conflict_until_the_caller_chooses_a_merge(
    store: Store,
) -> None:
    alice, _, patient = _clinic(store)
    record_entry(store, alice.actor, patient.id, _entry("2026-11-02", pain=6, note="first"))
    with pytest.raises(MergeConflict) as caught:
        record_entry(store, alice.actor, patient.id, _entry("2026-11-02", pain=2, note="second"))
    assert caught.value.existing.pain == 6
    assert [e.pain for e in store.diary(alice.actor, patient.id)] == [6]

    kept = record_entry(store, alice.actor, patient.id, _entry("2026-11-02", pain=2), how="keep")
    assert kept.pain == 6
    combined = record_entry(
        store, alice.actor, patient.id, _entry("2026-11-02", pain=2, note="second"), how="combine"
    )
    assert (combined.pain, combined.note) == (4, "first\nsecond")
    record_entry(store, alice.actor, patient.id, _entry("2026-11-02", pain=1), how="replace")
    assert [(e.pain, e.note) for e in store.diary(alice.actor, patient.id)] == [(1, "")]


def test_the_stored_day_is_merged_by_the_domains_own_policy(store: Store) -> None:
    alice, _, patient = _clinic(store)
    first, second = _entry("2026-11-02", pain=6, note="a"), _entry("2026-11-02", pain=3, note="b")
    record_entry(store, alice.actor, patient.id, first)
    stored = record_entry(store, alice.actor, patient.id, second, how="combine")
    assert [stored] == add_entry([first], second, "combine")


def test_a_day_settled_as_another_day_is_refused_and_nothing_is_written(store: Store) -> None:
    alice, _, patient = _clinic(store)
    day = dt.date(2026, 11, 2)
    with pytest.raises(ValueError, match="settled as one for 2026-11-03"):
        store.save_diary_day(alice.actor, patient.id, day, lambda _: _entry("2026-11-03"))
    record_entry(store, alice.actor, patient.id, _entry("2026-11-02", note="kept"))
    with pytest.raises(ValueError, match="settled as one for 2026-11-03"):
        store.save_diary_day(alice.actor, patient.id, day, lambda _: _entry("2026-11-03"))
    assert [(e.day, e.note) for e in store.diary(alice.actor, patient.id)] == [(day, "kept")]


def test_the_same_entry_sent_twice_is_stored_once_without_a_conflict(store: Store) -> None:
    alice, _, patient = _clinic(store)
    entry = _entry("2026-11-03")
    record_entry(store, alice.actor, patient.id, entry)
    record_entry(store, alice.actor, patient.id, entry)
    assert store.diary(alice.actor, patient.id) == [entry]


def test_backdated_entries_come_back_in_day_order(store: Store) -> None:
    alice, _, patient = _clinic(store)
    for day in ("2026-11-05", "2026-10-20", "2026-11-01"):
        record_entry(store, alice.actor, patient.id, _entry(day, dose=None))
    days = [e.day.isoformat() for e in store.diary(alice.actor, patient.id)]
    assert days == ["2026-10-20", "2026-11-01", "2026-11-05"]


@pytest.mark.parametrize("payload", INJECTIONS)
def test_text_is_stored_verbatim(store: Store, payload: str) -> None:
    alice, _, _patient = _clinic(store)
    named = store.create_patient(alice.actor, payload, {"note": payload})
    record_entry(store, alice.actor, named.id, _entry("2026-11-04", note=payload))
    note = store.add_note(alice.actor, named.id, payload)
    assert store.patient(alice.actor, named.id).name == payload
    assert store.diary(alice.actor, named.id)[0].note == payload
    assert store.notes(alice.actor, named.id)[0].text == payload == note.text
    assert len(store.patients(alice.actor)) == 2


def test_screenings_plans_and_questionnaires_are_kept_over_time(store: Store) -> None:
    alice, _, patient = _clinic(store)
    result: dict[str, Any] = {"verdict": "caution", "earliest_start": None, "findings": []}
    store.save_screening(alice.actor, patient.id, {"age": 40}, result, "kb-1")
    store.save_screening(
        alice.actor, patient.id, {"age": 41}, {**result, "verdict": "eligible"}, "kb-2"
    )
    saved = store.screenings(alice.actor, patient.id)
    assert [(s.verdict, s.knowledge_version) for s in saved] == [
        ("eligible", "kb-2"),
        ("caution", "kb-1"),
    ]
    steps = [{"start": "2026-12-01", "end": None, "dose_mg": 1.5, "time": "bedtime"}]
    store.save_plan(alice.actor, patient.id, "gentle", dt.date(2026, 11, 1), {"p": 1}, [])
    store.save_plan(alice.actor, patient.id, "standard", dt.date(2026, 12, 1), {"p": 2}, steps)
    plan = store.current_plan(alice.actor, patient.id)
    assert plan is not None
    assert (plan.protocol, plan.start, plan.steps) == ("standard", dt.date(2026, 12, 1), steps)
    for day, total in (("2026-12-20", 40.5), ("2026-10-01", 61.0)):
        store.add_questionnaire(
            alice.actor, patient.id, "fiqr", dt.date.fromisoformat(day), {}, {"total": total}
        )
    totals = [q.result["total"] for q in store.questionnaires(alice.actor, patient.id, "fiqr")]
    assert totals == [61.0, 40.5]


def test_sessions_resolve_to_their_account_until_closed_or_expired(store: Store) -> None:
    alice, _, _ = _clinic(store)
    token, csrf = store.open_session(alice, "cookie", dt.timedelta(hours=1))
    found = store.session(token, "cookie")
    assert found == (alice.actor, csrf)
    assert store.session(token, "bearer") is None
    store.close_session(token)
    assert store.session(token, "cookie") is None
    stale, _ = store.open_session(alice, "bearer", dt.timedelta(seconds=-1))
    assert store.session(stale, "bearer") is None


def test_is_empty_until_the_first_account(store: Store) -> None:
    assert store.is_empty()
    _clinic(store)
    assert not store.is_empty()


def test_a_caseload_brings_each_patients_verdict_plan_and_diary_in_one_read(store: Store) -> None:
    alice, bob, patient = _clinic(store)
    other = store.create_patient(alice.actor, "Another", {})
    store.create_patient(bob.actor, "Not Alice's", {})
    store.save_screening(alice.actor, patient.id, {}, {"verdict": "wait"}, "kb")
    store.save_screening(alice.actor, patient.id, {}, {"verdict": "eligible"}, "kb")
    store.save_plan(alice.actor, patient.id, "standard", dt.date(2026, 11, 1), {}, [])
    for day in ("2026-11-03", "2026-11-02"):
        record_entry(store, alice.actor, patient.id, _entry(day))
    caseload = {item.record.name: item for item in store.caseload(alice.actor)}
    assert set(caseload) == {"Pat One", "Another"}
    mine = caseload["Pat One"]
    assert mine.verdict == "eligible"
    assert mine.plan is not None
    assert mine.plan.protocol == "standard"
    assert [e.day.isoformat() for e in mine.entries] == ["2026-11-02", "2026-11-03"]
    assert (caseload["Another"].verdict, caseload["Another"].plan) == (None, None)
    assert caseload["Another"].entries == []
    assert store.audit_trail(other.id)[0].what == "patient list"
    me = store.account_by_email("pat@home.test")
    assert me is not None
    with pytest.raises(Forbidden):
        store.caseload(me.actor)
