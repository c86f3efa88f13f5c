"""docs/architecture.md stays true: its map of CLI groups names the files that define them, and its legend
describes every file name that two or more folders of src/kluis use (STYLE: one legend for file names)."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[3]
ARCHITECTURE = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
MAP_ROW = re.compile(r"^\| `kluis ([a-z-]+)` \| ((?:`[^`]+`(?:, )?)+) \|", re.MULTILINE)
LEGEND_ROW = re.compile(r"^\| `([a-z_]+\.py)` \|", re.MULTILINE)


def _section(title: str) -> str:
    return ARCHITECTURE.split(f"## {title}", 1)[1].split("\n## ", 1)[0]


def test_the_cli_map_names_every_group_and_the_file_that_defines_it(cli_commands: dict[tuple[str, ...], str]
                                                                    ) -> None:
    defined: dict[str, set[str]] = {}
    for path, module in cli_commands.items():
        defined.setdefault(path[0], set()).add("src/" + module.replace(".", "/") + ".py")
    mapped = {group: set(re.findall(r"`([^`]+)`", files))
              for group, files in MAP_ROW.findall(_section("The CLI, group by group"))}
    assert mapped == defined


def test_the_legend_describes_every_file_name_shared_by_two_folders() -> None:
    modules = [p for p in (ROOT / "src" / "kluis").rglob("*.py") if "migrations" not in p.parts]
    shared = {name for name, count in Counter(p.name for p in modules).items() if count > 1}
    legend = set(LEGEND_ROW.findall(_section("File names: the legend")))
    assert shared - legend == set()


def test_every_command_group_is_named_for_the_folder_that_defines_it(cli_commands: dict[tuple[str, ...], str]
                                                                     ) -> None:
    """STYLE: one legend; `kluis <group>` lives in `<group>/commands.py`, at whatever depth the folder sits."""
    misnamed = {path[0]: module for path, module in cli_commands.items()
                if len(path) > 1 and module.split(".")[-2] != path[0]}
    assert misnamed == {}


def test_the_former_group_names_still_run_the_same_commands_hidden_from_help(cli_groups: dict[str, Any]) -> None:
    groups = cli_groups
    for former, now in (("keys", ("access",)), ("certificate", ("erasure", "certificate")),
                        ("restore", ("erasure", "restore")), ("requests", ("rights",)), ("breach", ("breaches",))):
        current = groups[now[0]]
        for word in now[1:]:
            current = current.commands[word]
        assert groups[former].hidden and not current.hidden
        assert _defined(groups[former]) == _defined(current)


def _defined(group: Any) -> dict[str, str]:
    """Each command of a group with the function behind it (Typer wraps it anew for every name)."""
    return {name: f"{command.callback.__module__}.{command.callback.__qualname__}"
            for name, command in group.commands.items()}
