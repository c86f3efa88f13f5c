"""Receipt dates that staff type are checked before anything is computed from them: with a zone, not before
2000-01-01, not in the future; a clear error and nothing written (R-DSR-1, R-GOV-2)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from tests.integration.complaints.complaint_support import csrf as complaint_csrf
from tests.integration.complaints.complaint_support import sign_in
from tests.integration.rights.test_rights_console import csrf, signed_in

from kluis.complaints.models import Complaint
from kluis.orders.models import AuthorityRefusal
from kluis.rights.models import DataSubjectRequest

OUT_OF_RANGE = [("0001-01-01", "00:00", "before 2000-01-01"), ("1969-12-31", "23:30", "before 2000-01-01"),
                ("1999-12-31", "23:59", "before 2000-01-01"), ("9999-12-31", "23:59", "future")]


def _count(kluis, model):
    with kluis.db.sessions() as session:
        return session.scalar(select(func.count()).select_from(model))


@pytest.mark.parametrize(("day", "at", "said"), OUT_OF_RANGE)
def test_r_dsr_1_staff_receipt_date_out_of_range_is_refused_clearly(client, kluis, clock, day, at, said):
    signed_in(client, kluis, clock, "support")
    made = client.post("/console/requests", data={"csrf": csrf(client), "type": "access", "received_on": day,
                                                  "received_time": at, "reference": "brief 3"})
    assert made.status_code == 422 and said in made.text and "text/html" in made.headers["content-type"]
    assert _count(kluis, DataSubjectRequest) == 0
    early = client.post("/console/requests", data={"csrf": csrf(client), "type": "access",
                                                   "received_on": "2000-01-01", "received_time": "01:00",
                                                   "reference": "brief 4"}, follow_redirects=False)
    assert early.status_code == 303  # midnight UTC at the start of 2000 is within range


@pytest.mark.parametrize(("day", "at", "said"), OUT_OF_RANGE)
def test_r_gov_2_staff_complaint_receipt_out_of_range_is_refused_clearly(client, kluis, clock, day, at, said):
    sign_in(client, kluis, clock, "support", email="balie@benvitaal.nl")
    made = client.post("/console/complaints", data={
        "csrf": complaint_csrf(client, "/console/complaints/new"), "text": "Ik klaag.", "received_on": day,
        "received_time": at, "reference": "brief 5"})
    assert made.status_code == 422 and said in made.text
    assert _count(kluis, Complaint) == 0


def test_r_gov_2_an_informal_request_asked_before_2000_is_refused_clearly(client, kluis, clock):
    sign_in(client, kluis, clock, "dpo", email="fg@benvitaal.nl")
    noted = client.post("/console/orders/refusals", data={
        "csrf": complaint_csrf(client, "/console/orders"), "authority": "Politie", "asked_on": "0001-01-01",
        "asked_time": "00:00", "answer": "Geen bevel, geen gegevens."})
    assert noted.status_code == 422 and "before 2000-01-01" in noted.text
    assert _count(kluis, AuthorityRefusal) == 0


@pytest.mark.parametrize(("path", "form", "model"), [
    ("/console/requests", {"type": "access", "reference": "brief 6"}, DataSubjectRequest),
    ("/console/complaints", {"text": "Ik klaag.", "reference": "brief 7"}, Complaint),
])
def test_r_dsr_1_r_gov_2_a_receipt_in_the_hour_the_clocks_repeat_or_skip_is_refused(client, kluis, clock, path,
                                                                                  form, model):
    """Staff type Amsterdam clock time: 02:30 on 25 Oct 2026 happened twice and 02:30 on 28 Mar 2027 never, so
    a deadline counted from either would be a guess; both are refused with the reason, and nothing is written."""
    clock.set(clock.now().replace(year=2027, month=6, day=1))  # both days lie in the past
    sign_in(client, kluis, clock, "dpo", email="fg@benvitaal.nl")
    for day, said in (("2026-10-25", "happened twice"), ("2027-03-28", "did not happen")):
        token = complaint_csrf(client, "/console/complaints/new" if model is Complaint else "/console/requests")
        made = client.post(path, data=form | {"csrf": token, "received_on": day, "received_time": "02:30"})
        assert made.status_code == 422 and said in made.text
    assert _count(kluis, model) == 0
