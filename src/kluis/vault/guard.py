"""The content guard (R-VLT-4): the statement promises no sensitive data, so none gets in.

Free text is refused when it holds a valid BSN (elfproef) or a special-category marker that the
policy declares; photos are re-encoded from their pixels so that EXIF, GPS and XMP are dropped.
"""

from __future__ import annotations

import io
import re
import unicodedata
from collections.abc import Iterable, Mapping
from typing import Any

from PIL import Image, ImageOps, UnidentifiedImageError
from stdnum.nl import bsn

from kluis.kit.errors import Problem
from kluis.policy.schemas import Policy

# A run of digits with at most one space, dot or hyphen between two digits. A BSN is a whole run
# written as people write one (123456782, 1234.56.782, 123 456 782), never a piece of a longer
# number such as a phone number, an IBAN or an IP address.
_DIGIT_RUN = re.compile(r"\d(?:[ .-]?\d)*")
_BSN_FORM = re.compile(r"\d{9}|\d{4}[ .-]\d{2}[ .-]\d{3}|\d{3}[ .-]\d{3}[ .-]\d{3}")
_WORD = re.compile(r"\w+")
_BSN_FIELD = re.compile(r"^(bsn|burgerservicenummer|sofi(nummer)?|social_security(_number)?|ssn)$", re.I)
IMAGE_TYPES = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WEBP"}
TEXT_TYPES = {"text/plain", "text/csv"}
MAX_FILE_BYTES = 10 * 1024 * 1024
MAX_PIXELS = 40_000_000


def _fold(text: str) -> str:
    """Lower case without accents, so 'Ziekte', 'ZIEKTE' and 'zíekte' all match one marker."""
    if text.isascii():
        return text.lower()
    return "".join(c for c in unicodedata.normalize("NFKD", text.casefold()) if not unicodedata.combining(c))


def _holds_bsn(text: str) -> bool:
    for run in _DIGIT_RUN.findall(text):
        if len(run) >= 9 and _BSN_FORM.fullmatch(run) and bsn.is_valid(re.sub(r"\D", "", run)):
            return True
    return False


class ContentGuard:
    """Markers are matched as whole words (a phrase as consecutive words), after folding case and accents."""

    def __init__(self, markers: Mapping[str, Iterable[str]]) -> None:
        # first word -> [(the marker's words, its special category)]
        self._markers: dict[str, list[tuple[tuple[str, ...], str]]] = {}
        for category, words in markers.items():
            for marker in words:
                tokens = tuple(_WORD.findall(_fold(marker)))
                if tokens:
                    self._markers.setdefault(tokens[0], []).append((tokens, category))
        self._key_cache: dict[str, bool] = {}

    def _categories(self, text: str) -> list[str]:
        tokens = _WORD.findall(_fold(text))
        if self._markers.keys().isdisjoint(tokens):
            return []
        found: list[str] = []
        for index, token in enumerate(tokens):
            for words, category in self._markers.get(token, ()):
                if tuple(tokens[index:index + len(words)]) == words and category not in found:
                    found.append(category)
        return found

    def _flagged(self, text: str) -> bool:
        return _holds_bsn(text) or bool(self._categories(text))

    def scan_text(self, text: str, path: str) -> list[Problem]:
        problems = []
        if _holds_bsn(text):
            problems.append(Problem(path, "bsn_refused",
                                    "holds a citizen service number (BSN); benVitaal does not process BSNs"))
        for category in self._categories(text):
            problems.append(Problem(path, "special_category_refused",
                                    f"mentions {category} data, a special category that benVitaal "
                                    "does not process; leave it out"))
        return problems

    def scan_document(self, value: Any, path: str) -> list[Problem]:
        """Every string in a JSON document, field names included, with the path where it was found."""
        if isinstance(value, str):
            return self.scan_text(value, path)
        problems: list[Problem] = []
        if isinstance(value, dict):
            for key, item in value.items():
                key = str(key)
                if self._key_flagged(key):
                    child = f"{path}.{key}"
                    if _BSN_FIELD.match(key):
                        problems.append(Problem(child, "bsn_refused",
                                                "a BSN field is not accepted; benVitaal does not process BSNs"))
                        continue
                    problems.extend(self.scan_text(key, child))
                if isinstance(item, str | dict | list):
                    problems.extend(self.scan_document(item, f"{path}.{key}"))
        elif isinstance(value, list):
            for index, item in enumerate(value):
                if isinstance(item, str | dict | list):
                    problems.extend(self.scan_document(item, f"{path}[{index}]"))
        return problems

    def _key_flagged(self, key: str) -> bool:
        """Field names repeat across records: decide each once (the cache is bounded)."""
        found = self._key_cache.get(key)
        if found is None:
            found = bool(_BSN_FIELD.match(key)) or self._flagged(key)
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


def guard_for(policy: Policy) -> ContentGuard:
    """The guard for the special categories and marker words (NL and EN) the policy declares."""
    return ContentGuard({special.id: [*special.markers.nl, *special.markers.en]
                         for special in policy.special_categories})
