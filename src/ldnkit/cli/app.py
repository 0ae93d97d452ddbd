"""The Typer application and the one place where errors become exit codes and messages."""

from __future__ import annotations

import sys
from typing import Any

import click
import typer

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
    except click.exceptions.NoArgsIsHelpError as exc:
        print(exc.ctx.get_help() if exc.ctx else "", file=sys.stderr)
        return EXIT_BAD_INPUT
    except click.UsageError as exc:
        return _fail([exc.format_message()])
    except click.exceptions.Abort:
        return 1
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except OSError as exc:
        return _fail([f"{exc.filename or 'file'}: {exc.strerror or exc}"])
    return result if isinstance(result, int) else 0
