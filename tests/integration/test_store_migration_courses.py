"""Migration 0005_courses on SQLite and PostgreSQL: from the revision before it with data, and
back; the accounts keep their sessions and audit trail while the role check changes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import IntegrityError

from ldnkit.store import migrate
from ldnkit.store.database import make_engine
from ldnkit.store.models import Base

BEFORE = "0004_cds_token_uses"
NEW_TABLES = {"dispenses", "ldn_stops"}
CREATED = dt.datetime(2026, 1, 5, 9, 30, tzinfo=dt.UTC)


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


def _clinic_before(engine: Engine) -> None:
    """A clinician with a session, a patient with a plan, and an audit entry by the clinician."""
    migrate.upgrade(engine, BEFORE)
    with engine.begin() as c:
        c.execute(text("INSERT INTO clinicians (id, name, created_at) VALUES (1, 'Dr A', :t)"),
                  {"t": CREATED})  # fmt: skip
        c.execute(
            text("INSERT INTO patients (id, clinician_id, name, profile, created_at) "
                 "VALUES (1, 1, 'Pat', '{}', :t)"), {"t": CREATED},
        )  # fmt: skip
        c.execute(
            text("INSERT INTO accounts (id, email, password_hash, role, clinician_id, created_at)"
                 " VALUES (1, 'a@x.test', 'h', 'clinician', 1, :t)"), {"t": CREATED},
        )  # fmt: skip
        c.execute(
            text("INSERT INTO sessions (token_hash, account_id, kind, csrf_token, created_at, "
                 "expires_at, last_seen_at) VALUES ('t', 1, 'cookie', 'c', :t, :e, :t)"),
            {"t": CREATED, "e": CREATED + dt.timedelta(hours=12)},
        )  # fmt: skip
        c.execute(
            text("INSERT INTO audit_log (at, account_id, action, patient_id, what, detail) "
                 "VALUES (:t, 1, 'read', 1, 'patient', '')"), {"t": CREATED},
        )  # fmt: skip
        c.execute(
            text("INSERT INTO plans (id, patient_id, created_at, protocol, start, request, steps)"
                 " VALUES (1, 1, :t, 'standard', :d, '{}', '[]')"),
            {"t": CREATED, "d": dt.date(2026, 1, 6)},
        )  # fmt: skip


def _analyst(engine: Engine, number: int, clinician: int | None = None) -> None:
    # Ids given, as for every row here: PostgreSQL's sequence has not seen the ids above.
    with engine.begin() as c:
        c.execute(
            text(
                "INSERT INTO accounts (id, email, password_hash, role, clinician_id, created_at) "
                "VALUES (:i, :e, 'h', 'analyst', :c, :t)"
            ),
            {"i": 10 + number, "e": f"an{number}@x.test", "c": clinician, "t": CREATED},
        )


def test_courses_come_in_and_accounts_keep_their_sessions_and_audit_trail(
    engine: Engine,
) -> None:
    _clinic_before(engine)
    migrate.upgrade(engine)
    assert set(inspect(engine).get_table_names()) >= NEW_TABLES
    with engine.connect() as c:
        assert c.execute(text("SELECT account_id FROM sessions")).scalars().all() == [1]
        assert c.execute(text("SELECT account_id FROM audit_log")).scalars().all() == [1]
        assert c.execute(text("SELECT email FROM accounts")).scalars().all() == ["a@x.test"]
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert differences == []


def test_an_analyst_account_links_to_no_clinician_and_no_patient(engine: Engine) -> None:
    _clinic_before(engine)
    with pytest.raises(IntegrityError, match="account_role_link"):  # not a role before
        _analyst(engine, 1)
    migrate.upgrade(engine)
    _analyst(engine, 1)
    with pytest.raises(IntegrityError, match="account_role_link"):
        _analyst(engine, 2, clinician=1)
    with pytest.raises(IntegrityError, match="account_role_link"), engine.begin() as c:
        c.execute(
            text("INSERT INTO accounts (id, email, password_hash, role, created_at) "
                 "VALUES (20, 'n@x.test', 'h', 'nurse', :t)"), {"t": CREATED},
        )  # fmt: skip


def test_dispenses_and_stops_keep_their_rules_in_the_database(engine: Engine) -> None:
    _clinic_before(engine)
    migrate.upgrade(engine)
    insert_dispense = text(
        "INSERT INTO dispenses (patient_id, plan_id, dispensed_on, days_supply, status, "
        "recorded_by, recorded_at) VALUES (1, 1, :d, :n, :s, 1, :t)"
    )
    with engine.begin() as c:
        c.execute(
            insert_dispense, {"d": dt.date(2026, 1, 6), "n": 30, "s": "completed", "t": CREATED}
        )
    for days, status in ((0, "completed"), (30, "returned")):
        with pytest.raises(IntegrityError), engine.begin() as c:
            c.execute(
                insert_dispense, {"d": dt.date(2026, 2, 6), "n": days, "s": status, "t": CREATED}
            )
    insert_stop = text(
        "INSERT INTO ldn_stops (patient_id, plan_id, stopped_on, reason, note, recorded_by, "
        "recorded_at) VALUES (1, 1, :d, :r, '', 1, :t)"
    )
    with pytest.raises(IntegrityError), engine.begin() as c:
        c.execute(insert_stop, {"d": dt.date(2026, 2, 1), "r": "bored", "t": CREATED})
    with engine.begin() as c:
        c.execute(insert_stop, {"d": dt.date(2026, 2, 1), "r": "cost", "t": CREATED})
    with pytest.raises(IntegrityError), engine.begin() as c:  # one stop per plan
        c.execute(insert_stop, {"d": dt.date(2026, 2, 2), "r": "other", "t": CREATED})


def test_going_back_is_refused_while_an_analyst_exists_then_steps_back_cleanly(
    engine: Engine,
) -> None:
    _clinic_before(engine)
    migrate.upgrade(engine)
    _analyst(engine, 1)
    with pytest.raises(RuntimeError, match="analyst account"):
        migrate.downgrade(engine, BEFORE)
    assert migrate.current_revision(engine) == migrate.head_revision()  # nothing half-done
    with engine.begin() as c:
        c.execute(text("DELETE FROM accounts WHERE role = 'analyst'"))
    migrate.downgrade(engine, BEFORE)
    assert migrate.current_revision(engine) == BEFORE
    assert not NEW_TABLES & set(inspect(engine).get_table_names())
    with engine.connect() as c:
        assert c.execute(text("SELECT account_id FROM sessions")).scalars().all() == [1]
    with pytest.raises(IntegrityError, match="account_role_link"):
        _analyst(engine, 1)
    migrate.upgrade(engine)
    assert migrate.current_revision(engine) == migrate.head_revision()
