"""The README documents every setting and every command (SPEC §9 Interfaces), as the tests keep it: a setting
or a command added without a line in the README fails here, and so does a setting the README names that no
code reads."""

from __future__ import annotations

import importlib
import pkgutil
import re
from pathlib import Path

import pytest
from pydantic_settings import BaseSettings

import kluis

ROOT = Path(__file__).resolve().parents[3]
README = (ROOT / "README.md").read_text(encoding="utf-8")
SETTING = re.compile(r"\bKLUIS_[A-Z0-9_]+\b")
ENVIRONMENT_READ = re.compile(r"""(?:environ\.get|getenv|environ\[)\(?\s*["'](KLUIS_[A-Z0-9_]+)["']""")
# Words of a command in the README's CLI block: lower case, no option, no placeholder.
WORD = re.compile(r"[a-z][a-z0-9-]*")


def _settings_classes() -> set[type[BaseSettings]]:
    for module in pkgutil.walk_packages(kluis.__path__, "kluis."):
        if module.name != "kluis.__main__" and not module.name.startswith("kluis.migrations"):
            importlib.import_module(module.name)
    found, todo = set(), list(BaseSettings.__subclasses__())
    while todo:
        cls = todo.pop()
        todo += cls.__subclasses__()
        if cls.__module__.startswith("kluis."):
            found.add(cls)
    return found


def _environment_reads(top: str) -> set[str]:
    return {name for path in (ROOT / top).rglob("*.py")
            for name in ENVIRONMENT_READ.findall(path.read_text(encoding="utf-8"))}


def settings() -> set[str]:
    """Every KLUIS_* variable Kluis reads: the fields of its settings classes and direct environment reads."""
    names = {f"{cls.model_config.get('env_prefix', '')}{field}".upper()
             for cls in _settings_classes() for field in cls.model_fields}
    return names | _environment_reads("src")


SETTINGS = sorted(settings())


def test_the_settings_are_found() -> None:
    assert {"KLUIS_DATABASE_URL", "KLUIS_COOKIE_SITES", "KLUIS_LOG_LEVEL", "KLUIS_TRUSTED_PROXIES"} <= set(SETTINGS)


@pytest.mark.parametrize("setting", SETTINGS)
def test_every_setting_is_in_the_readme(setting: str) -> None:
    assert f"`{setting}`" in README, f"add {setting} to the README's configuration table"


def test_the_readme_names_no_setting_that_nothing_reads() -> None:
    """Stale names fail too; the test suite's own variables (read in tests/) count as read."""
    known = set(SETTINGS) | _environment_reads("tests")
    assert set(SETTING.findall(README)) - known == set()


def documented_commands() -> set[tuple[str, ...]]:
    """The commands the README's CLI block names. A line is ``kluis <words> [arguments]`` and then, after two
    spaces or more, what it does; ``a | b`` names further commands of the same group (``kluis access list |
    revoke PREFIX`` documents ``keys list`` and ``keys revoke``)."""
    block = README.split("## CLI", 1)[1].split("```", 2)[1]
    found: set[tuple[str, ...]] = set()
    for line in block.splitlines():
        if not line.startswith("kluis "):
            continue
        usage = re.split(r"\s{2,}", line.strip(), maxsplit=1)[0]
        alternatives = usage.split("|")
        first = _words(alternatives[0])[1:]  # after "kluis"
        found.add(tuple(first))
        for alternative in alternatives[1:]:
            words = _words(alternative)
            if words and first:
                found.add((*first[:-1], *words))
    return found


def _words(text: str) -> list[str]:
    words = []
    for token in text.split():
        if not WORD.fullmatch(token):
            break
        words.append(token)
    return words


def test_every_command_is_in_the_readme(cli_commands: dict[tuple[str, ...], str]) -> None:
    assert len(cli_commands) > 40
    missing = sorted(" ".join(("kluis", *path)) for path in set(cli_commands) - documented_commands())
    assert missing == [], "add these to the README's CLI block"
