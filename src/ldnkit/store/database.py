"""Engines and transactions: SQLite in WAL mode with foreign keys on, or whatever server the
URL names."""

from __future__ import annotations

import datetime as dt
import hashlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def make_engine(url: str, *, immediate: bool = True) -> Engine:
    """An engine for `url`; SQLite connections get the pragmas a multi-client web app needs.

    `immediate=False` gives SQLite read transactions that start deferred (for read-only work).
    """
    if not is_sqlite(url):
        return create_engine(url, pool_pre_ping=True)
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        # WAL lets readers run beside the one writer; NORMAL sync in WAL mode survives a killed
        # process (only an OS crash or power loss can drop the last commits).
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()
        # Take transactions into our own hands (below): pysqlite's implicit BEGIN is deferred.
        dbapi_connection.isolation_level = None

    @event.listens_for(engine, "begin")
    def _begin(connection: Any) -> None:
        # Nearly every transaction writes (each read of a patient record writes an audit row).
        # A deferred transaction that reads and then writes fails at once with SQLITE_BUSY when
        # another writer got in between; IMMEDIATE waits its turn (busy_timeout) instead.
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


class Transactions:
    """One database behind two kinds of transaction: writes (serialised) and plain reads.

    Every part of the store (see `ldnkit.store.repository`) runs its SQL through these, so each
    part takes the same write lock.
    """

    def __init__(self, engine: Engine, read_engine: Engine | None = None) -> None:
        self.engine = engine
        self._read_engine = read_engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        self._read_sessions = sessionmaker(read_engine or engine, expire_on_commit=False)
        # SQLite has one writer at a time; its busy handler waits by sleeping in steps of up to
        # 100 ms, which under load turns into long tail latencies. Writers from this process
        # queue on a lock instead and are handed the database the moment it is free.
        self._write_lock: threading.Lock | nullcontext[None] = (
            threading.Lock() if is_sqlite(str(engine.url)) else nullcontext()
        )

    def close(self) -> None:
        self.engine.dispose()
        if self._read_engine is not None:
            self._read_engine.dispose()

    @contextmanager
    def _tx(self) -> Iterator[Session]:
        """A write transaction (nearly all are: reading a patient record writes its audit row)."""
        with self._write_lock, self._sessions.begin() as session:
            yield session

    @contextmanager
    def _read(self) -> Iterator[Session]:
        """A read-only transaction: in WAL mode it never waits for the writer."""
        with self._read_sessions.begin() as session:
            yield session


def aware(value: dt.datetime) -> dt.datetime:
    """A timestamp read back in UTC (SQLite hands timezone-aware columns back naive)."""
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def secret_hash(token: str) -> str:
    """What is stored of a secret or a key: its SHA-256, never the text."""
    return hashlib.sha256(token.encode()).hexdigest()


def affected(result: Any) -> int:
    """How many rows an UPDATE, DELETE or INSERT changed."""
    return int(result.rowcount)


def upsert_insert(s: Session, table: Any) -> Any:
    """The dialect's own INSERT for `table`, which knows ON CONFLICT (PostgreSQL and SQLite)."""
    dialect = postgresql if s.get_bind().dialect.name == "postgresql" else sqlite
    return dialect.insert(table)
