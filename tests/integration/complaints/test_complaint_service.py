"""The complaint register's use cases (R-GOV-2) below the pages: links to a person, a request and a breach;
the person's access package; the handler's reminders; lapse of complaints never confirmed; sealing under the
person's key; and the command line."""

from __future__ import annotations

import io
import json
import uuid
import zipfile
from datetime import UTC, datetime, timedelta

import pytest
from alembic import command
from sqlalchemy import inspect, select
from tests.helpers import sealed_log
from tests.integration.complaints.complaint_support import add_staff, key_count, stored
from tests.integration.rights.rights_support import catcher_fixture, mail_settings, new_person, send_all
from typer.testing import CliRunner

from kluis import schema, wiring
from kluis.cli import app
from kluis.complaints.models import ComplaintCode
from kluis.complaints.service import Complaints
from kluis.kit.clock import AMSTERDAM
from kluis.kit.errors import Invalid, NotAllowed, NotFound
from kluis.mail.models import Outbox
from kluis.rights.packages.archive import write_access_package
from kluis.rights.service import Rights
from kluis.schema import alembic_config
from kluis.staff.service import SignedIn
from kluis.vault.crypto import Unreadable

TEXT = "Ik krijg nog steeds nieuwsbrieven na mijn afmelding"
ANSWER = "U bent nu definitief afgemeld; excuses voor het ongemak."


@pytest.fixture
def catcher():
    yield from catcher_fixture()


@pytest.fixture
def settings(settings, catcher):
    return mail_settings(settings, catcher)


def acting(staff_id, role):
    return SignedIn(staff_id=staff_id, role=role, session_id="-", expires_at=datetime(2030, 1, 1, tzinfo=UTC))


def letter(kluis, person_id=None, **links):
    with kluis.db.transaction() as session:
        return Complaints(session, kluis, "test").register_by_staff(
            TEXT, kluis.clock.now() - timedelta(hours=1), "Telefoon 12:00", person_id=person_id, **links).id


def test_r_gov_2_links_to_person_request_and_breach_and_refuses_anothers_request(kluis):
    person_id, _ = new_person(kluis)
    other_id, _ = new_person(kluis, email="ander@example.nl")
    dpo_id, _, _ = add_staff(kluis, kluis.clock, "dpo")
    with kluis.db.transaction() as session:
        theirs = Rights(session, kluis, "test").receive_from_account(other_id, "access", "nl").request.id
        mine = Rights(session, kluis, "test").receive_from_account(person_id, "erasure", "nl").request.id
    complaint_id = letter(kluis)
    dpo = acting(dpo_id, "dpo")
    with kluis.db.transaction() as session:
        linked = Complaints(session, kluis, "test").link(complaint_id, dpo, person_id=person_id, request_id=mine,
                                                        breach_ref="BR-2026-0007")
        assert (linked.person_id, linked.request_id, linked.breach_ref) == (person_id, mine, "BR-2026-0007")
    with pytest.raises(NotFound), kluis.db.transaction() as session:
        Complaints(session, kluis, "test").link(complaint_id, dpo, request_id=theirs)
    with pytest.raises(Invalid), kluis.db.transaction() as session:
        Complaints(session, kluis, "test").link(complaint_id, dpo, breach_ref="x" * 65)
    with kluis.db.sessions() as session:
        assert Complaints(session, kluis, "test").get(complaint_id).request_id == mine  # refused links wrote nothing


def test_r_gov_2_complaint_and_answer_appear_in_the_persons_access_package(kluis):
    person_id, _ = new_person(kluis)
    other_id, _ = new_person(kluis, email="ander@example.nl")
    dpo_id, _, _ = add_staff(kluis, kluis.clock, "dpo")
    complaint_id = letter(kluis, person_id)
    letter(kluis, other_id)
    with kluis.db.transaction() as session:
        complaints = Complaints(session, kluis, "test")
        complaints.add_note(complaint_id, acting(dpo_id, "dpo"), "intern: marketinglijst nagekeken")
        complaints.answer(complaint_id, acting(dpo_id, "dpo"), ANSWER)
    out = io.BytesIO()
    with kluis.db.transaction() as session:
        write_access_package(kluis, session, person_id, "nl", out, report=False)
    listed = json.loads(zipfile.ZipFile(io.BytesIO(out.getvalue())).read("complaints.json"))
    assert len(listed) == 1 and listed[0]["state"] == "answered" and listed[0]["channel"] == "staff"
    assert [(c["kind"], c["text"]) for c in listed[0]["correspondence"]] == [("complaint", TEXT), ("answer", ANSWER)]
    report = zipfile.ZipFile(io.BytesIO(report_out(kluis, person_id))).read("report.html").decode()
    assert "Uw klachten" in report and "beantwoord" in report and TEXT not in report


def report_out(kluis, person_id):
    out = io.BytesIO()
    with kluis.db.transaction() as session:
        write_access_package(kluis, session, person_id, "nl", out)
    return out.getvalue()


def test_r_gov_2_handler_and_dpos_are_reminded_and_the_handler_alone_besides_dpo_reads(kluis, clock, catcher):
    person_id, _ = new_person(kluis)
    dpo_id, _, _ = add_staff(kluis, clock, "dpo")
    handler_id, _, _ = add_staff(kluis, clock, "support", email="behandelaar@benvitaal.nl")
    other_id, _, _ = add_staff(kluis, clock, "support", email="collega@benvitaal.nl")
    auditor_id, _, _ = add_staff(kluis, clock, "auditor")
    complaint_id = letter(kluis, person_id)
    with kluis.db.transaction() as session:
        complaints = Complaints(session, kluis, "test")
        with pytest.raises(NotAllowed):
            complaints.assign(complaint_id, acting(handler_id, "support"), handler_id)
        with pytest.raises(Invalid):
            complaints.assign(complaint_id, acting(dpo_id, "dpo"), auditor_id)
        complaints.assign(complaint_id, acting(dpo_id, "dpo"), handler_id)
        assert complaints.read(complaint_id, acting(handler_id, "support")).letters[0].text == TEXT
        for outsider in (acting(other_id, "support"), acting(auditor_id, "auditor")):
            with pytest.raises(NotAllowed):
                complaints.read(complaint_id, outsider)
    send_all(kluis)
    before = len(catcher.messages)
    clock.set(datetime(2026, 12, 17, 9, 0, tzinfo=AMSTERDAM))  # 6 days before the deadline, 23 December
    send_all(kluis)
    send_all(kluis)
    reminded = sorted(m.to[0] for m in catcher.messages[before:])
    assert reminded == ["behandelaar@benvitaal.nl", "dpo@benvitaal.nl"]


def test_r_gov_2_unconfirmed_privacy_centre_complaint_lapses_and_its_text_is_deleted(kluis, clock):
    new_person(kluis)
    with kluis.db.transaction() as session:
        Complaints(session, kluis, "person").receive_public("vrager@example.nl", TEXT, "nl")
        unknown, _ = Complaints(session, kluis, "person").receive_public("niemand@example.nl", TEXT, "nl")
    with kluis.db.sessions() as session:
        assert unknown.id in kluis.keystore.data_keys(session, [unknown.id])  # a key of its own, in the key store
    clock.advance(timedelta(days=kluis.settings.unverified_request_days - 1))
    send_all(kluis)
    assert stored(kluis)[0][0].state == "unverified"
    clock.advance(timedelta(days=2))
    send_all(kluis)
    complaints, messages = stored(kluis)
    assert {c.state for c in complaints} == {"lapsed"} and messages == []
    assert all(c.claimed_person_id is None and c.address_key is None for c in complaints)
    with kluis.db.sessions() as session:
        assert session.scalars(select(ComplaintCode)).all() == []
        assert session.scalars(select(Outbox).where(Outbox.template == "complaint_code")).all() == []
        assert kluis.keystore.data_keys(session, [unknown.id]) == {}  # its own key destroyed
    assert sealed_log(kluis).ok


def test_r_gov_2_text_is_sealed_under_the_persons_key_erasing_it_leaves_nothing_readable(kluis):
    person_id, _ = new_person(kluis)
    dpo_id, _, _ = add_staff(kluis, kluis.clock, "dpo")
    complaint_id = letter(kluis, person_id)
    with kluis.db.transaction() as session:
        kluis.keystore.destroy(session, [person_id], reason="test")
    with pytest.raises(Unreadable), kluis.db.transaction() as session:
        Complaints(session, kluis, "test").read(complaint_id, acting(dpo_id, "dpo"))


def test_r_gov_2_bad_receipt_request_or_language_is_refused_and_writes_nothing_not_even_a_key(kluis):
    received = kluis.clock.now() - timedelta(days=1)
    for options, error, code in (
            ({"received_at": datetime(2026, 11, 20, 9, 0)}, Invalid, "received_without_zone"),
            ({"received_at": kluis.clock.now() + timedelta(minutes=1)}, Invalid, "received_in_future"),
            ({"request_id": uuid.uuid4()}, NotFound, "request_not_found"),
            ({"lang": "de"}, Invalid, "lang_unknown"),
            ({"breach_ref": "b" * 65}, Invalid, "breach_ref_invalid")):
        with pytest.raises(error) as refused, kluis.db.transaction() as session:
            Complaints(session, kluis, "test").register_by_staff(TEXT, **({"received_at": received} | options),
                                                                 reference="Brief")
        assert refused.value.code == code
    assert stored(kluis) == ([], []) and key_count(kluis) == 0


@pytest.fixture
def cli_kluis(kluis):
    wiring.use_for_cli(kluis)
    yield kluis
    wiring.use_for_cli(None)


def test_r_gov_2_command_line_register_show_assign_answer(cli_kluis, catcher):
    kluis = cli_kluis
    person_id, _ = new_person(kluis)
    add_staff(kluis, kluis.clock, "dpo")
    add_staff(kluis, kluis.clock, "support")
    runner = CliRunner()
    made = runner.invoke(app, ["complaints", "register", "--staff", "dpo@benvitaal.nl", "--received-at",
                               "2026-11-24T17:45:00+01:00", "--reference", "Brief 7", "--text", TEXT,
                               "--person", str(person_id)])
    assert made.exit_code == 0, made.output
    complaint_id = made.output.split()[0]
    assert "due 2026-12-22" in made.output
    assert complaint_id in runner.invoke(app, ["complaints", "list"]).output
    refused = runner.invoke(app, ["complaints", "show", complaint_id, "--staff", "support@benvitaal.nl"])
    assert refused.exit_code == 1 and "complaint_confidential" in refused.output and TEXT not in refused.output
    assert TEXT in runner.invoke(app, ["complaints", "show", complaint_id, "--staff", "dpo@benvitaal.nl"]).output
    assert runner.invoke(app, ["complaints", "assign", complaint_id, "--staff", "dpo@benvitaal.nl", "--handler",
                               "support@benvitaal.nl"]).exit_code == 0
    answered = runner.invoke(app, ["complaints", "answer", complaint_id, "--staff", "support@benvitaal.nl",
                                   "--text", ANSWER])
    assert answered.exit_code == 0, answered.output
    future = runner.invoke(app, ["complaints", "register", "--staff", "dpo@benvitaal.nl", "--received-at",
                                 "2027-01-01T09:00:00+01:00", "--reference", "x", "--text", TEXT])
    assert future.exit_code == 1 and "received_in_future" in future.output
    unknown = runner.invoke(app, ["complaints", "show", str(uuid.uuid4()), "--staff", "dpo@benvitaal.nl"])
    assert unknown.exit_code == 1 and "complaint_not_found" in unknown.output
    assert "answered: 1" in runner.invoke(app, ["complaints", "counts"]).output
    send_all(kluis)
    assert ANSWER in catcher.messages[-1].text


@pytest.mark.plain_schema
def test_r_gov_2_migration_0022_goes_down_and_up_to_the_models(kluis):
    with kluis.db.engine.begin() as conn:
        config = alembic_config(kluis.db.url, "data")
        config.attributes["connection"] = conn
        command.downgrade(config, "0020_audit_sealed")
        assert "complaint" not in inspect(conn).get_table_names()
        command.upgrade(config, "head")
    assert schema.differences(kluis.db) == []
