"""The shape every record's JSON content must have before it is sealed, on every write path (R-VLT-1).

A record is read back through pydantic's serializer, which gives up on documents nested a few hundred levels
deep, and sealed as UTF-8, which cannot hold a lone surrogate; JSON itself has no NaN or Infinity. Content
outside these bounds would be stored and then break every later read of the person's records, so it is
refused at write time with the path where it goes wrong. The limits are far below what the reader handles
(tests write content at each limit and read it back).
"""

from __future__ import annotations

import json
import math
from typing import Any

from kluis.kit.errors import Problem

MAX_DEPTH = 32
MAX_VALUES = 10_000
MAX_BYTES = 1_000_000
# One encoder for every record, as compact UTF-8 JSON: ``json.dumps`` with these options builds a new one a call.
_JSON = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def encode(content: Any, path: str) -> bytes | list[Problem]:
    """The content as the compact UTF-8 JSON that is sealed, or every reason it cannot be stored.

    Most content is well within the limits, and the serializer (in C) already refuses NaN, Infinity and lone
    surrogates and gives up on the deepest nesting: the document is walked by ``check`` only when serializing
    failed or the text leaves a limit open. Text of fewer than ``2 * MAX_VALUES`` bytes cannot hold that many
    values (each takes a character and a separator), nor nesting deeper than the brackets it holds."""
    try:
        payload: bytes | None = _JSON.encode(content).encode()
    except (ValueError, RecursionError):  # NaN or Infinity, a lone surrogate (UnicodeEncodeError), too deep
        payload = None
    if payload is None or len(payload) >= 2 * MAX_VALUES or payload.count(b"{") + payload.count(b"[") > MAX_DEPTH:
        problems = check(content, path)
        if problems:
            return problems
        if payload is None:
            payload = _JSON.encode(content).encode()
    if len(payload) > MAX_BYTES:
        return [Problem(path, "content_too_large", f"content is at most {MAX_BYTES:,} bytes as JSON")]
    return payload


def check(content: Any, path: str) -> list[Problem]:
    """Depth, number of values, text and numbers of a JSON document; walked without recursion, so that a
    document of any depth gets an answer rather than a RecursionError."""
    problems: list[Problem] = []
    seen = 0
    stack: list[tuple[Any, str, int]] = [(content, path, 1)]
    while stack:
        value, where, depth = stack.pop()
        if isinstance(value, dict | list):
            if depth > MAX_DEPTH:
                return [Problem(where, "content_too_deep", f"content is nested at most {MAX_DEPTH} levels deep")]
            seen += len(value)
            if seen > MAX_VALUES:
                return [Problem(path, "content_too_many_values",
                                f"content holds at most {MAX_VALUES:,} fields and list items in all")]
            if isinstance(value, dict):
                for key, item in value.items():
                    name = key if _utf8(key) else key.encode("utf-8", "replace").decode()
                    if name is not key:
                        problems.append(Problem(f"{where}.{name}", "text_not_unicode",
                                                "a field name holds a lone surrogate, which is not Unicode"))
                    stack.append((item, f"{where}.{name}", depth + 1))
            else:
                stack.extend((item, f"{where}[{index}]", depth + 1) for index, item in enumerate(value))
        elif isinstance(value, str) and not _utf8(value):
            problems.append(Problem(where, "text_not_unicode", "text holds a lone surrogate, which is not Unicode"))
        elif isinstance(value, float) and not math.isfinite(value):
            problems.append(Problem(where, "number_not_finite", "JSON has no NaN or Infinity; send a number"))
    return problems


def _utf8(text: str) -> bool:
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
