"""The DPO places and releases legal holds in the console (R-RET-3); no other role may, and a hold placed
there stops the sweep like any other."""

from __future__ import annotations

import pytest
from tests.integration.retention.retention_support import ams, person, records_of
from tests.integration.rights.rights_support import catcher_fixture, mail_settings
from tests.integration.rights.test_rights_console import CSRF, PASSWORD, csrf, signed_in

from kluis.retention import service, sweep
from kluis.staff import service as staff_service


@pytest.fixture
def catcher():
    yield from catcher_fixture()


@pytest.fixture
def settings(settings, catcher):
    return mail_settings(settings, catcher)


def test_r_ret_3_the_dpo_places_and_releases_a_hold_in_the_console_and_it_stops_the_sweep(client, kluis, clock):
    clock.set(ams(2026, 1, 10, 9))
    pid, _ = person(kluis, "marketing", email="vastgehouden@example.nl")
    signed_in(client, kluis, clock, "dpo")
    page = client.get("/console/holds")
    assert page.status_code == 200 and "No active legal holds" in page.text and 'href="/console/holds"' in page.text
    bad = client.post("/console/holds", data={"csrf": csrf(client, "/console/holds"), "scope": "person",
                                              "person_id": "not-an-id", "reason": "litigation"})
    assert bad.status_code == 422 and "8-4-4-4-12" in bad.text
    placed = client.post("/console/holds", data={
        "csrf": csrf(client, "/console/holds"), "scope": "person", "person_id": str(pid), "reason": "litigation",
        "reference": "ZAAK-2026-17", "until": "2030-01-01"}, follow_redirects=False)
    assert placed.status_code == 303, placed.text
    listing = client.get("/console/holds").text
    assert "ZAAK-2026-17" in listing and str(pid) in listing and "2030-01-01 00:00:00 CET" in listing
    with kluis.db.sessions() as session:
        [hold] = service.held(session, clock, pid)
    no_csrf = client.post(f"/console/holds/{hold.id}/release", data={"csrf": "forged"})
    assert no_csrf.status_code == 403
    # Past the marketing contact's 36 months, the record is due; the hold keeps it.
    clock.set(ams(2029, 6, 1, 9))
    assert sweep.sweep(kluis).records == 0 and len(records_of(kluis, pid)) == 1
    _second_dpo(client, kluis, clock)  # the first session has long expired
    released = client.post(f"/console/holds/{hold.id}/release", data={"csrf": csrf(client, "/console/holds")},
                           follow_redirects=False)
    assert released.status_code == 303
    assert "No active legal holds" in client.get("/console/holds").text
    assert "released" in client.get("/console/holds?ended=true").text
    assert sweep.sweep(kluis).records == 1


@pytest.mark.parametrize("role", ["support", "marketing", "auditor"])
def test_r_ret_3_no_role_but_the_dpo_sees_or_places_holds(client, kluis, clock, role):
    pid, _ = person(kluis, "marketing", email="ander@example.nl")
    signed_in(client, kluis, clock, role)
    assert client.get("/console/holds").status_code == 403
    token = csrf(client, "/console")
    refused = client.post("/console/holds", data={"csrf": token, "scope": "person", "person_id": str(pid),
                                                  "reason": "litigation"})
    assert refused.status_code == 403
    with kluis.db.sessions() as session:
        assert service.held(session, clock, pid) == []


def _second_dpo(client, kluis, clock):
    import pyotp

    with kluis.db.transaction() as session:
        enrolment = staff_service.add_staff(session, clock, kluis.keys, "dpo2@benvitaal.nl", "dpo", PASSWORD)
    page = client.get("/console/login")
    done = client.post("/console/login", data={"email": "dpo2@benvitaal.nl", "password": PASSWORD,
                                               "csrf": CSRF.search(page.text)[1],
                                               "code": pyotp.TOTP(enrolment.totp_secret).at(clock.now())},
                       follow_redirects=False)
    assert done.status_code == 303
