"""The Typer application and the one place where errors become exit codes and messages."""

from __future__ import annotations

import sys
from typing import Any

import typer

try:  # recent typer ships its own copy of click; its usage errors are not click's
    from typer._click import exceptions as click_errors
except ImportError:  # pragma: no cover - older typer uses click itself
    from click import exceptions as click_errors  # type: ignore[no-redef]

from ldnkit.validation import InputError

app = typer.Typer(
    name="ldnkit",
    help="Low-dose naltrexone therapy: evidence, safety screen, criteria, titration and more.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

EXIT_BAD_INPUT = 2


def _fail(lines: list[str]) -> int:
    for line in lines:
        print(f"error: {line}", file=sys.stderr)
    return EXIT_BAD_INPUT


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; bad input prints one line per problem and returns 2, never a traceback."""
    command = typer.main.get_command(app)
    try:
        result: Any = command.main(args=argv, prog_name="ldnkit", standalone_mode=False)
    except InputError as exc:
        return _fail([str(p) for p in exc.problems])
    except click_errors.NoArgsIsHelpError as exc:
        print(exc.ctx.get_help() if exc.ctx else "", file=sys.stderr)
        return EXIT_BAD_INPUT
    except click_errors.UsageError as exc:
        return _fail([exc.format_message()])
    except typer.Abort:
        return 1
    except typer.Exit as exc:
        return int(exc.exit_code)
    except OSError as exc:
        return _fail([f"{exc.filename or 'file'}: {exc.strerror or exc}"])
    return result if isinstance(result, int) else 0
