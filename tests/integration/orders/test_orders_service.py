"""Authority orders end to end at the service level (R-SHR-3): informal requests refused and recorded, orders
recorded with their sealed PDF, four eyes, an export limited to the order, its expiring one-time link, and the
disclosure in the person's access package unless a deferral is in force."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select
from tests.helpers import sealed_log
from tests.integration.orders.orders_support import APPROVER, RECORDER, approve, counts, order_pdf, record
from tests.integration.retention.retention_support import ams, employer, person

from kluis.audit.models import AuditEvent
from kluis.disclosures.models import Disclosure
from kluis.kit.errors import Conflict, Invalid, NotAllowed, NotFound
from kluis.orders.models import AuthorityOrder, AuthorityRefusal
from kluis.orders.service import ExportGone, Orders
from kluis.rights.packages.archive import write_access_package


@pytest.fixture(autouse=True)
def _now(clock):
    clock.set(ams(2026, 11, 25, 10))


def _events(kluis, prefix="order."):
    with kluis.db.sessions() as session:
        return list(session.scalars(select(AuditEvent).where(AuditEvent.action.startswith(prefix))
                                    .order_by(AuditEvent.seq)
                                    .order_by(AuditEvent.seq)))


def test_r_shr_3_an_informal_request_is_refused_and_recorded_without_the_subjects_data(kluis, clock):
    answer = "Zonder schriftelijk bevel verstrekken wij geen gegevens over J. Jansen."
    with kluis.db.transaction() as session:
        row = Orders(session, kluis, RECORDER).refuse_informal("Politie Midden-Nederland", ams(2026, 11, 24, 16),
                                                               answer)
    with kluis.db.sessions() as session:
        stored = session.get(AuthorityRefusal, row.id)
        assert stored.authority == "Politie Midden-Nederland" and stored.asked_at == ams(2026, 11, 24, 16)
        assert b"Jansen" not in stored.answer_ciphertext
        assert Orders(session, kluis, RECORDER).answer_of(stored) == answer
    [event] = _events(kluis)
    assert event.action == "order.informal_refused" and "Jansen" not in json.dumps(event.details)
    before = counts(kluis)
    for authority, at, text in (("", None, answer), ("Politie", clock.now() + timedelta(hours=1), answer),
                                ("Politie", None, "  ")):
        with pytest.raises(Invalid) as refused, kluis.db.transaction() as session:
            Orders(session, kluis, RECORDER).refuse_informal(authority, at, text)
        assert refused.value.code == "refusal_invalid"
    assert counts(kluis) == before
    assert sealed_log(kluis).ok


@pytest.mark.parametrize(("document", "changes", "code"), [
    (b"", {}, "document_required"),
    (b"\x89PNG\r\n\x1a\n" + b"0" * 100, {}, "document_not_pdf"),
    ("cut", {}, "document_damaged"),
    ("huge", {}, "document_too_large"),
    (None, {"legal_basis": "  "}, "legal_basis_required"),
    (None, {"reference": ""}, "reference_required"),
    (None, {"defer_until": date(2026, 11, 20)}, "deferral_before_order"),
    (None, {"defer_until": date(2026, 11, 1)}, "deferral_before_order"),
    (None, {"order_date": date(2026, 12, 1)}, "in_future"),
    (None, {"categories": ("sensitive_nonsense",)}, "category_unknown"),
    (None, {"categories": ()}, "categories_required"),
    (None, {"party": "recipient:group_companies"}, "authority_unknown"),
    (None, {"party": "   "}, "authority_required"),
    (None, {"person_ids": ("unknown",)}, "person_not_found"),
    (None, {"person_ids": ()}, "people_required"),
])
def test_r_shr_3_a_bad_order_gets_a_clear_error_and_writes_nothing(kluis, document, changes, code):
    import uuid

    pid, _ = person(kluis, "account")
    people = {(): [], ("unknown",): [uuid.uuid4()]}.get(changes.pop("person_ids", None), [pid])
    pdf = order_pdf()
    document = {"cut": pdf[: len(pdf) // 2], "huge": pdf + b"%" * (10 * 1024 * 1024)}.get(document, document)
    before = counts(kluis)
    with pytest.raises(Invalid) as refused:
        record(kluis, people, document=document, **changes)
    assert refused.value.code == "order_invalid"
    assert code in {p.code for p in refused.value.problems}, refused.value.problems
    assert counts(kluis) == before


def test_r_shr_3_the_document_is_stored_encrypted_and_read_back_audited(kluis):
    pid, _ = person(kluis, "account")
    pdf = order_pdf()
    order_id = record(kluis, [pid], document=pdf)
    with kluis.db.transaction() as session:
        row = session.get(AuthorityOrder, order_id)
        assert b"126nd" not in row.document_ciphertext and b"%PDF" not in row.document_ciphertext
        assert row.document_size == len(pdf)
        _, opened = Orders(session, kluis, APPROVER).document(order_id)
    assert opened == pdf
    assert [e.action for e in _events(kluis)] == ["order.recorded", "order.document_read"]


def test_r_shr_3_only_a_second_dpo_decides_and_only_an_approved_order_produces_data(kluis):
    named, _ = person(kluis, "account", "marketing", "claim", employer_id=employer(kluis))
    other, _ = person(kluis, "account")
    order_id = record(kluis, [named], categories=("basic", "financial"))
    with pytest.raises(Conflict) as early, kluis.db.transaction() as session:
        Orders(session, kluis, APPROVER).produce(order_id)
    assert early.value.code == "order_not_approved"
    with pytest.raises(NotAllowed) as own, kluis.db.transaction() as session:
        Orders(session, kluis, RECORDER).decide(order_id, True, "ziet er goed uit", decider_is_dpo=True)
    assert own.value.code == "recorder_may_not_decide" and "second DPO" in own.value.message
    with pytest.raises(NotAllowed) as support, kluis.db.transaction() as session:
        Orders(session, kluis, APPROVER).decide(order_id, True, "ziet er goed uit", decider_is_dpo=False)
    assert support.value.code == "dpo_required"
    with pytest.raises(Invalid) as why, kluis.db.transaction() as session:
        Orders(session, kluis, APPROVER).decide(order_id, True, " ", decider_is_dpo=True)
    assert why.value.code == "reasons_required"
    with kluis.db.sessions() as session:
        assert session.get(AuthorityOrder, order_id).state == "recorded"
        assert session.scalars(select(Disclosure)).all() == []

    issued = approve(kluis, order_id)
    assert len(issued.token) == 64  # 16 bytes of export id + a 256-bit key, base64url
    with kluis.db.transaction() as session:
        _, zipped = Orders(session, kluis, APPROVER).download(issued.token)
    with zipfile.ZipFile(io.BytesIO(zipped)) as zf:
        assert sorted(zf.namelist()) == ["order.json", f"people/{named}.json"]
        data = json.loads(zf.read(f"people/{named}.json"))
        manifest = json.loads(zf.read("order.json"))
    assert sorted(r["category"] for r in data["records"]) == ["basic", "financial"]  # not "account"
    assert manifest["legal_basis"] == "art. 126nd Sv" and manifest["people"] == [str(named)]
    assert str(other) not in json.dumps(manifest)
    with kluis.db.sessions() as session:
        [logged] = session.scalars(select(Disclosure)).all()
    assert (logged.person_id, logged.party, logged.order_id) == (named, "recipient:authorities", order_id)
    assert logged.categories == ["basic", "financial"] and logged.withheld_until is None
    with pytest.raises(Conflict) as twice, kluis.db.transaction() as session:
        Orders(session, kluis, "staff:third").decide(order_id, False, "toch niet", decider_is_dpo=True)
    assert twice.value.code == "already_decided"
    # A second export (the first link lost) does not log the disclosure twice.
    with kluis.db.transaction() as session:
        Orders(session, kluis, APPROVER).produce(order_id)
    with kluis.db.sessions() as session:
        assert len(session.scalars(select(Disclosure)).all()) == 1
    assert sealed_log(kluis).ok


def test_r_shr_3_a_rejected_order_produces_nothing(kluis):
    pid, _ = person(kluis, "account")
    order_id = record(kluis, [pid])
    with kluis.db.transaction() as session:
        assert Orders(session, kluis, APPROVER).decide(order_id, False, "geen bevoegde autoriteit",
                                                       decider_is_dpo=True) is None
    with pytest.raises(Conflict), kluis.db.transaction() as session:
        Orders(session, kluis, APPROVER).produce(order_id)
    with kluis.db.sessions() as session:
        order = session.get(AuthorityOrder, order_id)
        assert order.state == "rejected" and b"bevoegde" not in order.reasons_ciphertext
        assert Orders(session, kluis, APPROVER).reasons_of(order) == "geen bevoegde autoriteit"
        assert session.scalars(select(Disclosure)).all() == []


def test_r_shr_3_the_export_link_is_one_time_secret_downloads_are_logged_and_expired_exports_deleted(kluis, clock):
    pid, _ = person(kluis, "account")
    issued = approve(kluis, record(kluis, [pid]))
    wrong = issued.token[:-8] + ("A" * 8 if not issued.token.endswith("A" * 8) else "B" * 8)
    for token in (wrong, "short", "x" * 64):
        with pytest.raises(NotFound), kluis.db.transaction() as session:
            Orders(session, kluis, APPROVER).download(token)
    for _ in range(2):
        with kluis.db.transaction() as session:
            export, _ = Orders(session, kluis, APPROVER).download(issued.token)
    assert export.downloads == 2
    assert [e.details["downloads"] for e in _events(kluis, "order.export_downloaded")] == [1, 2]
    clock.advance(timedelta(days=7))
    with pytest.raises(ExportGone), kluis.db.transaction() as session:
        Orders(session, kluis, APPROVER).download(issued.token)
    with kluis.db.transaction() as session:
        assert Orders(session, kluis, "worker").expire_due() == 1
    with kluis.db.transaction() as session:
        [export] = Orders(session, kluis, APPROVER).exports_of(export.order_id)
        assert export.ciphertext is None and export.deleted_at == clock.now()
        assert Orders(session, kluis, "worker").expire_due() == 0


def _package_disclosures(kluis, pid):
    out = io.BytesIO()
    with kluis.db.transaction() as session:
        write_access_package(kluis, session, pid, "nl", out, report=True)
    with zipfile.ZipFile(out) as zf:
        return json.loads(zf.read("disclosures.json")), zf.read("report.html").decode()


def test_r_shr_3_a_deferred_disclosure_appears_in_the_access_package_only_once_the_deferral_ends(kluis, clock):
    deferred, _ = person(kluis, "account", "marketing")
    told, _ = person(kluis, "account", "marketing")
    approve(kluis, record(kluis, [deferred], defer_until=date(2027, 3, 1)))
    approve(kluis, record(kluis, [told], reference="OM-2026-0043"))
    shown, report = _package_disclosures(kluis, told)
    assert [(d["recipient"], d["reference"]) for d in shown] == [("recipient:authorities", "OM-2026-0043")]
    assert "Overheidsinstanties" in report and "Op grond van een bevel van de autoriteit" in report
    assert _package_disclosures(kluis, deferred)[0] == []
    clock.set(datetime(2027, 2, 28, 23, 59, tzinfo=ams(2027, 1, 1).tzinfo))
    assert _package_disclosures(kluis, deferred)[0] == []
    clock.set(ams(2027, 3, 1, 0))
    [late] = _package_disclosures(kluis, deferred)[0]
    assert late["reference"] == "OM-2026-0042" and late["categories"] == ["basic"]
