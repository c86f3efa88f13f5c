"""A staff member's language, stored with their account (issue 19 §3; R-GATE-2): the console's switch and the CLI
set it, a sign-in on another browser starts in it, and every mail to staff is written in it — the AP deadline of a
breach (R-GOV-3), an agreement's end (R-SHR-2), a complaint's term (R-GOV-2), a request's (R-DSR-2) — with dates
in that language. Real SMTP on loopback (aiosmtpd), the clock injected; on SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from alembic import command
from sqlalchemy import inspect, select
from tests.integration.breaches.breach_support import report
from tests.integration.rights.rights_support import catcher_fixture, mail_settings, new_person, send_all
from tests.integration.staff.conftest import PASSWORD, StaffMember
from typer.testing import CliRunner

from kluis import schema
from kluis.audit.models import AuditEvent
from kluis.breaches.service import reference
from kluis.complaints.service import Complaints
from kluis.kit.clock import AMSTERDAM
from kluis.kit.errors import Invalid
from kluis.policy.schemas import Agreement, Policy
from kluis.rights.service import Rights
from kluis.schema import alembic_config
from kluis.staff import commands, service
from kluis.staff.models import StaffAccount
from kluis.web.console import LANGUAGE_COOKIE
from kluis.wiring import Kluis

runner = CliRunner()
DUTCH_DPO, ENGLISH_DPO = "fg.nederlands@benvitaal.nl", "dpo.english@benvitaal.nl"


@pytest.fixture
def catcher():
    yield from catcher_fixture()


@pytest.fixture
def settings(settings, catcher):
    return mail_settings(settings, catcher)


def _member(kluis: Kluis, email: str, role: str = "dpo", language: str | None = None) -> StaffMember:
    with kluis.db.transaction() as session:
        made = service.add_staff(session, kluis.clock, kluis.keys, email, role, PASSWORD, language=language)
    return StaffMember(str(made.account.id), email, role, PASSWORD, made.totp_secret)


def _two_dpos(kluis: Kluis) -> None:
    _member(kluis, DUTCH_DPO, language="nl")
    _member(kluis, ENGLISH_DPO, language="en")


def _mail_to(catcher, address):
    found = [m for m in catcher.messages if m.to == (address,)]
    assert len(found) == 1, [(m.to, m.subject) for m in catcher.messages]
    # A subject longer than a header line is folded after "Subject:"; the parser keeps the fold's space.
    return dataclasses.replace(found[0], subject=found[0].subject.strip())


def _stored(kluis: Kluis, email: str) -> str | None:
    with kluis.db.sessions() as session:
        return service.find_account(session, kluis.keys, email).language


def _events(kluis: Kluis, action: str) -> list[AuditEvent]:
    with kluis.db.sessions() as session:
        return list(session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)))


# --- the mails --------------------------------------------------------------------------------------------------


def test_r_gov_3_issue_19_the_breach_deadline_reminder_is_in_each_dpos_language_with_its_dates(kluis, clock, catcher):
    _two_dpos(kluis)
    breach = report(kluis)  # aware 2 h before the clock: the AP deadline is 28 November 2026 10:00 UTC
    clock.advance(timedelta(hours=46.5))
    send_all(kluis)
    ref = reference(breach.id)
    dutch, english = _mail_to(catcher, DUTCH_DPO), _mail_to(catcher, ENGLISH_DPO)
    assert dutch.subject == f"Kluis: de meldtermijn van datalek {ref} verstrijkt binnen 24 uur"
    assert f"De termijn om datalek {ref} bij de Autoriteit Persoonsgegevens te melden verstrijkt binnen 24 uur." \
        in dutch.text
    assert "Meldtermijn (72 uur na ontdekking): 28 november 2026 11:00 CET (nog 23 u 30 min)." in dutch.text
    assert "Besluit over het risico en leg de melding vast in de console:" in dutch.text
    assert '<html lang="nl">' in dutch.html and "Openen in de console" in dutch.html
    assert "<strong>28 november 2026 11:00 CET</strong>" in dutch.html
    assert "deadline" not in dutch.text.lower() and "Dit bericht is verstuurd door benVitaal." in dutch.text
    assert english.subject == f"Kluis: the AP deadline of breach {ref} is due within 24 hours"
    assert "Deadline (72 hours after awareness): 28 November 2026 11:00 CET (23 h 30 min left)." in english.text
    assert '<html lang="en">' in english.html and f"/console/breaches/{breach.id}" in english.text
    catcher.clear()
    clock.advance(timedelta(hours=25))  # passed
    send_all(kluis)
    assert "is verstreken en de AP is niet ingelicht" in _mail_to(catcher, DUTCH_DPO).subject
    assert "(1 u 30 min geleden verstreken)" in _mail_to(catcher, DUTCH_DPO).text
    assert "has passed and the AP has not been notified" in _mail_to(catcher, ENGLISH_DPO).subject


def _ending(policy: Policy, processor_id: str, ends: date) -> Policy:
    agreement = Agreement(reference="VWO-T-9", signed=date(2024, 1, 1), ends=ends)
    return policy.model_copy(update={"processors": [p.model_copy(update={"agreement": agreement})
                                                    if p.id == processor_id else p for p in policy.processors]})


def test_r_shr_2_issue_19_the_agreement_reminder_is_in_each_dpos_language_with_its_dates(kluis, clock, catcher):
    _two_dpos(kluis)
    kluis.policy = _ending(kluis.policy, "hosting", date(2027, 3, 31))
    clock.set(datetime(2027, 1, 29, 23, 0, tzinfo=UTC))  # 30 January in Amsterdam: 60 days left
    send_all(kluis)
    dutch, english = _mail_to(catcher, DUTCH_DPO), _mail_to(catcher, ENGLISH_DPO)
    assert dutch.subject == "Kluis: de verwerkersovereenkomst met Datacenter Zuid B.V. loopt af op 31 maart 2027"
    assert ("De verwerkersovereenkomst VWO-T-9 met Datacenter Zuid B.V. (Hosting van de platforms en databases van "
            "benVitaal) loopt af op 31 maart 2027, over 60 dagen.") in dutch.text
    assert "Vanaf de dag erna deelt Kluis geen persoonsgegevens meer met deze verwerker." in dutch.text
    assert "Overeenkomsten in de console: https://kluis.benvitaal.test/console/processors" in dutch.text
    assert "loopt af op <strong>31 maart 2027</strong>, over 60 dagen." in dutch.html
    assert english.subject == "Kluis: the data-processing agreement with Datacenter Zuid B.V. ends on 31 March 2027"
    assert ("The data-processing agreement VWO-T-9 with Datacenter Zuid B.V. (Hosting of benVitaal's platforms and "
            "databases) ends on 31 March 2027, in 60 days.") in english.text


def test_r_gov_2_issue_19_the_complaint_reminder_is_in_the_handlers_and_each_dpos_language(kluis, clock, catcher):
    _two_dpos(kluis)
    handler = _member(kluis, "behandelaar@benvitaal.nl", role="support", language="nl")
    person_id, _ = new_person(kluis)
    with kluis.db.transaction() as session:
        complaints = Complaints(session, kluis, "test")
        complaint = complaints.register_by_staff("Ik klaag over de trage afhandeling.",
                                                 clock.now() - timedelta(hours=1), "Telefoon 12:00",
                                                 person_id=person_id)
        dpo = service.find_account(session, kluis.keys, DUTCH_DPO)
        complaints.assign(complaint.id, service.SignedIn(dpo.id, "dpo", "-", datetime(2030, 1, 1, tzinfo=UTC)),
                          uuid.UUID(handler.id))
    send_all(kluis)
    catcher.clear()
    clock.set(datetime(2026, 12, 17, 9, 0, tzinfo=AMSTERDAM))  # 6 days before the deadline, 23 December
    send_all(kluis)
    assert sorted(m.to[0] for m in catcher.messages) == sorted([DUTCH_DPO, ENGLISH_DPO, handler.email])
    for address in (DUTCH_DPO, handler.email):
        dutch = _mail_to(catcher, address)
        assert dutch.subject.startswith("Kluis: de termijn van klacht ") and "7 dagen of minder af" in dutch.subject
        assert "loopt over 7 dagen of minder af." in dutch.text and "Uiterlijk antwoord op: 23 dec 2026" in dutch.text
        assert "Openen in de console: https://kluis.benvitaal.test/console/complaints/" in dutch.text
    english = _mail_to(catcher, ENGLISH_DPO)
    assert "is due in 7 days or less" in english.subject and "Answer by: 2026-12-23" in english.text


def test_r_dsr_2_issue_19_the_request_reminder_and_overdue_notice_are_in_each_dpos_language(kluis, clock, catcher):
    _two_dpos(kluis)
    person_id, _ = new_person(kluis)
    with kluis.db.transaction() as session:
        Rights(session, kluis, "test").receive_from_account(person_id, "rectification", "en")
    send_all(kluis)
    catcher.clear()
    clock.advance(timedelta(days=25))  # the deadline is a month after receipt: 7 days or less left
    send_all(kluis)
    assert "Termijn verzoek" in _mail_to(catcher, DUTCH_DPO).subject
    assert "(rectificatie) loopt over 7 dagen of minder af." in _mail_to(catcher, DUTCH_DPO).text
    assert "Deadline of request" in _mail_to(catcher, ENGLISH_DPO).subject
    catcher.clear()
    clock.set(datetime(2026, 12, 27, 12, 0, tzinfo=UTC))  # the deadline, 25 December, has passed
    send_all(kluis)
    dutch, english = _mail_to(catcher, DUTCH_DPO), _mail_to(catcher, ENGLISH_DPO)
    assert dutch.subject.endswith("is 2 dagen te laat")
    assert "(rectificatie) is verstreken en het verzoek staat nog open." in dutch.text
    assert "De uiterste antwoorddatum was: 25 dec 2026" in dutch.text and "Te laat: 2 kalenderdagen" in dutch.text
    assert english.subject.endswith("is overdue by 2 days") and "Answer was due by: 2026-12-25" in english.text


def test_r_gate_2_issue_19_a_staff_member_without_a_choice_gets_the_deployments_staff_language(
        kluis, clock, catcher, settings):
    _member(kluis, "nog.niet.gekozen@benvitaal.nl")
    report(kluis)
    clock.advance(timedelta(hours=46.5))
    send_all(kluis)
    assert "is due within 24 hours" in catcher.messages[0].subject  # KLUIS_STAFF_LANGUAGE's default: English
    catcher.clear()
    kluis.settings = settings.model_copy(update={"staff_language": "nl"})
    report(kluis)
    clock.advance(timedelta(hours=46.5))
    send_all(kluis)
    assert [m.subject for m in catcher.messages if "datalek" in m.subject and "24 uur" in m.subject]


# --- the console's switch and the sign-in -----------------------------------------------------------------------


def test_r_gate_2_issue_19_the_switch_stores_the_signed_in_members_choice_audited_once(
        kluis, client, sign_in):
    member = _member(kluis, "support.medewerker@benvitaal.nl", role="support")
    anonymous = client.get("/console/language/nl", follow_redirects=False)  # not signed in: only the cookie
    assert anonymous.status_code == 303 and anonymous.headers["set-cookie"].startswith(f"{LANGUAGE_COOKIE}=nl;")
    assert _stored(kluis, member.email) is None
    client.cookies.clear()
    sign_in(member)
    client.get("/console/language/nl", follow_redirects=False)
    assert _stored(kluis, member.email) == "nl"
    client.get("/console/language/nl", follow_redirects=False)  # the same choice again writes nothing
    client.get("/console/language/en", follow_redirects=False)
    assert _stored(kluis, member.email) == "en"
    events = _events(kluis, "staff.language_set")
    assert [e.details for e in events] == [{"language": "nl"}, {"language": "en"}]
    assert {e.actor for e in events} == {f"staff:{member.id}"}
    assert client.get("/console/language/de", follow_redirects=False).status_code == 404
    assert _stored(kluis, member.email) == "en" and len(_events(kluis, "staff.language_set")) == 2


def test_r_gate_2_issue_19_sign_in_on_another_browser_starts_in_the_stored_language(
        kluis, client, clock, try_login):
    member = _member(kluis, "fg@benvitaal.nl", language="nl")
    done = try_login(member.email, member.password, member.code(clock))
    assert done.status_code == 303
    cookies = done.headers.get_list("set-cookie")
    assert any(c.startswith(f"{LANGUAGE_COOKIE}=nl;") and "Path=/console" in c for c in cookies), cookies
    page = client.get("/console", headers={"Accept-Language": "en"})
    assert '<html lang="nl">' in page.text and "Uitloggen" in page.text
    # A browser that chose already keeps its choice for this session; what is stored does not change.
    client.cookies.clear()
    client.cookies.set(LANGUAGE_COOKIE, "en", path="/console")
    clock.advance(timedelta(seconds=31))
    again = try_login(member.email, member.password, member.code(clock))
    assert not any(c.startswith(f"{LANGUAGE_COOKIE}=") for c in again.headers.get_list("set-cookie"))
    assert '<html lang="en">' in client.get("/console").text and _stored(kluis, member.email) == "nl"


def test_r_gate_2_issue_19_without_a_stored_language_sign_in_sets_no_language_cookie(kluis, clock, try_login):
    member = _member(kluis, "support@benvitaal.nl", role="support")
    done = try_login(member.email, member.password, member.code(clock))
    assert done.status_code == 303
    assert not any(c.startswith(f"{LANGUAGE_COOKIE}=") for c in done.headers.get_list("set-cookie"))


# --- the CLI and bad values ---------------------------------------------------------------------------------------


@pytest.fixture
def cli(kluis: Kluis, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setattr(commands, "get_kluis", lambda: kluis)
    return runner


def test_r_gate_2_issue_19_the_cli_sets_the_language_on_add_and_after(kluis, cli):
    added = cli.invoke(commands.app, ["add", "Petra.Bakker@benvitaal.nl", "--role", "dpo", "--language", "nl"])
    assert added.exit_code == 0, added.output
    assert _stored(kluis, "petra.bakker@benvitaal.nl") == "nl"
    changed = cli.invoke(commands.app, ["language", "petra.bakker@benvitaal.nl", "EN"])
    assert changed.exit_code == 0 and changed.output.strip().endswith(": en.")
    assert _stored(kluis, "petra.bakker@benvitaal.nl") == "en"
    assert "(unchanged)" in cli.invoke(commands.app, ["language", "petra.bakker@benvitaal.nl", "en"]).output
    listed = cli.invoke(commands.app, ["list"]).output
    assert "language" in listed.splitlines()[0] and " en" in listed.splitlines()[1]
    assert [e.details for e in _events(kluis, "staff.language_set")] == [{"language": "en"}]
    assert _events(kluis, "staff.added")[0].details == {"role": "dpo", "language": "nl"}


@pytest.mark.parametrize("value", ["de", "", "nederlands", "nl-NL"])
def test_r_gate_2_issue_19_a_bad_language_is_refused_clearly_and_nothing_is_written(kluis, cli, value):
    cli.invoke(commands.app, ["add", "kees@benvitaal.nl", "--role", "support", "--language", "en"])
    before = len(_events(kluis, "staff.added")), len(_events(kluis, "staff.language_set"))
    refused = cli.invoke(commands.app, ["language", "kees@benvitaal.nl", value])
    assert refused.exit_code == 1
    assert f"error: unknown language {value!r}: give nl (Dutch) or en (English)" in refused.output
    new = cli.invoke(commands.app, ["add", "nieuw@benvitaal.nl", "--role", "support", "--language", value])
    assert new.exit_code == 1 and "unknown language" in new.output
    with kluis.db.sessions() as session:
        assert [a.language for a in session.scalars(select(StaffAccount))] == ["en"]
    assert (len(_events(kluis, "staff.added")), len(_events(kluis, "staff.language_set"))) == before
    with pytest.raises(Invalid) as raised, kluis.db.transaction() as session:
        service.set_language(session, kluis.clock, service.find_account(session, kluis.keys, "kees@benvitaal.nl"),
                             value, actor="test")
    assert raised.value.code == "language_invalid"


def test_r_gate_2_issue_19_the_database_refuses_a_language_that_is_not_nl_or_en(kluis):
    _member(kluis, "x@benvitaal.nl")
    with pytest.raises(Exception, match="(?i)check|constraint"), kluis.db.transaction() as session:
        session.execute(StaffAccount.__table__.update().values(language="de"))


# --- the migration ------------------------------------------------------------------------------------------------


@pytest.mark.plain_schema
def test_r_gate_2_issue_19_migration_0035_goes_down_and_up_to_the_models(kluis: Kluis) -> None:
    """Migration 0035_staff_language adds the checked, nullable column exactly as the model declares it, keeps the
    accounts, and goes down again."""
    _member(kluis, "blijft@benvitaal.nl", language="nl")
    with kluis.db.engine.begin() as conn:
        config = alembic_config(kluis.db.url, "data")
        config.attributes["connection"] = conn
        command.downgrade(config, "0034_record_due_walk")
        assert "language" not in {c["name"] for c in inspect(conn).get_columns("staff_account")}
        command.upgrade(config, "head")
        assert "language" in {c["name"] for c in inspect(conn).get_columns("staff_account")}
    assert schema.differences(kluis.db) == []
    assert _stored(kluis, "blijft@benvitaal.nl") is None  # the account stays; its choice is asked anew
