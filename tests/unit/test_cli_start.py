"""The command line starts without the heavy libraries only some commands need: SQLAlchemy and
Alembic (the clinic database), scipy (clinic outcomes), DuckDB and PySpark (population runs).
Each is imported by the command that uses it, so `ldnkit --help` and every other command do
not wait for them."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("sqlalchemy", "alembic", "scipy", "duckdb", "pyspark", "argon2")


def test_the_cli_loads_without_the_database_statistics_or_engine_libraries() -> None:
    code = (
        "import json, sys; import ldnkit.cli; "
        f"print(json.dumps(sorted(m for m in {list(HEAVY)!r} if m in sys.modules)))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert json.loads(loaded) == []


def test_help_lists_every_command_group() -> None:
    shown = subprocess.run(
        [sys.executable, "-c", "from ldnkit.cli import main; main(['--help'])"],
        capture_output=True,
        text=True,
    )
    assert shown.returncode == 0
    for command in ("screen", "plan", "db", "users", "serve", "outcomes", "population", "ask"):
        assert f" {command} " in shown.stdout
