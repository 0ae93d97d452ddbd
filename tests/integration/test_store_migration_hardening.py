"""Migration 0003_hardening on SQLite and PostgreSQL: from empty, from the revision before it
with data, and back."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect, text

from ldnkit.store import migrate
from ldnkit.store.database import make_engine
from ldnkit.store.models import Base

NEW_TABLES = {"diary_entry_versions", "login_attempts"}


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


def _columns(engine: Engine, table: str) -> set[str]:
    return {c["name"] for c in inspect(engine).get_columns(table)}


def test_the_migrated_schema_is_exactly_what_the_models_describe(engine: Engine) -> None:
    migrate.upgrade(engine)
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert differences == []


def test_hardening_goes_up_from_empty_and_back_down_to_the_revision_before(engine: Engine) -> None:
    migrate.upgrade(engine, "0003_hardening")
    assert migrate.current_revision(engine) == "0003_hardening"
    assert set(inspect(engine).get_table_names()) >= NEW_TABLES
    assert {"entered_by", "entered_role"} <= _columns(engine, "diary_entries")
    assert "last_seen_at" in _columns(engine, "sessions")
    migrate.downgrade(engine, "0003")
    assert not NEW_TABLES & set(inspect(engine).get_table_names())
    assert not {"entered_by", "entered_role"} & _columns(engine, "diary_entries")
    assert "last_seen_at" not in _columns(engine, "sessions")
    migrate.upgrade(engine, "0003_hardening")
    assert migrate.current_revision(engine) == "0003_hardening"


def test_days_and_sessions_from_before_keep_their_data_with_no_author_claimed(
    engine: Engine,
) -> None:
    migrate.upgrade(engine, "0003")
    created = dt.datetime(2026, 1, 5, 9, 30, tzinfo=dt.UTC)
    with engine.begin() as c:
        c.execute(text("INSERT INTO clinicians (id, name, created_at) VALUES (1, 'Dr A', :t)"),
                  {"t": created})  # fmt: skip
        c.execute(
            text("INSERT INTO patients (id, clinician_id, name, profile, created_at) "
                 "VALUES (1, 1, 'Pat', '{}', :t)"), {"t": created},
        )  # fmt: skip
        c.execute(
            text("INSERT INTO accounts (id, email, password_hash, role, clinician_id, created_at)"
                 " VALUES (1, 'a@x.test', 'h', 'clinician', 1, :t)"), {"t": created},
        )  # fmt: skip
        c.execute(
            text("INSERT INTO diary_entries (patient_id, day, pain, fatigue, sleep_quality, "
                 "side_effects, note, updated_at) VALUES (1, :d, 4, 5, 6, '[]', 'kept', :t)"),
            {"d": dt.date(2026, 1, 4), "t": created},
        )  # fmt: skip
        c.execute(
            text("INSERT INTO sessions (token_hash, account_id, kind, csrf_token, created_at, "
                 "expires_at) VALUES ('t', 1, 'cookie', 'c', :t, :e)"),
            {"t": created, "e": created + dt.timedelta(hours=12)},
        )  # fmt: skip
    migrate.upgrade(engine)
    with engine.connect() as c:
        day = c.execute(text("SELECT note, entered_by, entered_role FROM diary_entries")).one()
        seen = c.execute(text("SELECT last_seen_at FROM sessions")).scalar_one()
    assert tuple(day) == ("kept", None, None)
    seen = seen if isinstance(seen, dt.datetime) else dt.datetime.fromisoformat(str(seen))
    assert (seen if seen.tzinfo else seen.replace(tzinfo=dt.UTC)) == created
