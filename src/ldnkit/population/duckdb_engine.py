"""Population screening on DuckDB (embedded): the reduction in SQL, the screen in Python.

DuckDB reads each resource type's NDJSON files (plain or .gz) with an explicit column list: only
the fields the screen needs are parsed, and their types are checked on the way in. That typed
read is the fast path's validation: a field of the wrong shape fails the read with a message
naming the file; the full fhir.resources validation runs on the single-patient paths only, where
its cost (about 0.25 ms per resource) does not matter.

The reduction (`ldnkit.population.reduction`) is run as written: the kinds first, then the
patient rows, which stream out in patient-id order, batch by batch.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from ldnkit.fhir.reading import bulk_files
from ldnkit.population import reduction
from ldnkit.population.rows import RowScreener
from ldnkit.validation import InputError


def run_script(con: duckdb.DuckDBPyConnection, script: str, params: dict[str, Any]) -> None:
    """Run SQL statements ending in `;` and a newline, each with the parameters it names."""
    for statement in script.split(";\n"):
        if statement.strip():
            con.execute(statement, _used(statement, params))


def _used(sql: str, params: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in params.items() if f"${k}" in sql}


def unreadable_export(folder: Path, error: duckdb.Error) -> InputError:
    """The one-line error for an export DuckDB could not read (its first line says why)."""
    first = str(error).splitlines()[0]
    return InputError.single("folder", str(folder), f"readable FHIR R4 NDJSON ({first})")


def _columns_literal(columns: dict[str, str]) -> str:
    return "{" + ", ".join(f"'{name}': '{kind}'" for name, kind in columns.items()) + "}"


def register_views(
    con: duckdb.DuckDBPyConnection,
    folder: Path,
    columns: dict[str, dict[str, str]],
    *,
    skip_unreadable: bool = False,
    tables: Collection[str] = (),
) -> dict[str, list[Path]]:
    """One view per resource type over its NDJSON files, reading only the given columns.

    A type without files gets an empty view. With `skip_unreadable`, a line that is not JSON
    reads as a row of nulls and a field of the wrong shape as null, for the caller to count,
    instead of failing the read. The types named in `tables` are read now, into temporary
    tables: for types the caller's queries read more than once (parsing JSON costs far more
    than reading a table again). Returns the export's files by type.
    """
    files = bulk_files(folder)
    lenient = ", ignore_errors=true" if skip_unreadable else ""
    for kind, wanted in columns.items():
        paths = files.get(kind)
        if paths:
            listed = ", ".join("'" + str(p).replace("'", "''") + "'" for p in paths)
            source = (
                f"read_json([{listed}], format='newline_delimited', "
                f"columns={_columns_literal(wanted)}{lenient})"
            )
        else:
            nulls = ", ".join(f'NULL::{kind_} AS "{name}"' for name, kind_ in wanted.items())
            source = f"(SELECT {nulls} WHERE false)"
        what = "TABLE" if kind in tables else "VIEW"
        # Built from the constant column list and quoted file paths only.
        con.execute(f'CREATE TEMP {what} "{kind}" AS SELECT * FROM {source}')  # noqa: S608
    return files


# Parsed into tables, the fields read take about a third of the NDJSON they came from (0.39 GB
# for the 1.35 GB of conditions and orders of 100,000 generated patients); gzip about 8x.
_TABLE_PER_NDJSON_BYTE = 0.35
_GZIP_RATIO = 8
# DuckDB's memory for one run: a quarter of the machine's, from 256 MiB (the JSON reader's
# buffers alone take 32 MiB a thread) to 1 GiB. Past it DuckDB works on disk (in a temporary
# folder), so an export of any size runs in the same memory; 1 GiB holds 150,000 generated
# patients without touching the disk.
_MEMORY_SHARE = 0.25
_MEMORY_FLOOR = 256 << 20
_MEMORY_CAP = 1 << 30
# The conditions and orders are parsed once into tables when they take at most half of it.
_TABLES_SHARE = 0.5


def memory_budget(requested: int | None = None, typed: str | None = None) -> int:
    """Bytes of memory the DuckDB engine may use for one run.

    `requested`: the user's own budget, as `typed` (a machine with memory to spare screens a
    large export faster with more: its conditions and orders are then parsed once). From
    256 MiB to the machine's memory.
    """
    machine = _memory()
    if requested is not None:
        received = typed or _mib(requested)
        if requested < _MEMORY_FLOOR:
            raise InputError.single("--memory", received, "at least 256MiB")
        if machine and requested > machine:
            raise InputError.single(
                "--memory", received, f"at most the memory this machine has ({_mib(machine)})"
            )
        return requested
    if not machine:
        return _MEMORY_CAP
    return max(_MEMORY_FLOOR, min(_MEMORY_CAP, int(machine * _MEMORY_SHARE)))


def _mib(size: int) -> str:
    return f"{size // 2**20}MiB"


def _register(con: duckdb.DuckDBPyConnection, folder: Path, budget: int) -> None:
    files = bulk_files(folder)
    ndjson = sum(
        p.stat().st_size * (_GZIP_RATIO if p.suffix == ".gz" else 1)
        for kind in reduction.READ_TWICE
        for p in files.get(kind, ())
    )
    # Parsing JSON costs far more than reading a table again, so the types the kinds and the
    # rows both read are parsed once into tables, unless those would take much of the memory
    # budget: then they are parsed twice and the run's memory stays within the budget.
    fits = ndjson * _TABLE_PER_NDJSON_BYTE <= budget * _TABLES_SHARE
    register_views(con, folder, reduction.COLUMNS, tables=reduction.READ_TWICE if fits else ())


# Where a container's memory limit is read (cgroup v2, then v1). Inside a container these name
# the container's own group; "max" (v2) or a huge number (v1) means no limit.
CGROUP_LIMITS = (
    Path("/sys/fs/cgroup/memory.max"),
    Path("/sys/fs/cgroup/memory/memory.limit_in_bytes"),
)


def _memory() -> int:
    """The memory this process may use in bytes: the machine's, or its container's limit when
    that is lower (a quarter of the host's memory could be more than the container holds).
    0 where neither can be read."""
    try:
        machine = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        machine = 0
    for path in CGROUP_LIMITS:
        try:
            limit = int(path.read_text().strip())
        except (OSError, ValueError):
            continue
        return min(machine, limit) if machine else limit
    return machine


def _limit(con: duckdb.DuckDBPyConnection, budget: int, spill: str) -> None:
    # What does not fit in the budget goes to the spill folder.
    con.execute(f"SET memory_limit = '{budget // 2**20}MiB'")
    con.execute("SET temp_directory = '" + spill.replace("'", "''") + "'")


def plain_scan(folder: Path) -> int:
    """Every record of every file read by DuckDB with its own schema detection, then dropped.

    The floor the benchmarks compare with: nothing can read the export faster than reading it.
    Returns the number of records read.
    """
    con = duckdb.connect()
    records = 0
    try:
        for paths in bulk_files(folder).values():
            reader = con.sql(
                "SELECT * FROM read_json($files, format='newline_delimited')",
                params={"files": [str(p) for p in paths]},
            ).to_arrow_reader(100_000)
            records += sum(batch.num_rows for batch in reader)
    finally:
        con.close()
    return records


def count_patients(folder: Path) -> int:
    """Patients in the export (for the progress bar)."""
    con = duckdb.connect()
    try:
        register_views(con, folder, reduction.COLUMNS)
        row = con.execute('SELECT count(*) FROM "Patient" WHERE id IS NOT NULL').fetchone()
    except duckdb.Error as exc:
        raise InputError.single(
            "folder", str(folder), f"readable Bulk Data files ({exc})"
        ) from None
    finally:
        con.close()
    return int(row[0]) if row else 0


@dataclass
class Facts:
    """What the export holds, reduced: the screener of its kinds, then patient rows."""

    screener: RowScreener
    batches: Iterator[Any]  # pyarrow RecordBatches of patient rows, in patient-id order


@contextmanager
def patient_facts(
    folder: Path,
    screener: Callable[[dict[int, Any], dict[int, Any]], RowScreener],
    batch_size: int = 20_000,
    threads: int | None = None,
    memory: int | None = None,
) -> Iterator[Facts]:
    """Reduce the export in DuckDB; patient rows come in Arrow batches, by patient id.

    `screener` makes the run's screener from the kinds (conditions, orders); the kinds it finds
    idle are left out of the rows. `memory`: the run's memory budget in bytes (default
    `memory_budget()`).
    """
    budget = memory_budget(memory)
    # The spill folder outlives the connection (DuckDB writes there until it closes).
    with tempfile.TemporaryDirectory(prefix="ldnkit-duckdb-") as spill:
        con = duckdb.connect()
        try:
            if threads:
                con.execute(f"SET threads TO {int(threads)}")
            # Tables fill in parallel, in any order: the rows are sorted below.
            con.execute("SET preserve_insertion_order = false")
            _limit(con, budget, spill)
            _register(con, folder, budget)
            made, rows = _prepare_kinds(con, screener)
            # In the output's order (the file is sorted by patient id), so the rows can be
            # screened and written as they stream; a patient id written twice in an export
            # comes out in the same order every run.
            order = "ORDER BY p.id, p.gender, p.birthDate, p.deceasedDateTime"
            yield Facts(made, iter(con.sql(f"{rows} {order}").to_arrow_reader(batch_size)))
        except duckdb.OutOfMemoryException:
            # Not the export's fault: the machine ran out of memory for it.
            raise
        except duckdb.Error as exc:
            raise unreadable_export(folder, exc) from None
        finally:
            con.close()


def _prepare_kinds(
    con: duckdb.DuckDBPyConnection,
    screener: Callable[[dict[int, Any], dict[int, Any]], RowScreener],
) -> tuple[RowScreener, str]:
    """Number the kinds and make the run's screener from them; the patient-rows query.

    The kind tables are left as the rows query reads them: idle kinds dropped, quiet order
    kinds marked. Every order day is read once on the way (a day that is no date stops here).
    """
    kinds, _ = reduction.queries("duckdb")
    # Table names from the reduction's constants.
    for name, sql in kinds.items():
        con.execute(f"CREATE TEMP TABLE {name} AS {sql}")
    unique = all(
        con.execute(reduction.HASHES_UNIQUE.format(name)).fetchall()[0][0] for name in kinds
    )
    read = "SELECT kind, fragment FROM {}"
    made = screener(*(dict(con.execute(read.format(name)).fetchall()) for name in kinds))
    drop = "DELETE FROM {} WHERE list_contains(?, kind)"
    for name, idle in zip(kinds, made.idle_kinds(), strict=True):
        if idle:
            # Kinds that add nothing to a profile stay out of the rows.
            con.execute(drop.format(name), [idle])
    made.check_order_days(day for (day,) in con.execute(reduction.ORDER_DAYS).fetchall())
    orders, quiet = reduction.ORDER_KINDS, reduction.QUIET
    con.execute(f"ALTER TABLE {orders} ADD COLUMN {quiet} BOOLEAN")
    mark = f"UPDATE {orders} SET {quiet} = list_contains(?, kind)"  # noqa: S608
    con.execute(mark, [made.quiet_orders()])
    return made, reduction.queries("duckdb", by_hash=unique)[1]
