"""CDS Hooks tokens already used, kept in the store: on SQLite and PostgreSQL, across stores.

Each `Store` below stands for one worker process: its own engine, its own connections and (on
SQLite) its own write lock. A token claimed through one is refused through every other.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import Engine, inspect, text

from ldnkit.store import migrate
from ldnkit.store.database import make_engine
from ldnkit.store.repository import Store

NOW = dt.datetime(2026, 11, 23, 10, 0, tzinfo=dt.UTC)
LATER = NOW + dt.timedelta(minutes=5)
EHR = "https://ehr.example.org"


@pytest.fixture
def stores(database_url: str) -> Iterator[Callable[[], Store]]:
    """Opens stores on one migrated database (each a worker of its own); all closed after."""
    opened: list[Store] = []

    def open_one() -> Store:
        store = Store.open(database_url)
        opened.append(store)
        return store

    open_one().upgrade()
    yield open_one
    for store in opened:
        store.close()


def test_a_token_is_accepted_once_and_its_replay_refused(stores: Callable[[], Store]) -> None:
    store = stores()
    assert store.first_token_use(EHR, "jti-1", LATER, now=NOW)
    assert not store.first_token_use(EHR, "jti-1", LATER, now=NOW)
    assert store.first_token_use(EHR, "jti-2", LATER, now=NOW)
    # A jti is the issuer's own: another EHR may send the same one.
    assert store.first_token_use("https://other.example.org", "jti-1", LATER, now=NOW)


def test_a_token_used_at_one_worker_is_refused_at_another(stores: Callable[[], Store]) -> None:
    first, second = stores(), stores()
    assert first.first_token_use(EHR, "shared", LATER, now=NOW)
    assert not second.first_token_use(EHR, "shared", LATER, now=NOW)
    second.close()
    restarted = stores()
    assert not restarted.first_token_use(EHR, "shared", LATER, now=NOW)


def test_an_issuer_and_jti_that_only_join_the_same_way_are_different_tokens(
    stores: Callable[[], Store],
) -> None:
    store = stores()
    assert store.first_token_use("a:b", "c", LATER, now=NOW)
    assert store.first_token_use("a", "b:c", LATER, now=NOW)


def test_long_issuers_and_jtis_are_kept_whole(stores: Callable[[], Store]) -> None:
    store = stores()
    jti = "x" * 10_000
    assert store.first_token_use(EHR, jti, LATER, now=NOW)
    assert not store.first_token_use(EHR, jti, LATER, now=NOW)
    assert store.first_token_use(EHR, jti + "y", LATER, now=NOW)


def test_a_claim_past_its_expiry_is_forgotten_and_swept_out(stores: Callable[[], Store]) -> None:
    store = stores()
    assert store.first_token_use(EHR, "old", NOW, now=NOW - dt.timedelta(minutes=5))
    assert store.first_token_use(EHR, "live", LATER, now=NOW)
    # Once its token can no longer be used, the same jti is a new token.
    assert store.first_token_use(EHR, "old", LATER, now=NOW + dt.timedelta(seconds=1))
    assert not store.first_token_use(EHR, "old", LATER, now=NOW + dt.timedelta(seconds=2))
    assert store.remove_expired_token_uses(now=LATER - dt.timedelta(seconds=1)) == 0
    assert store.remove_expired_token_uses(now=LATER) == 2
    assert store.first_token_use(EHR, "live", LATER + dt.timedelta(minutes=5), now=LATER)


def test_workers_claiming_one_token_at_once_accept_it_exactly_once(
    stores: Callable[[], Store], together: Callable[[int, Callable[[int], None]], None]
) -> None:
    workers = [stores() for _ in range(8)]
    accepted: dict[str, list[int]] = {f"race-{n}": [] for n in range(5)}
    for jti, winners in accepted.items():

        def claim(i: int, jti: str = jti, winners: list[int] = winners) -> None:
            if workers[i].first_token_use(EHR, jti, LATER, now=NOW):
                winners.append(i)

        together(len(workers), claim)
    assert {jti: len(winners) for jti, winners in accepted.items()} == dict.fromkeys(accepted, 1)


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


def test_the_token_table_migration_goes_up_from_empty_and_back_with_data_kept(
    engine: Engine,
) -> None:
    migrate.upgrade(engine, "0003_hardening")
    created = dt.datetime(2026, 1, 5, 9, 30, tzinfo=dt.UTC)
    with engine.begin() as c:
        c.execute(text("INSERT INTO clinicians (id, name, created_at) VALUES (1, 'Dr A', :t)"),
                  {"t": created})  # fmt: skip
    migrate.upgrade(engine, "0004_cds_token_uses")
    assert migrate.current_revision(engine) == "0004_cds_token_uses"
    assert "cds_token_uses" in inspect(engine).get_table_names()
    assert {i["name"] for i in inspect(engine).get_indexes("cds_token_uses")} == {
        "ix_cds_token_uses_expires_at"
    }
    migrate.downgrade(engine, "0003_hardening")
    assert "cds_token_uses" not in inspect(engine).get_table_names()
    with engine.connect() as c:
        assert c.execute(text("SELECT name FROM clinicians")).scalars().all() == ["Dr A"]
    migrate.upgrade(engine, "0004_cds_token_uses")
    assert migrate.current_revision(engine) == "0004_cds_token_uses"
