"""How links are computed: pure, so that sealing and verification share one definition.

Two schemes. Events written before sealing existed carry an unkeyed SHA-256 chain (``canonical`` and
``link_hash``), verified as before. Every event, old and new, is sealed with a keyed link: an HMAC-SHA256
under the audit key, which lives in configuration and never in the database, over the event, the number
of sequence numbers skipped before it and the link before it. Whoever can write the whole database but lacks
the key can change, add, remove or reorder events only by breaking a link that verification names.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime
from typing import Any

from kluis.kit.clock import as_utc


def _instant(at: datetime) -> str:
    return as_utc(at).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _dump(body: dict[str, Any]) -> bytes:
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def canonical(seq: int, at: datetime, actor: str, action: str, object_type: str,
              object_ids: list[str], details: dict[str, Any], prev_hash: str) -> bytes:
    return _dump({"seq": seq, "at": _instant(at), "actor": actor, "action": action, "object_type": object_type,
                  "object_ids": object_ids, "details": details, "prev_hash": prev_hash})


def link_hash(prev_hash: str, canonical_body: bytes) -> str:
    return hashlib.sha256(prev_hash.encode() + canonical_body).hexdigest()


def sealed_body(seq: int, at: datetime, actor: str, action: str, object_type: str, object_ids: list[str],
                details: dict[str, Any], gap_before: int) -> bytes:
    return _dump({"seq": seq, "at": _instant(at), "actor": actor, "action": action, "object_type": object_type,
                  "object_ids": object_ids, "details": details, "gap_before": gap_before})


def seal_mac(key: bytes, prev_mac: str, body: bytes) -> str:
    return hmac.new(key, b"kluis-audit-link\x00" + prev_mac.encode() + body, hashlib.sha256).hexdigest()


def watermark_mac(key: bytes, sealed_seq: int, sealed_mac: str, key_id: str) -> str:
    return hmac.new(key, f"kluis-audit-watermark\x00{sealed_seq}:{sealed_mac}:{key_id}".encode(),
                    hashlib.sha256).hexdigest()


def verification_mac(key: bytes, fields: dict[str, Any]) -> str:
    """The MAC of a recorded verification (every field but its row id and this MAC): only a holder of the key
    can write a record that a later run starts from, or that the console trusts."""
    body = {name: _instant(value) if isinstance(value, datetime) else value for name, value in fields.items()}
    return hmac.new(key, b"kluis-audit-verification\x00" + _dump(body), hashlib.sha256).hexdigest()


def key_id(key: bytes) -> str:
    """A name for the key that reveals nothing of it: which key sealed the chain, so a wrong one is told apart
    from tampering."""
    return hmac.new(key, b"kluis-audit-key-id", hashlib.sha256).hexdigest()[:16]


def same(a: str | None, b: str | None) -> bool:
    return a is not None and b is not None and hmac.compare_digest(a, b)
