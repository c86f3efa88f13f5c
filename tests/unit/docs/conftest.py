"""What the documentation tests compare the docs with: the `kluis` command as the application builds it."""

from __future__ import annotations

from typing import Any

import pytest
import typer.main


def _walk(command: Any, path: tuple[str, ...]) -> dict[tuple[str, ...], str]:
    subcommands = getattr(command, "commands", None)
    if not subcommands:
        return {path: command.callback.__module__}
    found: dict[tuple[str, ...], str] = {}
    for name, sub in subcommands.items():
        if not sub.hidden:  # a former name kept for scripts is not documented again
            found.update(_walk(sub, (*path, name)))
    return found


@pytest.fixture(scope="session")
def cli_commands() -> dict[tuple[str, ...], str]:
    """Every command of ``kluis`` (its words after ``kluis``) with the module that defines it."""
    from kluis.cli import app

    return _walk(typer.main.get_command(app), ())
