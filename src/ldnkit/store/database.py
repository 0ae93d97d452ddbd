"""Engines and transactions: SQLite in WAL mode with foreign keys on, or whatever server the
URL names."""

from __future__ import annotations

import datetime as dt
import hashlib
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from types import TracebackType
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


class WriterLock:
    """One writer at a time across the threads of this process and every other process that
    opens the same SQLite file (the web app's or the CDS service's worker processes).

    SQLite lets one writer in and makes the others wait in its busy handler, which sleeps in
    steps of 1 ms up to 100 ms: a write of a tenth of a millisecond then costs the next writer
    a millisecond or more, and under load the tail grows to tens of milliseconds. Writers queue
    here instead, on a thread lock and then an advisory lock on a file beside the database,
    and the kernel hands the lock to the next one the moment it is released. Programs that do
    not take it (the sqlite3 shell) are still kept out by SQLite's own lock.
    """

    def __init__(self, database: Path | None) -> None:
        # Held while a thread of this process writes or gets ready to (see Transactions).
        self.threads = threading.Lock()
        self._path = None if database is None or fcntl is None else Path(f"{database}-writer")
        self._file: Any = None

    def __enter__(self) -> None:
        self.threads.acquire()
        try:
            self.take_file()
        except BaseException:
            self.threads.release()
            raise

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.release_file()
        self.threads.release()

    def take_file(self) -> None:
        """Wait for the other processes' writers (this thread holds `threads`)."""
        if self._file is None and self._path is not None:
            self._open(self._path)
        if self._file is not None:
            fcntl.flock(self._file.fileno(), fcntl.LOCK_EX)

    def release_file(self) -> None:
        if self._file is not None:
            fcntl.flock(self._file.fileno(), fcntl.LOCK_UN)

    def _open(self, path: Path) -> None:
        # On the first write, and kept open: the lock is taken and released on the open file.
        try:
            self._file = open(path, "a+b")  # noqa: SIM115
        except OSError:
            # Where the file cannot be made, SQLite cannot write its own journal beside the
            # database either: its error says so; its own lock keeps writers apart meanwhile.
            self._path = None

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


try:
    import fcntl
except ImportError:  # Windows: one process's threads only; SQLite's own lock does the rest.
    fcntl = None  # type: ignore[assignment]


def sqlite_file(url: str) -> Path | None:
    """The file of a SQLite URL; None for an in-memory database."""
    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file::memory:"):
        return None
    return Path(database)


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
        # SQLite has one writer at a time: writers queue for it on a lock (see WriterLock).
        url = engine.url.render_as_string(hide_password=False)
        self._writer = WriterLock(sqlite_file(url)) if is_sqlite(url) else None
        self._write_lock: AbstractContextManager[None] = self._writer or nullcontext()
        self._statements: dict[int, tuple[str, list[str], dict[str, Any]]] = {}

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
        self.engine.dispose()
        if self._read_engine is not None:
            self._read_engine.dispose()

    @contextmanager
    def _tx(self) -> Iterator[Session]:
        """A write transaction (nearly all are: reading a patient record writes its audit row)."""
        with self._write_lock, self._sessions.begin() as session:
            yield session

    def _write_alone(self, statement: Any, values: dict[str, Any]) -> list[tuple[Any, ...]]:
        """One write statement in a transaction of its own; its rows (RETURNING).

        For a hot path. On SQLite the other processes are held off for that one statement only
        (the connection is taken from the pool before, the statement compiled once): while the
        lock is held, every step waits for this process's interpreter lock, which another
        thread may hold for milliseconds, and every other process's writers wait with it.
        """
        if self._writer is None:
            # A server database: a plain connection (a session costs more than the statement).
            with self.engine.begin() as connection:
                return [tuple(row) for row in connection.execute(statement, values)]
        sql, names, processors = self._compiled(statement)
        params = [
            processors[name](values[name]) if name in processors else values[name] for name in names
        ]
        # This process's writers queue first; the one whose turn it is takes a connection,
        # then waits for the other processes, and holds them off for the statement only.
        with self._writer.threads:
            raw = self.engine.raw_connection()
            try:
                self._writer.take_file()
                try:
                    # In autocommit (see make_engine) the statement is its own transaction,
                    # done when its last row has been read.
                    cursor = raw.cursor()
                    cursor.execute(sql, params)
                    try:
                        return [tuple(row) for row in cursor.fetchall()]
                    finally:
                        cursor.close()
                finally:
                    self._writer.release_file()
            finally:
                raw.close()

    def _compiled(self, statement: Any) -> tuple[str, list[str], dict[str, Any]]:
        # (SQL text, parameter names in order, each parameter's conversion) of a statement
        # built once (held by its module), compiled once for this database.
        key = id(statement)
        found = self._statements.get(key)
        if found is None:
            dialect = self.engine.dialect
            compiled = statement.compile(dialect=dialect)
            processors = {}
            for name, bind in compiled.binds.items():
                process = bind.type.dialect_impl(dialect).bind_processor(dialect)
                if process is not None:
                    processors[name] = process
            found = (compiled.string, list(compiled.positiontup or ()), processors)
            self._statements[key] = found
        return found

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
    return dialect_insert(s.get_bind().dialect.name, table)


def dialect_insert(dialect: str, table: Any) -> Any:
    """`upsert_insert` for a dialect named ("postgresql", else SQLite's)."""
    return (postgresql if dialect == "postgresql" else sqlite).insert(table)
