"""Fixtures for the policy tests: the shipped file, and mutated copies of it written to tmp_path."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from kluis.policy.loader import load_policy
from kluis.policy.rules import PolicyInvalid, PolicyProblem
from kluis.policy.schemas import Policy

# The C implementations when PyYAML has them: these tests write and read the policy many times.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
SHIPPED = Path(__file__).resolve().parents[3] / "policy" / "benvitaal.yaml"


@pytest.fixture(scope="session")
def shipped_policy() -> Policy:
    return load_policy(SHIPPED)


@pytest.fixture(scope="session")
def shipped_path() -> Path:
    return SHIPPED


class PolicyLab:
    """A mutable copy of the shipped policy, written to a file to be loaded: to provoke refusals."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.data: dict[str, Any] = yaml.load(SHIPPED.read_text(encoding="utf-8"), Loader=_LOADER)
        self.path = directory / "policy.yaml"

    def item(self, section: str, item_id: str) -> dict[str, Any]:
        """The entry with this id in a list section."""
        return next(entry for entry in self.data[section] if entry["id"] == item_id)

    def write(self, text: str | None = None) -> Path:
        if text is None:
            text = yaml.dump(self.data, Dumper=_DUMPER, allow_unicode=True, sort_keys=False)
        self.path.write_text(text, encoding="utf-8")
        return self.path

    def refused(self, text: str | None = None) -> list[PolicyProblem]:
        """Write the policy (or ``text``) and return the problems it is refused for."""
        path = self.write(text)
        with pytest.raises(PolicyInvalid) as caught:
            load_policy(path)
        assert caught.value.code == "policy_invalid"
        problems = caught.value.problems
        assert problems and all(isinstance(p, PolicyProblem) for p in problems)
        return problems  # type: ignore[return-value]

    def problem(self, path: str) -> PolicyProblem:
        """The (first) problem at ``path`` when the policy is loaded."""
        problems = self.refused()
        matches = [p for p in problems if p.path == path]
        assert matches, f"no problem at {path}; got: {[str(p) for p in problems]}"
        return matches[0]


@pytest.fixture
def lab(tmp_path: Path) -> PolicyLab:
    return PolicyLab(tmp_path)
