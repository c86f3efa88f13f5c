"""The README's two commands (issue 19 §4, ADR 0012): the demo installs only what runs Kluis, the tests add the
test extras, both from the pinned constraints, and CI runs exactly the README's test command."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
README = (ROOT / "README.md").read_text(encoding="utf-8")
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
TEST_TOOLS = {"pytest", "playwright", "mypy", "ruff", "schemathesis", "httpx", "import-linter"}


def _name(requirement: str) -> str:
    return re.split(r"[\s<>=!~;\[]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def _command(after: str) -> str:
    """The shell block that follows a sentence of the README."""
    found = re.search(re.escape(after) + r".*?```sh\n(.+?)\n```", README, re.S)
    assert found, f"no command after {after!r}"
    return found[1]


DEMO = _command("Run the demo")
TESTS = _command("Run the tests")


def test_issue_19_4_the_demo_dependencies_hold_no_test_tool():
    runtime = {_name(r) for r in PYPROJECT["project"]["dependencies"]}
    extras = {_name(r) for r in PYPROJECT["project"]["optional-dependencies"]["test"]}
    assert not runtime & TEST_TOOLS, runtime & TEST_TOOLS
    assert extras >= TEST_TOOLS
    assert not any(name.startswith("types-") for name in runtime)
    assert "phonenumberslite" in runtime and "phonenumbers" not in runtime, "parsing and validation only (ADR 0012)"


def test_issue_19_4_the_demo_command_installs_kluis_without_extras_and_the_test_command_with_them():
    assert " -e . " in DEMO and "[test]" not in DEMO and DEMO.endswith(".venv/bin/kluis demo")
    assert "-e '.[test]'" in TESTS and "bash scripts/install-test-tools.sh" in TESTS
    assert TESTS.endswith(".venv/bin/pytest")
    for command in (DEMO, TESTS):
        assert "\n" not in command, "one line each"
        assert command.count("-c constraints.txt") == 2, "the installer and Kluis from the pinned versions"
        assert "uv pip install" in command


def test_issue_19_4_ci_runs_exactly_the_readme_test_command():
    lines = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert TESTS in lines


def test_issue_19_4_constraints_pin_every_package_the_project_names():
    pinned = {}
    for line in (ROOT / "constraints.txt").read_text(encoding="utf-8").splitlines():
        name, _, version = line.partition("==")
        assert version, f"not a pin: {line!r}"
        pinned[name.lower().replace("_", "-")] = version
    named = {_name(r) for r in PYPROJECT["project"]["dependencies"]}
    named |= {_name(r) for r in PYPROJECT["project"]["optional-dependencies"]["test"]}
    assert named | {"uv"} <= set(pinned), (named | {"uv"}) - set(pinned)
    assert "phonenumbers" not in pinned, "the full library would install beside the lite one"
