"""How a link's hash is computed: pure, so that verification and appending share one definition."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from kluis.kit.clock import as_utc


def canonical(seq: int, at: datetime, actor: str, action: str, object_type: str,
              object_ids: list[str], details: dict[str, Any], prev_hash: str) -> bytes:
    body = {
        "seq": seq,
        "at": as_utc(at).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "actor": actor,
        "action": action,
        "object_type": object_type,
        "object_ids": object_ids,
        "details": details,
        "prev_hash": prev_hash,
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def link_hash(prev_hash: str, canonical_body: bytes) -> str:
    return hashlib.sha256(prev_hash.encode() + canonical_body).hexdigest()
