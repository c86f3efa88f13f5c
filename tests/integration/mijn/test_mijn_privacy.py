"""Mijn privacy signed in (R-DSR-1, R-DSR-3, R-DSR-5, R-DSR-7, R-SHR-1, R-CONS-2, R-CONS-3, R-CONS-4, R-GOV-2): the
person's own data
by category with where it came from, why, on which basis and until when, who received it, a timeline without staff;
corrections with Art. 19 notices, marketing and profiling preferences, requests without a second verification,
packages and complaints. One person's session never reaches another's data; a post without the session's form
token writes nothing. Real SMTP on loopback; SQLite and PostgreSQL."""

from __future__ import annotations

import io
import zipfile

import pytest
from sqlalchemy import func, select
from tests.integration.mijn.mijn_support import PAGE, session_token, sign_in
from tests.integration.rights.rights_support import (
    catcher_fixture,
    log_disclosures,
    mail_settings,
    new_person,
    send_all,
)

from kluis.audit.models import AuditEvent
from kluis.complaints.models import Complaint
from kluis.consent.models import ConsentEvent
from kluis.disclosures.models import PartyNotice
from kluis.gate.models import Objection
from kluis.rights.models import AccessPackage, DataSubjectRequest, Rectification
from kluis.vault.schemas import RecordIn

MINE, THEIRS = "ik@example.nl", "ander@example.nl"


@pytest.fixture
def catcher():
    yield from catcher_fixture()


@pytest.fixture
def settings(settings, catcher):
    return mail_settings(settings, catcher)


def person_with_data(kluis, email, name):
    person_id, _ = new_person(kluis, email)
    with kluis.db.transaction() as session:
        [record] = kluis.vault(session, "staff:1").add_records(person_id, [RecordIn(
            category="basic", purposes=["accounts"], legal_basis="contract", source="direct",
            content={"name": name, "phone": "+31 6 1234 5678"})])
    log_disclosures(kluis, person_id, {"recipient:group_companies": ["basic"]}, reference="SHIP")
    return person_id, record


def post(client, path, page, **data):
    return client.post(f"{PAGE}{path}", data={**data, "csrf": session_token(page.text)}, follow_redirects=False)


def test_r_dsr_3_person_sees_own_data_with_source_purpose_basis_due_day_and_recipients_in_nl_and_en(
        client, kluis, catcher):
    person_with_data(kluis, MINE, "Joep Hermans")
    nl = sign_in(client, kluis, catcher, MINE)
    assert nl.status_code == 200 and '<html lang="nl">' in nl.text
    for shown in ("Joep Hermans", "Persoonlijke basisinformatie", "Rechtstreeks van u", "Overeenkomst met u",
                  "Bewaard tot", "Gedeeld met", "Verzameld: Persoonlijke basisinformatie"):
        assert shown in nl.text, shown
    assert "staff:1" not in nl.text and "test" not in nl.text.split("<main")[1].split("</main>")[0]
    en = client.get(f"{PAGE}?lang=en")
    for shown in ("Joep Hermans", "Basic personal information", "Contract with you", "Kept until",
                  "Who received your data", "Shared with"):
        assert shown in en.text, shown
    with kluis.db.sessions() as session:
        reads = session.scalars(select(AuditEvent).where(AuditEvent.action == "records.read")
                                .order_by(AuditEvent.seq)).all()
    assert reads and all(e.details["purpose"] == "support" and "Joep" not in str(e.details) for e in reads)


def test_r_dsr_3_gate_refusal_hides_the_data_and_is_audited(client, kluis, catcher):
    person_id, record = person_with_data(kluis, MINE, "Joep Hermans")
    with kluis.db.transaction() as session:
        kluis.gate(session, "staff:1").restrict(person_id, "accuracy_contested", "person")
    page = sign_in(client, kluis, catcher, MINE)
    assert "Joep Hermans" not in page.text and "beperkt" in page.text
    assert post(client, f"/records/{record}", page, **{"field.name": "X"}).status_code == 303
    with kluis.db.sessions() as session:
        assert session.scalar(select(func.count()).select_from(AuditEvent)
                              .where(AuditEvent.action == "processing.refused")) == 2
        assert session.scalar(select(func.count()).select_from(Rectification)) == 0


def test_r_dsr_5_correction_of_a_self_editable_field_tells_the_recipients(client, kluis, catcher):
    person_id, record = person_with_data(kluis, MINE, "Joep Hermans")
    page = sign_in(client, kluis, catcher, MINE)
    done = post(client, f"/records/{record}", page, **{"field.name": "Joep Hermans-Smeets",
                                                       "field.phone": "+31 6 1234 5678"})
    assert done.status_code == 303
    after = client.get(done.headers["location"])
    assert "Joep Hermans-Smeets" in after.text and "Uw correctie is opgeslagen" in after.text
    with kluis.db.sessions() as session:
        fixed = session.scalars(select(Rectification)).one()
        assert (fixed.person_id, fixed.fields, fixed.by) == (person_id, ["name"], "person")
        assert session.scalars(select(PartyNotice)).one().party == "recipient:group_companies"


def test_r_dsr_5_a_field_not_self_editable_is_refused_and_nothing_changes(client, kluis, catcher):
    _, record = person_with_data(kluis, MINE, "Joep Hermans")
    page = sign_in(client, kluis, catcher, MINE)
    refused = post(client, f"/records/{record}", page, **{"field.login": "ander"})
    assert refused.status_code == 403 and "vraag een correctie aan" in refused.text
    with kluis.db.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Rectification)) == 0


def test_r_dsr_3_one_persons_session_never_reaches_anothers_record_request_or_package(client, kluis, catcher):
    _, theirs = person_with_data(kluis, THEIRS, "Anna Ander")
    other_id, _ = new_person(kluis, "derde@example.nl")
    person_with_data(kluis, MINE, "Joep Hermans")
    with kluis.db.transaction() as session:
        from kluis.rights.service import Rights

        Rights(session, kluis, "person").receive_from_account(other_id, "access", "nl")
    send_all(kluis)  # builds the other person's package
    with kluis.db.sessions() as session:
        package = session.scalars(select(AccessPackage)).one()
    page = sign_in(client, kluis, catcher, MINE)
    assert "Anna Ander" not in page.text and "DSR-" not in page.text
    assert post(client, f"/records/{theirs}", page, **{"field.name": "Overgenomen"}).status_code == 404
    assert client.get(f"{PAGE}/packages/{package.id}/download").status_code == 404
    with kluis.db.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Rectification)) == 0
        assert session.get(AccessPackage, package.id).downloads == 0


def test_r_dsr_1_a_post_without_the_sessions_form_token_writes_nothing(client, kluis, catcher):
    _, record = person_with_data(kluis, MINE, "Joep Hermans")
    sign_in(client, kluis, catcher, MINE)
    forged = [client.post(f"{PAGE}{path}", data={"csrf": "forged", **data}, follow_redirects=False)
              for path, data in ((f"/records/{record}", {"field.name": "X"}), ("/marketing", {"choice": "subscribe"}),
                                 ("/profiling", {"choice": "object"}), ("/requests", {"type": "erasure"}),
                                 ("/complaints", {"text": "Klacht"}), ("/sign-out", {}))]
    assert {r.status_code for r in forged} == {403}
    with kluis.db.sessions() as session:
        for model in (Rectification, DataSubjectRequest, Complaint, Objection, ConsentEvent):
            assert session.scalar(select(func.count()).select_from(model)) == 0, model
    assert "Uitloggen" in client.get(PAGE).text  # still signed in: the forged sign-out did nothing


def test_r_cons_2_marketing_subscription_by_double_opt_in_and_unsubscribe_route_account(client, kluis, catcher):
    person_id, _ = person_with_data(kluis, MINE, "Joep Hermans")
    page = sign_in(client, kluis, catcher, MINE)
    assert post(client, "/marketing", page, choice="subscribe").status_code == 303
    send_all(kluis)
    assert "/marketing/confirm" in catcher.messages[-1].text
    with kluis.db.transaction() as session:
        kluis.consents(session, "test").give(person_id, "marketing_email", method="email_confirmation",
                                             notice_text="Ja", lang="nl")
    page = client.get(PAGE)
    assert "U ontvangt marketing-e-mail van benVitaal." in page.text
    assert post(client, "/marketing", page, choice="unsubscribe").status_code == 303
    with kluis.db.sessions() as session:
        last = session.scalars(select(ConsentEvent).order_by(ConsentEvent.seq.desc())).first()
    assert (last.action, last.method) == ("withdrawn", "account")
    assert "U ontvangt geen marketing-e-mail" in client.get(PAGE).text


def test_r_dsr_7_r_cons_3_profiling_objection_and_its_withdrawal_by_the_person(client, kluis, catcher):
    person_id, _ = person_with_data(kluis, MINE, "Joep Hermans")
    page = sign_in(client, kluis, catcher, MINE)
    assert post(client, "/profiling", page, choice="object").status_code == 303
    with kluis.db.transaction() as session:
        objection = session.scalars(select(Objection)).one()
        assert (objection.person_id, objection.scope, objection.on_behalf_of) == (person_id, "profiling", "person")
        assert not kluis.gate(session, "test").decide(person_id, "profiling").allowed
    page = client.get(PAGE)
    assert "Bezwaar vastgelegd: Profilering" in page.text
    assert post(client, "/profiling", page, choice="withdraw").status_code == 303
    with kluis.db.sessions() as session:
        assert session.scalars(select(Objection)).one().lifted_by == "person"


def test_r_dsr_1_request_started_signed_in_is_verified_at_once_and_followed_with_its_package(
        client, kluis, catcher):
    person_id, _ = person_with_data(kluis, MINE, "Joep Hermans")
    page = sign_in(client, kluis, catcher, MINE, lang="en")
    made = client.post(f"{PAGE}/requests?lang=en", data={"type": "access", "csrf": session_token(page.text)},
                       follow_redirects=False)
    assert made.status_code == 303
    with kluis.db.sessions() as session:
        request = session.scalars(select(DataSubjectRequest)).one()
    assert (request.person_id, request.channel, request.verified_by) == (person_id, "account", "account")
    send_all(kluis)  # the worker builds the package
    page = client.get(f"{PAGE}?lang=en")
    assert "Access to my data" in page.text and "Download your data" in page.text
    package_id = page.text.split(f"{PAGE}/packages/")[1].split("/")[0]
    download = client.get(f"{PAGE}/packages/{package_id}/download")
    assert download.status_code == 200 and download.headers["content-type"] == "application/zip"
    assert "manifest.json" in zipfile.ZipFile(io.BytesIO(download.content)).namelist()
    with kluis.db.sessions() as session:
        assert session.scalar(select(func.count()).select_from(AuditEvent)
                              .where(AuditEvent.action == "package.downloaded")) == 1


def test_r_gov_2_complaint_filed_signed_in_is_open_and_listed(client, kluis, catcher):
    person_id, _ = person_with_data(kluis, MINE, "Joep Hermans")
    page = sign_in(client, kluis, catcher, MINE)
    assert post(client, "/complaints", page, text="U deelde mijn gegevens zonder het te zeggen.").status_code == 303
    with kluis.db.sessions() as session:
        complaint = session.scalars(select(Complaint)).one()
    assert (complaint.person_id, complaint.state, complaint.channel) == (person_id, "open", "account")
    assert "Klacht ontvangen" in client.get(PAGE).text
    empty = post(client, "/complaints", client.get(PAGE), text="   ")
    assert empty.status_code == 422 and "Schrijf uw klacht" in empty.text


def test_r_cons_4_cookie_choice_of_the_site_kluis_serves_is_shown_and_changed_with_a_receipt(client, kluis, catcher):
    from kluis.consent.cookies.models import CookieReceipt

    person_with_data(kluis, MINE, "Joep Hermans")
    page = sign_in(client, kluis, catcher, MINE)
    assert "Cookie-instellingen" in page.text  # a site on another domain: where to change it
    visitor = "A" * 22
    client.cookies.set("kluis_consent", f"1|{visitor}|", domain="testserver.local", path="/")  # as the banner
    page = client.get(PAGE)
    assert 'name="cookie.analytics"' in page.text
    changed = post(client, "/cookies", page, **{"cookie.analytics": "1"})
    assert changed.status_code == 303
    written = next(h for h in changed.headers.get_list("set-cookie") if h.startswith("kluis_consent="))
    assert f"1|{visitor}|*:" in written and ":necessary+analytics:" in written and "HttpOnly" not in written
    with kluis.db.sessions() as session:
        receipt = session.scalars(select(CookieReceipt)).one()
    assert (receipt.site, receipt.scope, receipt.granted, receipt.refused) == (
        "kluis-demo", "site", ["necessary", "analytics"], ["marketing"])
    shown = client.get(PAGE)
    assert 'id="cookie-analytics" name="cookie.analytics" value="1" checked' in shown.text
    assert 'id="cookie-marketing" name="cookie.marketing" value="1">' in shown.text
