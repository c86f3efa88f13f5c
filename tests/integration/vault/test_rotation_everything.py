"""Master-key rotation covers everything the master key protects (R-VLT-1, R-SHR-3): `kluis access
rotate` re-wraps person keys and object keys (an order's document key) in the key store and seals anew what the
master key sealed itself in the data database (staff e-mail addresses and TOTP seeds, breach texts, an order's
reasons, a refusal's answer). With the old master key then dropped from KLUIS_PREVIOUS_MASTER_KEYS, every kind of
data still opens. The run is batched, resumable, and audited with counts only."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pyotp
import pytest
from pydantic import SecretStr
from sqlalchemy import select
from tests.helpers import sealed_log
from tests.integration.breaches.breach_support import SUMMARY, report
from tests.integration.complaints.complaint_support import PASSWORD, add_staff
from tests.integration.orders.orders_support import APPROVER, RECORDER, approve, order_pdf, record
from tests.integration.rights.rights_support import new_person
from typer.testing import CliRunner

from kluis import wiring
from kluis.access.commands import SEALED
from kluis.audit.models import AuditEvent
from kluis.breaches.models import Breach
from kluis.breaches.service import Breaches
from kluis.cli import app
from kluis.complaints.service import Complaints
from kluis.kit.secrets import new_secret
from kluis.orders.models import AuthorityOrder, AuthorityRefusal
from kluis.orders.service import Orders
from kluis.rights.models import AccessPackage
from kluis.rights.packages.store import open_package_key, read_sealed
from kluis.rights.packages.tasks import PackagePoller
from kluis.rights.service import Rights
from kluis.staff import service as staff_service
from kluis.staff.models import StaffAccount
from kluis.staff.service import SignedIn
from kluis.vault import resealing
from kluis.vault.crypto import Unreadable
from kluis.vault.models import ObjectKey, PersonKey
from kluis.vault.schemas import RecordIn
from kluis.wiring import build

runner = CliRunner()
COMPLAINT = "Ik krijg nog steeds nieuwsbrieven na mijn afmelding"
ANSWER = "Zonder schriftelijk bevel verstrekken wij niets."
REASONS = "Bevel van de rechter-commissaris is echt en volledig"


def _everything(kluis):
    """One of each kind the master key protects, directly or through a key it wraps."""
    person_id, _ = new_person(kluis)
    with kluis.db.transaction() as session:
        kluis.vault(session, "test").add_records(person_id, [RecordIn(
            category="basic", purposes=["accounts"], legal_basis="contract", source="direct",
            content={"name": "Femke Jansen"})])
        Rights(session, kluis, "test").receive_from_account(person_id, "access", "en")
    assert PackagePoller().poll(kluis) == 1
    dpo_id, email, totp = add_staff(kluis, kluis.clock, "dpo")
    with kluis.db.transaction() as session:
        complaints = Complaints(session, kluis, "test")
        at = kluis.clock.now() - timedelta(hours=1)
        theirs = complaints.register_by_staff(COMPLAINT, at, "Telefoon", person_id=person_id).id
        anonymous = complaints.register_by_staff(COMPLAINT, at, "Brief").id
        refusal = Orders(session, kluis, RECORDER).refuse_informal("Politie", None, ANSWER).id
    order_id = record(kluis, [person_id])
    approve(kluis, order_id, reasons=REASONS)
    breach_id = report(kluis).id
    return {"person": person_id, "dpo": dpo_id, "email": email, "totp": totp, "complaints": (theirs, anonymous),
            "refusal": refusal, "order": order_id, "breach": breach_id}


def _all_open(kluis, made) -> None:
    with kluis.db.transaction() as session:
        [record_] = kluis.vault(session, "test").read_records(made["person"], "accounts")
        assert record_.content == {"name": "Femke Jansen"}
        package = session.scalars(select(AccessPackage)).one()
        dek = kluis.keystore.data_keys(session, [package.person_id])[package.person_id]
        prefix, key = open_package_key(dek, package.id, package.wrapped_key)
        assert b"".join(read_sealed(session, package.person_id, package.id, key, prefix)).startswith(b"PK")
        reader = SignedIn(staff_id=made["dpo"], role="dpo", session_id="-", expires_at=datetime(2030, 1, 1, tzinfo=UTC))
        for complaint_id in made["complaints"]:
            read = Complaints(session, kluis, "test").read(complaint_id, reader)
            assert read.letters[0].text == COMPLAINT
        orders = Orders(session, kluis, APPROVER)
        assert orders.document(made["order"])[1] == order_pdf()
        assert orders.reasons_of(session.get(AuthorityOrder, made["order"])) == REASONS
        assert orders.answer_of(session.get(AuthorityRefusal, made["refusal"])) == ANSWER
        assert Breaches(session, kluis, "test").texts(session.get(Breach, made["breach"]))["summary"] == SUMMARY
        account = staff_service.find_account(session, kluis.keys, made["email"])
        assert staff_service.email_of(kluis.keys, account) == made["email"]
        kluis.clock.advance(timedelta(seconds=31))
        assert staff_service.login(session, kluis.clock, kluis.keys, kluis.settings, made["email"], PASSWORD,
                                   pyotp.TOTP(made["totp"]).at(kluis.clock.now()))


@pytest.fixture
def rotated(kluis, settings, clock):
    """The same databases under a new master key, the old one kept as a previous key for the rotation."""
    old = settings.master_key.get_secret_value()
    instance = build(settings.model_copy(update={"master_key": SecretStr(new_secret()),
                                                 "previous_master_keys": SecretStr(old)}), clock=clock)
    wiring.use_for_cli(instance)
    yield instance
    wiring.use_for_cli(None)
    instance.close()


def test_r_vlt_1_r_shr_3_after_rotation_without_the_old_master_key_every_kind_of_data_still_opens(
        kluis, rotated, settings, clock):
    made = _everything(kluis)
    _all_open(rotated, made)  # before the rotation, a previous master key still opens everything
    done = runner.invoke(app, ["access", "rotate", "--batch", "2"])
    assert done.exit_code == 0, done.output
    with rotated.db.key_sessions() as keys:
        kinds = {row.kek_id for row in keys.scalars(select(PersonKey))} | {
            row.kek_id for row in keys.scalars(select(ObjectKey))}
        rewrapped = len(keys.scalars(select(PersonKey)).all()) + len(keys.scalars(select(ObjectKey)).all())
    assert kinds == {rotated.keys.master_id} and rotated.keystore.outdated() == 0
    with rotated.db.sessions() as session:
        [event] = session.scalars(select(AuditEvent).where(AuditEvent.action == "keys.rotated")
                                  .order_by(AuditEvent.seq)).all()
        staff_values = 2 * len(session.scalars(select(StaffAccount)).all())
    resealed = event.details["resealed"]
    assert event.details == {"rewrapped": rewrapped, "resealed": resealed} and resealed >= staff_values + 3
    assert event.object_ids == [rotated.keys.master_id]
    assert f"{rewrapped} keys re-wrapped and {resealed} sealed values sealed anew" in done.output
    without_old = build(rotated.settings.model_copy(update={"previous_master_keys": None}), clock=clock)
    try:
        _all_open(without_old, made)
    finally:
        without_old.close()
    # Without the rotation, dropping the old key would have locked staff out: the old key alone no longer opens.
    old_only = build(settings, clock=clock)
    try:
        with old_only.db.sessions() as session, pytest.raises(Unreadable):
            staff_service.email_of(old_only.keys, session.scalars(select(StaffAccount)).first())
    finally:
        old_only.close()
    again = runner.invoke(app, ["access", "rotate"])
    assert again.exit_code == 0 and "0 keys re-wrapped and 0 sealed values" in again.output
    assert sealed_log(rotated).ok


def test_r_vlt_1_sealing_anew_is_batched_and_resumes_where_it_stopped(kluis, rotated):
    for n in range(5):
        add_staff(kluis, kluis.clock, "support", f"support{n}@benvitaal.nl")
    assert resealing.count(rotated.db, SEALED) == 10
    batches = []

    def stop_after_first(n):
        batches.append(n)
        raise KeyboardInterrupt  # the operator pressed ^C after the first batch committed

    with pytest.raises(KeyboardInterrupt):
        resealing.reseal(rotated.db, rotated.keys, SEALED, batch=3, on_batch=stop_after_first)
    assert batches == [3]
    seen = []
    assert resealing.reseal(rotated.db, rotated.keys, SEALED, batch=3, on_batch=seen.append) == 7
    assert seen == [3, 2, 3, 2]  # e-mail addresses, then TOTP seeds, three a batch
    assert resealing.reseal(rotated.db, rotated.keys, SEALED, batch=3) == 0
