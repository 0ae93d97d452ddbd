"""The command line as a whole: help for every command, usage errors in one line."""

from __future__ import annotations

import pytest
import typer

from ldnkit.cli import app, main


def _commands() -> list[list[str]]:
    """Every command path, groups included (`users create`, `population screen`, ...)."""
    paths: list[list[str]] = []

    def walk(group: typer.Typer, prefix: list[str]) -> None:
        for info in group.registered_commands:
            assert info.callback is not None
            paths.append([*prefix, info.name or info.callback.__name__.replace("_", "-")])
        for sub in group.registered_groups:
            assert sub.typer_instance is not None
            assert sub.name is not None
            walk(sub.typer_instance, [*prefix, sub.name])

    walk(app, [])
    return paths


COMMANDS = _commands()


def test_the_documented_commands_exist() -> None:
    names = {" ".join(path) for path in COMMANDS}
    for required in ("screen", "criteria", "plan", "liquid", "evidence", "sources", "drug"):
        assert required in names


@pytest.mark.parametrize("path", COMMANDS, ids=lambda p: " ".join(p))
def test_every_command_has_help_text(path: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*path, "--help"]) == 0
    out = capsys.readouterr().out
    assert "Usage:" in out
    # A summary line under the usage line: the command's docstring.
    summary = out.split("\n\n")[1].strip()
    assert len(summary) > 20, out


@pytest.mark.parametrize(
    "path",
    [
        p
        for p in COMMANDS
        if p[0]
        in {
            "screen",
            "criteria",
            "plan",
            "liquid",
            "evidence",
            "sources",
            "drug",
            "response",
            "outcomes",
        }
    ],
    ids=lambda p: " ".join(p),
)
def test_clinical_commands_offer_json(path: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*path, "--help"]) == 0
    assert "--json" in capsys.readouterr().out


def test_unknown_option_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", "--bogus"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["error: No such option: --bogus"]


def test_unknown_command_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["nosuch"]) == 2
    assert capsys.readouterr().err.strip() == "error: No such command 'nosuch'."


def test_no_command_prints_help_and_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "Commands" in capsys.readouterr().err
