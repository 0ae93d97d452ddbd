"""Shared fixtures: an empty database of each kind the store supports; clients run together."""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, make_url, text

PG_URL = os.environ.get("LDNKIT_TEST_POSTGRES_URL")
DATABASE_KINDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@contextmanager
def _fresh_database(kind: str, folder: Path) -> Iterator[str]:
    """A URL for an empty database; PostgreSQL gets a database of its own, dropped after."""
    if kind == "sqlite":
        yield f"sqlite:///{folder}/clinic.db"
        return
    if not PG_URL:
        # In CI a missing server must fail loudly, not pass as a quiet skip.
        if os.environ.get("CI"):
            pytest.fail("LDNKIT_TEST_POSTGRES_URL is not set; .ci/run starts PostgreSQL")
        pytest.skip("LDNKIT_TEST_POSTGRES_URL is not set (CI sets it; see .ci/run)")
    name = f"ldnkit_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def fresh_database() -> Callable[[str, Path], AbstractContextManager[str]]:
    """Open with `with fresh_database(kind, folder) as url:`; kind is sqlite or postgres."""
    return _fresh_database


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL for an empty database of each kind; PostgreSQL gets a fresh database per test."""
    with _fresh_database(request.param, tmp_path) as url:
        yield url


def _together(clients: int, work: Callable[[int], None]) -> None:
    start = threading.Barrier(clients)

    def client(i: int) -> None:
        start.wait()
        work(i)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a client did not finish in 2 minutes"


@pytest.fixture(scope="session")
def together() -> Callable[[int, Callable[[int], None]], None]:
    """`together(n, work)` runs `work(0)` .. `work(n-1)` in n threads released at once."""
    return _together
