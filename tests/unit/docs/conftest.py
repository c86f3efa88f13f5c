"""What the documentation tests compare the docs with: the `kluis` command as the application builds it."""

from __future__ import annotations

from typing import Any

import pytest
import typer.main
from typer import _click as click


def subcommands(command: Any) -> dict[str, Any]:
    """A group's commands as a run would find them: the top-level group builds each one on first use."""
    if not hasattr(command, "list_commands"):
        return {}
    ctx = click.Context(command)
    return {name: command.get_command(ctx, name) for name in command.list_commands(ctx)}


def _walk(command: Any, path: tuple[str, ...]) -> dict[tuple[str, ...], str]:
    found: dict[tuple[str, ...], str] = {}
    subs = subcommands(command)
    if not subs:
        return {path: command.callback.__module__}
    for name, sub in subs.items():
        if not sub.hidden:  # a former name kept for scripts is not documented again
            found.update(_walk(sub, (*path, name)))
    return found


@pytest.fixture(scope="session")
def cli_groups() -> dict[str, Any]:
    """The top-level commands and groups of ``kluis``, hidden ones included, each built as a run would build it."""
    from kluis.cli import app

    return subcommands(typer.main.get_command(app))


@pytest.fixture(scope="session")
def cli_commands() -> dict[tuple[str, ...], str]:
    """Every command of ``kluis`` (its words after ``kluis``) with the module that defines it."""
    from kluis.cli import app

    return _walk(typer.main.get_command(app), ())
