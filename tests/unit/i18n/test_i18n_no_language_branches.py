"""Texts people read come from the gettext catalogs, not from code that picks a language (issue 19 §3, R-GATE-2):
no dictionary keyed by language (``{"nl": ..., "en": ...}``) and no comparison with a language code
(``if lang == "nl"``, ``"om" if lang == "nl" else "at"``) in the Python under src/kluis, no ``lang == "nl"``
branch in its templates, and no mail template kept once per language.

Allowed: the language switch itself (``kluis.kit.i18n``: the languages' names, their locales, which one a switch
offers, the address parameter; the staff console's and Mijn privacy's switch links), the policy file's own
two-language texts (data the DPO writes), and turning a value into one of the two languages
(``"en" if row.lang == "en" else "nl"``), which picks no text."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[3] / "src" / "kluis"
LANGUAGE_CODES = {"nl", "en"}
SWITCH = {"kit/i18n.py"}  # the language switch: names, locales, the other language, the address parameter
# The policy file's own texts are data in both languages (``Text``: nl and en, written by the DPO): picking one is
# reading the policy, not choosing a text in code.
POLICY_DATA = {"policy/schemas.py"}
TEMPLATE_BRANCH = re.compile(r"""lang\s*[!=]=\s*['"](?:nl|en)['"]|\bif\s+nl\b""")
SWITCH_TEMPLATES = {"templates/staff/layout.html", "templates/mijn/_layout.html"}  # links to each language


def _is_code(node: ast.AST | None) -> bool:
    return isinstance(node, ast.Constant) and node.value in LANGUAGE_CODES


def _normalising(test: ast.Compare, parents: dict[ast.AST, ast.AST]) -> bool:
    """``"en" if lang == "en" else "nl"``: a value made one of the languages, no text chosen."""
    parent = parents.get(test)
    return isinstance(parent, ast.IfExp) and parent.test is test and _is_code(parent.body) and _is_code(parent.orelse)


def language_choices(source: str) -> list[int]:
    """The lines of ``source`` that key a dictionary by language or compare a value with a language code."""
    tree = ast.parse(source)
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    lines = []
    for node in ast.walk(tree):
        keyed = isinstance(node, ast.Dict) and bool(node.keys) and all(_is_code(k) for k in node.keys)
        compared = (isinstance(node, ast.Compare) and any(isinstance(op, (ast.Eq, ast.NotEq)) for op in node.ops)
                    and any(_is_code(side) for side in (node.left, *node.comparators))
                    and not _normalising(node, parents))
        if keyed or compared:
            lines.append(node.lineno)
    return sorted(lines)


def _found_in_python() -> dict[str, list[int]]:
    found = {}
    for path in sorted(SRC.rglob("*.py")):
        name = path.relative_to(SRC).as_posix()
        lines = language_choices(path.read_text(encoding="utf-8"))
        if lines and name not in SWITCH | POLICY_DATA:
            found[name] = lines
    return found


def _found_in_templates() -> dict[str, list[int]]:
    found = {}
    for path in sorted((SRC / "templates").rglob("*")):
        name = path.relative_to(SRC).as_posix()
        if path.suffix not in (".html", ".txt") or name in SWITCH_TEMPLATES:
            continue
        lines = [n for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
                 if TEMPLATE_BRANCH.search(line)]
        if lines:
            found[name] = lines
    return found


def test_r_gate_2_issue_19_no_text_is_chosen_by_language_in_the_code() -> None:
    assert _found_in_python() == {}, "text chosen by language: put it in the catalogs instead (docs/i18n.md)"


def test_r_gate_2_issue_19_no_text_is_chosen_by_language_in_the_templates() -> None:
    assert _found_in_templates() == {}, "text chosen by language: use _() and the catalogs instead (docs/i18n.md)"


@pytest.mark.parametrize("source", [
    'LABELS = {"nl": "Inhoud", "en": "Contents"}',
    'word = "om" if lang == "nl" else "at"',
    'if language != "en":\n    x = 1',
    'index = 0 if self.lang == "nl" else 1',
    'nested = {"title": {"en": "Title", "nl": "Titel"}}',
])
def test_r_gate_2_issue_19_the_check_sees_a_language_dictionary_and_a_language_branch(source: str) -> None:
    assert language_choices(source) == [1]


@pytest.mark.parametrize("source", [
    'lang = "en" if row.lang == "en" else "nl"',
    'NOTICES = {"received": (N_("We have received your request"), N_("..."))}',
    'title = i18n.say(TITLE, lang)',
    'known = lang in LANGS',
])
def test_r_gate_2_issue_19_the_check_allows_normalising_a_language_and_catalog_texts(source: str) -> None:
    assert language_choices(source) == []


def test_r_gate_2_issue_19_every_mail_is_one_template_in_the_catalogs_words() -> None:
    """A mail is written once (``subject.txt``, ``body.txt``, ``body.html`` with ``_()``), not once per language:
    a per-language copy (``body.nl.txt``) would let the two say different things."""
    per_language = sorted(p.relative_to(SRC).as_posix() for p in (SRC / "templates" / "mail").rglob("*")
                          if p.suffixes[-2:-1] in ([".nl"], [".en"]))
    assert per_language == []
