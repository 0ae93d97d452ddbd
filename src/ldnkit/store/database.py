"""Engines: SQLite in WAL mode with foreign keys on, or whatever server the URL names."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url


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
