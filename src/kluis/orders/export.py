"""The data an approved order produces (R-SHR-3): a ZIP with ``order.json`` and one ``people/<id>.json`` per
person the order names, holding only the records of the categories the order names, decrypted for this export
alone (the ZIP is sealed before it is stored, see ``sealing``). An order names at most 100 people, so the ZIP
is built in memory, never in a temporary file."""

from __future__ import annotations

import base64
import io
import json
import uuid
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from kluis.orders.models import AuthorityOrder
from kluis.vault.crypto import open_sealed

if TYPE_CHECKING:
    from kluis.wiring import Kluis


@dataclass(frozen=True)
class Produced:
    zipped: bytes
    people: list[uuid.UUID]  # those whose data is in it (a person erased meanwhile is not)
    records: int


def build_export(kluis: Kluis, session: Session, order: AuthorityOrder, person_ids: Sequence[uuid.UUID],
                 made_at: datetime, actor: str) -> Produced:
    vault = kluis.vault(session, actor)
    keys = kluis.keystore.data_keys(session, person_ids)
    wanted = set(order.categories)
    buffer = io.BytesIO()
    included: list[uuid.UUID] = []
    records = 0
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for person_id in sorted(person_ids, key=str):
            dek = keys.get(person_id)
            if dek is None:
                continue
            rows = [_record(r, open_sealed(dek, person_id, r.id, r.category, r.ciphertext))
                    for r in vault.records_of(person_id) if r.category in wanted]
            zf.writestr(_entry(f"people/{person_id}.json"), _json({"person_id": str(person_id), "records": rows}))
            included.append(person_id)
            records += len(rows)
        zf.writestr(_entry("order.json"), _json({
            "order_id": str(order.id), "authority": order.party, "legal_basis": order.legal_basis,
            "reference": order.reference, "order_date": order.order_date.isoformat(),
            "categories": sorted(wanted), "people": [str(p) for p in included],
            "not_held": sorted(str(p) for p in set(person_ids) - set(included)), "made_at": made_at.isoformat()}))
    return Produced(buffer.getvalue(), included, records)


def _record(row: Any, plaintext: bytes) -> dict[str, Any]:
    entry: dict[str, Any] = {"record_id": str(row.id), "category": row.category, "purposes": list(row.purposes),
                             "legal_basis": row.legal_basis, "source": row.source,
                             "collected_at": row.collected_at.isoformat()}
    if row.content_kind == "file":
        entry["file"] = {"media_type": row.media_type, "data_base64": base64.b64encode(plaintext).decode()}
    else:
        entry["content"] = json.loads(plaintext)
    return entry


def _entry(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_DEFLATED
    return info


def _json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, indent=2).encode()
