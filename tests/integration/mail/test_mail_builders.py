"""Content decided at send time: cancellation by a builder, erased people, marketing headers
(R-CONS-2: one-click opt-out in every marketing mail; SPEC §9 Mail)."""

from __future__ import annotations

from sqlalchemy import select

from kluis.audit.models import AuditEvent

NEWSLETTER = "test_newsletter"  # registered by conftest.py, builder and templates for the tests
ADDRESS = "kees.bakker@example.nl"


def newsletter(desk, person, **context):
    return desk.queue(person, template=NEWSLETTER, kind="marketing", list_id="benvitaal-nieuws",
                      context={"token": "s1gn3d-t0k3n", "one_click": True} | context)


def test_r_cons_2_a_builder_cancels_mail_of_someone_who_opted_out_after_it_was_queued(kluis, relay, desk,
                                                                                      opted_out):
    person = desk.add_person(ADDRESS)
    outbox_id = newsletter(desk, person)
    opted_out.add(person)
    assert desk.drain() == 1
    row = desk.row(outbox_id)
    assert (row.state, row.last_error) == ("cancelled", "opted_out")
    assert relay.received == [] and relay.transactions == 0
    with kluis.db.sessions() as session:
        event = session.scalars(select(AuditEvent).where(AuditEvent.action == "mail.cancelled")
                                .order_by(AuditEvent.seq)).one()
    assert event.object_ids == [str(outbox_id)] and event.details["reason"] == "opted_out"


def test_r_cons_2_administrative_mail_still_goes_after_a_marketing_opt_out(kluis, relay, desk, opted_out):
    person = desk.add_person(ADDRESS)
    opted_out.add(person)
    desk.queue(person, context={"notice": "preferences_changed"})
    desk.drain()
    assert [r.message["Subject"] for r in relay.received] == ["benVitaal: Uw voorkeuren zijn opgeslagen"]


def test_r_cons_2_mail_for_an_erased_person_is_cancelled_not_sent(kluis, relay, desk):
    person = desk.add_person(ADDRESS)
    outbox_id = desk.queue(person)
    with kluis.db.transaction() as session:
        kluis.vault(session, "test").shred([person], reason="erasure_request")
    desk.drain()
    assert (desk.row(outbox_id).state, desk.row(outbox_id).last_error) == ("cancelled", "person_erased")
    assert relay.received == []


def test_r_cons_2_a_person_without_an_address_fails_without_retries(kluis, relay, desk):
    outbox_id = desk.queue(desk.add_person(None))
    desk.drain()
    assert (desk.row(outbox_id).state, desk.row(outbox_id).last_error) == ("failed", "no_address")


def test_r_cons_2_marketing_mail_carries_rfc_8058_one_click_unsubscribe(kluis, relay, desk):
    newsletter(desk, desk.add_person(ADDRESS), one_click=True)
    desk.drain()
    [got] = relay.received
    assert got.message["List-Unsubscribe"] == ("<https://kluis.benvitaal.nl/u/s1gn3d-t0k3n>, "
                                               "<mailto:unsubscribe@benvitaal.nl>")
    assert got.message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert 'href="https://kluis.benvitaal.nl/u/s1gn3d-t0k3n"' in got.message.get_body(("html",)).get_content()


def test_r_cons_2_marketing_mail_without_one_click_unsubscribe_is_never_sent(kluis, relay, desk):
    outbox_id = newsletter(desk, desk.add_person(ADDRESS), one_click=False)
    desk.drain()
    assert (desk.row(outbox_id).state, desk.row(outbox_id).last_error) == ("failed", "unsubscribe_missing")
    assert relay.received == []
