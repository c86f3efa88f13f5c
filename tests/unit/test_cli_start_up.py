"""The `kluis` command starts without the house: the top-level help and `import kluis.cli` load no models, no
Alembic and no web framework, and each group is built, on first use, exactly as the table lists it. A `kluis serve
--workers N` process that loads the whole house before it answers misses uvicorn's start-up check (R-GATE-1: the
gate's hot path is served by every worker)."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest
import typer.main
from typer import _click as click

from kluis.cli import COMMANDS, GROUPS, LAZY, app

HEAVY = ("sqlalchemy", "alembic", "fastapi", "starlette", "uvicorn", "kluis.vault", "kluis.subscriptions")


def _loaded_after(code: str) -> set[str]:
    probe = (f"import sys\n{code}\n"
             "print('\\n'.join(sorted(sys.modules)))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True)
    return set(done.stdout.split())


def _heavy(modules: set[str]) -> set[str]:
    return {name for name in modules for heavy in HEAVY if name == heavy or name.startswith(heavy + ".")}


def test_r_gate_1_importing_the_cli_loads_no_database_or_web_framework() -> None:
    assert _heavy(_loaded_after("import kluis.cli")) == set()


def test_r_gate_1_the_top_level_help_loads_no_database_or_web_framework() -> None:
    loaded = _loaded_after("import sys\nsys.argv = ['kluis', '--help']\nfrom kluis.cli import main\n"
                           "try:\n    main()\nexcept SystemExit:\n    pass")
    assert "kluis.cli" in loaded and _heavy(loaded) == set()


def test_r_gate_1_a_group_is_loaded_when_it_is_run() -> None:
    loaded = _loaded_after("import sys\nsys.argv = ['kluis', 'audit', '--help']\nfrom kluis.cli import main\n"
                           "try:\n    main()\nexcept SystemExit:\n    pass")
    assert {"kluis.audit.commands", "kluis.subscriptions"} <= loaded
    assert "kluis.breaches.commands" not in loaded


def _help(group: Any, capsys: pytest.CaptureFixture[str]) -> str:
    group.get_help(click.Context(group, info_name="kluis"))
    return capsys.readouterr().out


def test_r_gate_1_the_top_level_help_from_the_table_is_the_help_of_the_commands_themselves(
        capsys: pytest.CaptureFixture[str]) -> None:
    lazy = typer.main.get_command(app)
    listed = _help(lazy, capsys)
    loaded = typer.main.get_command(app)
    ctx = click.Context(loaded)
    for name in loaded.list_commands(ctx):  # type: ignore[attr-defined]
        loaded.get_command(ctx, name)  # type: ignore[attr-defined]
    assert {name: entry.help for name, entry in LAZY.items() if not entry.hidden} == {
        name: loaded.commands[name].help for name, entry in LAZY.items() if not entry.hidden}  # type: ignore
    assert listed == _help(loaded, capsys)
    assert all(entry.name in listed for entry in (*COMMANDS, *GROUPS) if not entry.hidden)


def test_r_gate_1_a_former_group_name_is_hidden_and_an_unknown_one_refused() -> None:
    group = typer.main.get_command(app)
    ctx = click.Context(group)
    assert group.get_command(ctx, "keys").hidden  # type: ignore[attr-defined,union-attr]
    assert group.get_command(ctx, "no-such-group") is None  # type: ignore[attr-defined]
