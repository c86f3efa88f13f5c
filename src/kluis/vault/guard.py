"""The content guard (R-VLT-4): the statement promises no sensitive data, so none gets in.

Free text is refused when it holds a valid BSN (elfproef) or a special-category marker that the
policy declares; photos are re-encoded from their pixels so that EXIF, GPS and XMP are dropped.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from PIL import Image, ImageOps, UnidentifiedImageError
from stdnum.nl import bsn

from kluis.kit.errors import Problem
from kluis.policy.schemas import Policy
from kluis.policy.vocabulary import NATIONAL_ID, NATIONAL_ID_LAW, NATIONAL_ID_TERMS, Vocabulary, law_of

# A run of digits with at most one space, dot or hyphen between two digits. A BSN is a whole run
# written as people write one (123456782, 1234.56.782, 123 456 782), never a piece of a longer
# number such as a phone number, an IBAN or an IP address. A BSN with a leading zero is often written
# without it (012345672 as 12345672, 12 345 672 or 123.45.672): eight digits in those forms count too.
_DIGIT_RUN = re.compile(r"\d(?:[ .-]?\d)*")
_BSN_FORM = re.compile(r"\d{9}|\d{4}[ .-]\d{2}[ .-]\d{3}|\d{3}[ .-]\d{3}[ .-]\d{3}"
                       r"|\d{8}|\d{3}[ .-]\d{2}[ .-]\d{3}|\d{2}[ .-]\d{3}[ .-]\d{3}")
_NATIONAL_ID_FIELD = Vocabulary({NATIONAL_ID: NATIONAL_ID_TERMS})
IMAGE_TYPES = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WEBP"}
TEXT_TYPES = {"text/plain", "text/csv"}
MAX_FILE_BYTES = 10 * 1024 * 1024
MAX_PIXELS = 40_000_000
_BSN_REASON = f"benVitaal does not process citizen service numbers ({NATIONAL_ID_LAW})"


# Eight digits, each pair at most one space, dot or hyphen apart: every form of a BSN holds such a run, so text
# without one holds none (one search in C instead of a look at every run of digits).
_EIGHT_DIGITS = re.compile(r"\d(?:[ .-]?\d){7}")


def _holds_bsn(text: str) -> bool:
    if not _EIGHT_DIGITS.search(text):
        return False
    for run in _DIGIT_RUN.findall(text):
        if len(run) >= 8 and _BSN_FORM.fullmatch(run):
            digits = re.sub(r"\D", "", run)
            if bsn.is_valid(digits) and not (len(digits) == 8 and _is_date(digits)):
                return True
    return False


def _is_date(digits: str) -> bool:
    """20261202 passes the elfproef as 020261202 but is a date as people and systems write one."""
    try:
        datetime.strptime(digits, "%Y%m%d")  # noqa: DTZ007 - only whether it is a calendar date
    except ValueError:
        return False
    return 1900 <= int(digits[:4]) <= 2100


class ContentGuard:
    """Markers are matched as whole words (a phrase as consecutive words), after folding case and accents.

    ``laws`` names the provision of each special category (GDPR Art. 9 or 10), cited in refusals."""

    def __init__(self, markers: Mapping[str, Iterable[str]], laws: Mapping[str, str] | None = None) -> None:
        self._vocabulary = Vocabulary(markers)
        self._laws = dict(laws or {})
        self._key_cache: dict[str, bool] = {}

    def _categories(self, text: str, name: bool = False) -> list[str]:
        return self._vocabulary.labels(text, name)

    def _flagged(self, text: str) -> bool:
        return _holds_bsn(text) or bool(self._categories(text))

    def scan_text(self, text: str, path: str, name: bool = False) -> list[Problem]:
        """Why free text (or, with ``name``, a field name) is refused: a valid BSN, special-category words."""
        problems = []
        if _holds_bsn(text) or (name and _NATIONAL_ID_FIELD.labels(text, name=True)):
            problems.append(Problem(path, "bsn_refused", f"holds a citizen service number (BSN); {_BSN_REASON}"))
        for category in self._categories(text, name):
            law = self._laws.get(category, "GDPR Art. 9")
            problems.append(Problem(path, "special_category_refused",
                                    f"mentions {category} data, a special category of personal data ({law}) "
                                    "that benVitaal does not process; leave it out"))
        return problems

    def scan_document(self, value: Any, path: str) -> list[Problem]:
        """Every string and whole number in a JSON document, field names included, with the path where it
        was found. A number is read as its digits: 12345672 stored as a number is still a BSN."""
        if isinstance(value, str):
            return self.scan_text(value, path)
        problems: list[Problem] = []
        if isinstance(value, dict):
            for key, item in value.items():
                key = str(key)
                if self._key_flagged(key):
                    problems.extend(self.scan_text(key, f"{path}.{key}", name=True))
                    if _NATIONAL_ID_FIELD.labels(key, name=True):
                        continue
                if isinstance(item, str | dict | list | int | float):
                    problems.extend(self.scan_document(item, f"{path}.{key}"))
        elif isinstance(value, list):
            for index, item in enumerate(value):
                if isinstance(item, str | dict | list | int | float):
                    problems.extend(self.scan_document(item, f"{path}[{index}]"))
        elif _whole_number(value) and _holds_bsn(str(int(value))):
            problems.append(Problem(path, "bsn_refused", f"holds a citizen service number (BSN); {_BSN_REASON}"))
        return problems

    def clean(self, documents: Iterable[Any]) -> bool:
        """Whether none of these JSON documents holds anything ``scan_document`` refuses, decided at once for a
        batch: field names one by one (``_key_flagged``), and every string and whole number of all documents
        read as one text, its pieces a line apart. A line break ends a run of digits and a word, so that text
        holds a BSN or a marker word exactly when one of its pieces does; only a phrase marker could be found
        across two pieces. False means "look closer": ``scan_document`` tells which document and where."""
        texts: list[str] = []
        keys: set[str] = set()
        for document in documents:
            _gather(document, texts, keys)
        if any(self._key_flagged(str(key)) for key in keys):
            return False
        joined = "\n".join(texts)
        return not (_holds_bsn(joined) or self._categories(joined))

    def _key_flagged(self, key: str) -> bool:
        """Field names repeat across records: decide each once (the cache is bounded)."""
        found = self._key_cache.get(key)
        if found is None:
            found = bool(self.scan_text(key, "", name=True))
            if len(self._key_cache) < 10_000:
                self._key_cache[key] = found
        return found

    def clean_file(self, data: bytes, media_type: str, path: str) -> bytes | Problem:
        """The bytes to store: text scanned, images stripped of metadata; or why it is refused."""
        if len(data) > MAX_FILE_BYTES:
            return Problem(path, "file_too_large", f"files are at most {MAX_FILE_BYTES // 1024 // 1024} MB")
        if media_type in TEXT_TYPES:
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError:
                return Problem(path, "text_encoding", "text files must be UTF-8")
            found = self.scan_text(text, path)
            return found[0] if found else data
        if media_type in IMAGE_TYPES:
            return strip_image_metadata(data, IMAGE_TYPES[media_type], path)
        allowed = ", ".join(sorted({*TEXT_TYPES, *IMAGE_TYPES}))
        return Problem(path, "media_type_refused", f"media type {media_type!r} is not accepted (one of: {allowed})")


def strip_image_metadata(data: bytes, fmt: str, path: str) -> bytes | Problem:
    try:
        with Image.open(io.BytesIO(data)) as img:
            if img.format != fmt:
                return Problem(path, "media_type_mismatch", f"file is {img.format or 'unknown'}, not {fmt}")
            if img.width * img.height > MAX_PIXELS:
                return Problem(path, "image_too_large", "image has too many pixels")
            upright = ImageOps.exif_transpose(img)
            mode = upright.mode if upright.mode in ("RGB", "RGBA", "L", "LA", "P") else "RGB"
            pixels = upright.convert(mode)
            clean = Image.new(mode, pixels.size)
            clean.paste(pixels)
            if mode == "P" and pixels.getpalette():
                clean.putpalette(pixels.getpalette() or [])
            out = io.BytesIO()
            clean.save(out, format=fmt)
            return out.getvalue()
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError, SyntaxError):
        return Problem(path, "image_unreadable", "not a readable image")


def _gather(value: Any, texts: list[str], keys: set[str]) -> None:
    """The strings, whole numbers (as their digits) and field names of a JSON document, as ``scan_document``
    reads them; walked without recursion."""
    stack = [value]
    while stack:
        value = stack.pop()
        if isinstance(value, str):
            texts.append(value)
        elif isinstance(value, dict):
            keys.update(value)
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
        elif _whole_number(value):
            texts.append(str(int(value)))


def _whole_number(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, float):
        return value.is_integer() and 1e7 <= value < 1e9
    return isinstance(value, int) and 10_000_000 <= value < 1_000_000_000


def guard_for(policy: Policy) -> ContentGuard:
    """The guard for the special categories and marker words (NL and EN) the policy declares."""
    return ContentGuard({special.id: [*special.markers.nl, *special.markers.en]
                         for special in policy.special_categories},
                        {special.id: law_of(special.article) for special in policy.special_categories})
