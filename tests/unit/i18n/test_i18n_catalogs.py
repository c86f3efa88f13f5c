"""The console's catalogs are complete (R-GATE-2: staff work in the console in Dutch or English): every message
the sources mark (``_()``, ``gettext()``, ``N_()`` in Python; ``_()`` in the console's templates, as babel.cfg maps
them) is in both ``.po`` files, Dutch translates each one, nothing is fuzzy or left over, and every translation
keeps the placeholders of its English text. A page added without its Dutch fails here (docs/i18n.md says how to
update the catalogs)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from kluis.kit import i18n

ROOT = Path(__file__).resolve().parents[3]
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]|\{(\w*)\}")
TAG = re.compile(r"</?\w+")


def _extracted() -> set[str]:
    with (ROOT / "babel.cfg").open(encoding="utf-8") as cfg:
        method_map, options_map = parse_mapping_cfg(cfg, "babel.cfg")
    found: set[str] = set()
    for _file, _line, message, _comments, _context in extract_from_dir(ROOT, method_map, options_map):
        found.update(message if isinstance(message, tuple) else (message,))
    return {m for m in found if m}


def _catalog(lang: str) -> Catalog:
    with (i18n.LOCALE_DIR / lang / "LC_MESSAGES" / f"{i18n.DOMAIN}.po").open("rb") as po:
        return read_po(po, locale=lang)


def _placeholders(text: str) -> list[str]:
    return sorted(a or b for a, b in PLACEHOLDER.findall(text))


@pytest.fixture(scope="module")
def extracted() -> set[str]:
    return _extracted()


def test_r_gate_2_extraction_finds_the_console_and_its_error_messages(extracted: set[str]) -> None:
    """The mapping reaches templates, console routes and messages marked in services (a guard against a
    babel.cfg that silently matches nothing)."""
    assert {"Breach register", "Sign-in failed: the e-mail address, password or code is not right, or the account "
            "is locked for a while after too many attempts.", "No such request.", "Skip to content",
            "The request was not registered."} <= extracted


@pytest.mark.parametrize("lang", i18n.LANGUAGES)
def test_r_gate_2_every_extracted_message_is_in_the_catalog(extracted: set[str], lang: str) -> None:
    catalog = _catalog(lang)
    present = {text for m in catalog if m.id for text in (m.id if isinstance(m.id, tuple) else (m.id,))}  # plurals
    missing, stale = sorted(extracted - present), sorted(present - extracted)
    assert not missing, f"{lang}: not in the catalog (run the update in docs/i18n.md): {missing[:20]}"
    assert not stale, f"{lang}: in the catalog but no longer in the sources: {stale[:20]}"
    assert not catalog.obsolete, f"{lang}: obsolete entries: {list(catalog.obsolete)[:20]}"
    assert not [m.id for m in catalog if m.id and m.fuzzy], f"{lang}: fuzzy entries are not checked translations"


def test_r_gate_2_dutch_translates_every_message_with_the_same_placeholders() -> None:
    untranslated, mismatched = [], []
    for message in _catalog("nl"):
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if not all(strings):
            untranslated.append(ids[0])
            continue
        for text in strings:
            if _placeholders(text) != _placeholders(ids[0]) or sorted(TAG.findall(text)) != sorted(TAG.findall(ids[0])):
                mismatched.append((ids[0], text))
    assert not untranslated, f"no Dutch yet for: {untranslated[:20]}"
    assert not mismatched, f"placeholders or markup differ: {mismatched[:10]}"


def test_r_gate_2_english_catalog_keeps_the_source_text() -> None:
    """English is the source language: its catalog lists the messages and leaves them as written (a msgstr there
    would make the English page differ from the code a developer reads)."""
    assert not [m.id for m in _catalog("en") if m.id and any(m.string if isinstance(m.string, tuple) else (m.string,))]


def test_r_gate_2_catalogs_load_from_the_po_files_without_a_compile_step() -> None:
    with i18n.speaking("nl"):
        assert i18n.gettext("Breach register") == "Register van datalekken"
        assert i18n.gettext("a message no catalog has") == "a message no catalog has"
        assert i18n.gettext("") == ""
    with i18n.speaking("en"):
        assert i18n.gettext("Breach register") == "Breach register"
    with i18n.speaking("de"):  # an unsupported language answers in English
        assert i18n.language() == "en"
