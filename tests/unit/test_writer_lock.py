"""The SQLite writer lock: held in one process, it keeps another process's writer waiting."""

from __future__ import annotations

import fcntl
import multiprocessing
import sys
from pathlib import Path

import pytest

from ldnkit.store.database import WriterLock, sqlite_file

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="advisory file locks are POSIX")


def _try_lock(path: str, answer: multiprocessing.Queue[str]) -> None:
    # Another process, as another worker would be: may it take the lock now?
    with open(path, "a+b") as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            answer.put("waits")
        else:
            answer.put("taken")


def _other_process_sees(path: Path) -> str:
    answer: multiprocessing.Queue[str] = multiprocessing.Queue()
    child = multiprocessing.get_context("fork").Process(target=_try_lock, args=(str(path), answer))
    child.start()
    child.join(20)
    return answer.get(timeout=5)


def test_a_writer_in_one_process_keeps_another_process_waiting(tmp_path: Path) -> None:
    database = tmp_path / "clinic.db"
    lock = WriterLock(database)
    writer = tmp_path / "clinic.db-writer"
    with lock:
        assert writer.exists()
        assert _other_process_sees(writer) == "waits"
    assert _other_process_sees(writer) == "taken"
    lock.close()


def test_the_lock_file_is_made_on_the_first_write_only(tmp_path: Path) -> None:
    lock = WriterLock(tmp_path / "clinic.db")
    assert not (tmp_path / "clinic.db-writer").exists()
    with lock:
        pass
    assert (tmp_path / "clinic.db-writer").exists()
    lock.close()


def test_a_folder_that_cannot_hold_the_lock_file_leaves_sqlite_its_own_lock(
    tmp_path: Path,
) -> None:
    lock = WriterLock(tmp_path / "missing" / "clinic.db")
    with lock:  # no file could be made: the threads of this process still queue
        pass
    assert not (tmp_path / "missing").exists()


def test_in_memory_databases_have_no_lock_file() -> None:
    assert sqlite_file("sqlite://") is None
    assert sqlite_file("sqlite:///:memory:") is None
    assert sqlite_file("sqlite:////srv/ldnkit/clinic.db") == Path("/srv/ldnkit/clinic.db")
