"""An order's document key lives in the key store (R-SHR-3, R-VLT-5): not on the order's row, so a backup of the
data database alone opens no document; deleting an order destroys the key through the key store, logged in the
erasure log, and a key store restored from before the deletion is brought back in line. Migration 0027 moves the
keys that orders kept on their rows into the key store."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa
from alembic import command
from pydantic import SecretStr
from sqlalchemy import func, inspect, select, text
from tests.helpers import sealed_log
from tests.integration.orders.orders_support import APPROVER, RECORDER, approve, order_pdf, record
from tests.integration.retention.retention_support import ams, person

from kluis import schema
from kluis.audit.models import AuditEvent
from kluis.disclosures.models import Disclosure
from kluis.kit.errors import Conflict, NotAllowed
from kluis.kit.secrets import new_secret, parse_secret
from kluis.orders import sealing
from kluis.orders.models import AuthorityOrder, AuthorityOrderPerson
from kluis.orders.service import DocumentGone, Orders
from kluis.schema import alembic_config
from kluis.vault import erasure_log
from kluis.vault.crypto import KeyRing
from kluis.vault.models import ObjectKey
from kluis.wiring import build


@pytest.fixture(autouse=True)
def _now(clock):
    clock.set(ams(2026, 11, 25, 10))


def _object_keys(kluis) -> dict[uuid.UUID, ObjectKey]:
    with kluis.db.key_sessions() as keys:
        return {row.id: row for row in keys.scalars(select(ObjectKey))}


def _erasure_log(kluis) -> list[erasure_log.Entry]:
    with kluis.db.key_sessions() as keys:
        return erasure_log.stored(keys)


def test_r_shr_3_r_vlt_5_an_orders_document_key_is_kept_in_the_key_store_not_on_its_row(kluis):
    pid, _ = person(kluis, "web")
    order_id = record(kluis, [pid])
    assert "document_key" not in _columns(kluis)
    [stored] = _object_keys(kluis).values()
    assert (stored.id, stored.kind, stored.kek_id) == (order_id, sealing.DOCUMENT_KEY, kluis.keys.master_id)
    with kluis.db.transaction() as session:
        assert Orders(session, kluis, APPROVER).document(order_id)[1] == order_pdf()
    # The data database alone (a backup of it, the key store lost or not restored) opens no document.
    with kluis.db.key_transaction() as keys:
        keys.execute(ObjectKey.__table__.delete())
    with pytest.raises(DocumentGone), kluis.db.transaction() as session:
        Orders(session, kluis, APPROVER).document(order_id)


def test_r_shr_3_r_vlt_5_deleting_an_order_shreds_its_document_and_logs_the_key_destroyed(kluis, clock):
    pid, _ = person(kluis, "web")
    order_id = record(kluis, [pid])
    with pytest.raises(NotAllowed), kluis.db.transaction() as session:
        Orders(session, kluis, RECORDER).delete(order_id, by_dpo=False)
    assert order_id in _object_keys(kluis)
    with kluis.db.transaction() as session:
        assert Orders(session, kluis, APPROVER).delete(order_id, by_dpo=True) is False
    assert _object_keys(kluis) == {}
    with kluis.db.sessions() as session:
        assert session.get(AuthorityOrder, order_id) is None
        assert session.scalar(select(func.count()).select_from(AuthorityOrderPerson)) == 0
        [event] = session.scalars(select(AuditEvent).where(AuditEvent.action == "order.deleted")
                                  .order_by(AuditEvent.seq)).all()
        assert event.details == {"kept_as_proof": False} and event.object_ids == [str(order_id)]
    [entry] = _erasure_log(kluis)
    assert (entry.action, entry.key_id, entry.reason) == (erasure_log.KEY_DESTROYED, order_id, "order")
    assert sealed_log(kluis).ok


def test_r_shr_3_a_deleted_order_that_disclosed_data_stays_as_proof_without_its_document(kluis):
    pid, _ = person(kluis, "web")
    order_id = record(kluis, [pid])
    approve(kluis, order_id)
    with kluis.db.transaction() as session:
        assert Orders(session, kluis, APPROVER).delete(order_id, by_dpo=True) is True
    assert _object_keys(kluis) == {}
    with kluis.db.sessions() as session:
        order = session.get(AuthorityOrder, order_id)
        assert order.document_ciphertext == b"" and order.document_sha256
        assert session.scalar(select(Disclosure.order_id)) == order_id
    with pytest.raises(DocumentGone) as gone, kluis.db.transaction() as session:
        Orders(session, kluis, APPROVER).document(order_id)
    assert gone.value.status == 410 and gone.value.code == "document_destroyed"
    for again in (lambda orders: orders.produce(order_id), lambda orders: orders.delete(order_id, by_dpo=True)):
        with pytest.raises(Conflict) as refused, kluis.db.transaction() as session:
            again(Orders(session, kluis, APPROVER))
        assert refused.value.code == "order_deleted"


def test_r_vlt_5_a_restored_key_store_loses_a_deleted_orders_key_again(kluis):
    """R-VLT-5: the key store restored from a backup made before the deletion has the order's key back; bringing
    it in line with the erasure log destroys it again."""
    pid, _ = person(kluis, "web")
    order_id = record(kluis, [pid])
    [before] = _object_keys(kluis).values()
    backup = {c: getattr(before, c) for c in ("id", "kind", "wrapped", "kek_id", "created_at")}
    with kluis.db.transaction() as session:
        Orders(session, kluis, APPROVER).delete(order_id, by_dpo=True)
    with kluis.db.key_transaction() as keys:
        keys.execute(ObjectKey.__table__.insert(), [backup])
    [entry] = _erasure_log(kluis)
    with kluis.db.transaction() as session:
        assert kluis.keystore.bring_in_line(session, entry) == 1
    assert _object_keys(kluis) == {}


_ORDERS = sa.table("authority_order", sa.column("id", sa.Uuid()), sa.column("document_key", sa.LargeBinary()))


def _columns(kluis) -> set[str]:
    return {c["name"] for c in inspect(kluis.db.engine).get_columns("authority_order")}


def _as_before_0027(kluis, wrapped_by: dict[uuid.UUID, KeyRing], moved: set[uuid.UUID]) -> None:
    """The schema and rows as 0025 left them: each document's key wrapped by a master key on the order's row
    (``wrapped_by``); the key store holds only the keys of ``moved`` (a run that stopped after moving them).
    The steps after 0027 are taken down first, so that the upgrade under test runs them again."""
    with kluis.db.engine.begin() as conn:
        config = alembic_config(kluis.db.url, "data")
        config.attributes["connection"] = conn
        command.downgrade(config, "0027_order_document_keys")
    with kluis.db.transaction() as session:
        plain = {oid: kluis.keystore.object_key(session, sealing.DOCUMENT_KEY, oid) for oid in wrapped_by}
    with kluis.db.key_transaction() as keys:
        keys.execute(ObjectKey.__table__.delete().where(ObjectKey.id.not_in(moved)))
    blob = "BLOB" if kluis.db.engine.dialect.name == "sqlite" else "BYTEA"
    with kluis.db.engine.begin() as conn:
        conn.execute(text(f"ALTER TABLE authority_order ADD COLUMN document_key {blob}"))
        for oid, ring in wrapped_by.items():
            conn.execute(_ORDERS.update().where(_ORDERS.c.id == oid).values(
                document_key=ring.seal_secret(b"order-document-key|" + oid.bytes, plain[oid])))
        config = alembic_config(kluis.db.url, "data")
        config.attributes["connection"] = conn
        command.stamp(config, "0025_audit_verification")


@pytest.fixture(params=["own key store", "key store in the data database"])
def either(request, kluis, settings, clock):
    """A key store of its own (production) or in the data database (PostgreSQL's default): the step moves keys
    across two connections or within one."""
    if request.param == "own key store":
        yield kluis, settings
        return
    shared = settings.model_copy(update={"keystore_url": settings.database_url})
    instance = build(shared, clock=clock)
    schema.upgrade(instance.db)
    assert instance.keystore.shared
    yield instance, shared
    instance.close()


@pytest.mark.plain_schema
def test_r_shr_3_r_vlt_1_migration_0027_moves_document_keys_into_the_key_store(either, clock):
    """R-VLT-1: a key wrapped by a previous master key is moved too, re-wrapped by the current one; without the
    master keys the step refuses and changes nothing; a key already moved is not moved twice."""
    kluis, settings = either
    pid, _ = person(kluis, "web")
    old_id, moved_id = record(kluis, [pid]), record(kluis, [pid])
    old_secret = new_secret()
    old_ring = KeyRing(master=parse_secret("old", old_secret), previous=(), index=kluis.keys.index,
                       secret=kluis.keys.secret)
    already = _object_keys(kluis)[moved_id].wrapped
    _as_before_0027(kluis, {old_id: old_ring, moved_id: kluis.keys}, moved={moved_id})
    with pytest.raises(RuntimeError, match="master key"):
        schema.upgrade(kluis.db)
    with pytest.raises(RuntimeError, match="does not open"):
        schema.upgrade(kluis.db, keys=kluis.keys)  # the previous master key is not configured
    assert "document_key" in _columns(kluis) and set(_object_keys(kluis)) == {moved_id}
    rotated = build(settings.model_copy(update={"previous_master_keys": SecretStr(old_secret)}), clock=clock)
    try:
        schema.upgrade(rotated.db, keys=rotated.keys)
        stored = _object_keys(rotated)
        assert set(stored) == {old_id, moved_id} and stored[moved_id].wrapped == already
        assert {row.kek_id for row in stored.values()} == {rotated.keys.master_id}
        assert stored[old_id].created_at == ams(2026, 11, 25, 10)
        assert "document_key" not in _columns(rotated)
        with rotated.db.transaction() as session:
            for order_id in (old_id, moved_id):
                assert Orders(session, rotated, APPROVER).document(order_id)[1] == order_pdf()
    finally:
        rotated.close()
