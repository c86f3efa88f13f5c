"""docs/requirements.md stays true: it lists every requirement ID once, names only paths that exist, and its
tests are exactly the test modules that carry each ID (STYLE: docs that tests keep true)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
CATALOGUE = ROOT / "docs" / "requirements.md"
# The specification lives beside a checkout, not in it; compared only where it is at hand.
SPEC = ROOT.parent / "shared" / "SPEC.md"
ID = re.compile(r"\bR-[A-Z]+-\d+(?!\d)")
HEADING = re.compile(r"^### (R-[A-Z]+-\d+) · \S")
FIELD = re.compile(r"^- (Code|Tests|Docs|Open):(.*)$")
TEXT = {".py", ".html", ".txt", ".js", ".css", ".md", ".mako"}
LINK = re.compile(r"\]\(([^)#]+)(?:#[^)]*)?\)")


@dataclass
class Entry:
    code: list[str] = field(default_factory=list)
    tests: list[str] = field(default_factory=list)
    links: list[str] = field(default_factory=list)
    none_yet: set[str] = field(default_factory=set)


def _catalogue() -> dict[str, Entry]:
    """Each heading's ID with the backquoted paths of its fields; a field's continuation lines are indented."""
    entries: dict[str, Entry] = {}
    current: Entry | None = None
    name = ""
    for line in CATALOGUE.read_text(encoding="utf-8").splitlines():
        if line.startswith("#"):
            found = HEADING.match(line)
            assert found or not ID.search(line), f"malformed requirement heading: {line!r}"
            current = None
            if found:
                assert found.group(1) not in entries, f"{found.group(1)} is listed twice"
                current = entries[found.group(1)] = Entry()
            continue
        if current is None:
            continue
        started = FIELD.match(line)
        if started:
            name, text = started.groups()
            if text.strip() == "none yet":
                current.none_yet.add(name)
        elif line.startswith("  ") and name:
            text = line
        else:
            name = ""
            continue
        paths = re.findall(r"`([^`]+)`", text)
        if name == "Code":
            current.code += paths
        elif name == "Tests":
            current.tests += paths
        elif name == "Docs":
            current.links += LINK.findall(text)
    return entries


def _files(top: str, pattern: str) -> list[Path]:
    return sorted(p for p in (ROOT / top).rglob(pattern) if "__pycache__" not in p.parts)


def _carriers(requirement: str) -> set[str]:
    """The test modules that name the requirement."""
    pattern = re.compile(rf"\b{re.escape(requirement)}(?!\d)")
    return {p.relative_to(ROOT).as_posix() for p in _files("tests", "test_*.py")
            if pattern.search(p.read_text(encoding="utf-8"))}


CATALOGUED = _catalogue()


def test_the_catalogue_lists_requirements_each_with_code_and_tests_or_says_none_yet() -> None:
    assert len(CATALOGUED) >= 30
    for requirement, entry in CATALOGUED.items():
        assert entry.tests or "Tests" in entry.none_yet, f"{requirement}: list its tests, or say 'Tests: none yet'"
        assert entry.code or "Code" in entry.none_yet, f"{requirement}: list its code, or say 'Code: none yet'"


def test_every_requirement_id_named_in_the_repository_is_catalogued() -> None:
    """An ID in a test, a module, a page or the README that the catalogue lacks is a typo or a requirement
    nobody wrote down."""
    sources = [p for top in ("src", "tests", "docs") for p in _files(top, "*") if p.suffix in TEXT]
    sources.append(ROOT / "README.md")
    unknown = {f"{p.relative_to(ROOT)}: {found}" for p in sources
               for found in ID.findall(p.read_text(encoding="utf-8")) if found not in CATALOGUED}
    assert unknown == set()


@pytest.mark.parametrize("requirement", sorted(CATALOGUED))
def test_every_path_the_catalogue_names_exists(requirement: str) -> None:
    entry = CATALOGUED[requirement]
    missing = [p for p in entry.code + entry.tests if not (ROOT / p).is_file()]
    missing += [link for link in entry.links if not (CATALOGUE.parent / link).is_file()]
    assert missing == []


@pytest.mark.parametrize("requirement", sorted(CATALOGUED))
def test_the_tests_listed_are_exactly_the_test_modules_that_carry_the_id(requirement: str) -> None:
    """A listed file that does not name the ID proves nothing about it; a test module naming it that is not
    listed is a test the catalogue does not know of. A requirement without tests has no carrier at all."""
    listed, carriers = set(CATALOGUED[requirement].tests), _carriers(requirement)
    assert {"not naming the ID": sorted(listed - carriers), "not listed": sorted(carriers - listed)} == {
        "not naming the ID": [], "not listed": []}


def test_the_catalogue_has_the_specifications_ids() -> None:
    """The specification is kept beside a checkout (``../shared/SPEC.md``), not inside it; a clean clone (CI)
    has only the catalogue, which the tests above check against the code. Where the specification is at hand,
    its IDs and the catalogue's are the same set."""
    if not SPEC.is_file():
        pytest.skip(f"no specification at {SPEC}: the catalogue is the repository's list of requirement IDs")
    assert set(ID.findall(SPEC.read_text(encoding="utf-8"))) == set(CATALOGUED)
