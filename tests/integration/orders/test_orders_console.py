"""Authority orders in the staff console (R-SHR-3): record an order with its PDF, the recorder cannot approve
it, a second DPO approves and gets the export link once, downloads it; bad input writes nothing; informal
requests are refused and listed; roles without the permission see nothing."""

from __future__ import annotations

import io
import json
import re
import zipfile

import pyotp
import pytest
from tests.helpers import sealed_log
from tests.integration.orders.orders_support import counts, order_pdf
from tests.integration.retention.retention_support import ams, person
from tests.integration.rights.test_rights_console import CSRF, PASSWORD

from kluis.staff import service as staff_service

LINK = re.compile(r'href="(/console/orders/exports/[A-Za-z0-9_-]{64})"')


@pytest.fixture(autouse=True)
def _now(clock):
    clock.set(ams(2026, 11, 25, 10))


def sign_in(client, kluis, clock, role, email):
    with kluis.db.transaction() as session:
        enrolment = staff_service.add_staff(session, clock, kluis.keys, email, role, PASSWORD)
    client.cookies.clear()
    page = client.get("/console/login")
    done = client.post("/console/login", data={"email": email, "password": PASSWORD, "csrf": CSRF.search(page.text)[1],
                                               "code": pyotp.TOTP(enrolment.totp_secret).at(clock.now())},
                       follow_redirects=False)
    assert done.status_code == 303, done.text


def csrf(client, path="/console/orders"):
    return CSRF.search(client.get(path).text)[1]


def _form(client, pid, **changes):
    data = {"csrf": csrf(client, "/console/orders/new"), "authority": "recipient:authorities", "authority_name": "",
            "legal_basis": "art. 126nd Sv", "reference": "OM-2026-0042", "order_date": "2026-11-20",
            "person_ids": f"{pid}\n", "categories": ["basic"], "defer_until": ""}
    return data | changes


def test_r_shr_3_an_order_from_receipt_to_approved_disclosure_in_the_console(client, kluis, clock):
    pid, _ = person(kluis, "account", "marketing")
    sign_in(client, kluis, clock, "dpo", "dpo.een@benvitaal.nl")
    assert 'href="/console/orders"' in client.get("/console").text
    made = client.post("/console/orders", data=_form(client, pid),
                       files={"document": ("bevel.pdf", order_pdf(), "application/pdf")}, follow_redirects=False)
    assert made.status_code == 303, made.text
    order_path = made.headers["location"]
    page = client.get(order_path).text
    assert "art. 126nd Sv" in page and str(pid) in page and "second staff member" in page
    assert client.get(order_path + "/document").content == order_pdf()
    own = client.post(order_path + "/decision", data={"csrf": csrf(client, order_path), "decision": "approve",
                                                     "reasons": "echt bevel"})
    assert own.status_code == 403 and "second DPO" in own.text

    sign_in(client, kluis, clock, "dpo", "dpo.twee@benvitaal.nl")
    approved = client.post(order_path + "/decision", data={"csrf": csrf(client, order_path), "decision": "approve",
                                                          "reasons": "Bevel van de rechter-commissaris, gecontroleerd"})
    assert approved.status_code == 200 and "shown once" in approved.text
    link = LINK.search(approved.text)[1]
    assert LINK.search(client.get(order_path).text) is None  # never shown again
    download = client.get(link)
    assert download.status_code == 200 and download.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(download.content)) as zf:
        [record] = json.loads(zf.read(f"people/{pid}.json"))["records"]
    assert record["category"] == "basic"
    assert "Disclosed" in client.get(order_path).text
    assert client.get(link[:-4] + "AAAA").status_code == 404
    clock.advance(__import__("datetime").timedelta(days=8))
    sign_in(client, kluis, clock, "dpo", "dpo.drie@benvitaal.nl")
    assert client.get(link).status_code == 410
    # Deleting the order destroys its document's key; having disclosed data, it stays as the log's reference.
    assert "Delete the order" in client.get(order_path).text
    deleted = client.post(order_path + "/delete", data={"csrf": csrf(client, order_path)}, follow_redirects=False)
    assert deleted.status_code == 303 and deleted.headers["location"] == order_path
    page = client.get(order_path).text
    assert "Destroyed when the order was deleted" in page and "Delete the order" not in page
    assert "Produce a new export" not in page
    assert client.get(order_path + "/document").status_code == 410
    assert sealed_log(kluis).ok


def test_r_shr_3_support_may_not_delete_an_order_a_dpo_deletes_it_with_its_document(client, kluis, clock):
    pid, _ = person(kluis, "account")
    sign_in(client, kluis, clock, "support", "support.drie@benvitaal.nl")
    made = client.post("/console/orders", data=_form(client, pid),
                       files={"document": ("bevel.pdf", order_pdf(), "application/pdf")}, follow_redirects=False)
    order_path = made.headers["location"]
    assert "Delete the order" not in client.get(order_path).text
    refused = client.post(order_path + "/delete", data={"csrf": csrf(client, order_path)})
    assert refused.status_code == 403 and counts(kluis)["authority_order"] == 1
    sign_in(client, kluis, clock, "dpo", "dpo.vier@benvitaal.nl")
    deleted = client.post(order_path + "/delete", data={"csrf": csrf(client, order_path)}, follow_redirects=False)
    assert deleted.status_code == 303 and deleted.headers["location"] == "/console/orders"
    assert counts(kluis)["authority_order"] == 0 and client.get(order_path).status_code == 404


@pytest.mark.parametrize(("changes", "files", "message"), [
    ({}, None, "attach the order itself"),
    ({}, {"document": ("bevel.png", b"\x89PNG\r\n\x1a\n0000", "image/png")}, "not a PDF"),
    ({"defer_until": "2026-11-01"}, "pdf", "after the order"),
    ({"person_ids": "niet-een-id"}, "pdf", "not a person id"),
    ({"legal_basis": " "}, "pdf", "legal basis"),
])
def test_r_shr_3_bad_input_in_the_console_gets_a_clear_error_and_writes_nothing(client, kluis, clock, changes,
                                                                                files, message):
    pid, _ = person(kluis, "account")
    sign_in(client, kluis, clock, "support", "support.een@benvitaal.nl")
    form = _form(client, pid, **changes)
    before = counts(kluis)
    files = {"document": ("bevel.pdf", order_pdf(), "application/pdf")} if files == "pdf" else files
    refused = client.post("/console/orders", data=form, files=files or {"document": ("", b"", "application/pdf")})
    assert refused.status_code == 422 and message in refused.text, refused.text
    assert counts(kluis) == before


def test_r_shr_3_support_records_but_may_not_decide_and_informal_requests_are_refused_and_listed(client, kluis,
                                                                                                  clock):
    pid, _ = person(kluis, "account")
    sign_in(client, kluis, clock, "support", "support.twee@benvitaal.nl")
    made = client.post("/console/orders", data=_form(client, pid),
                       files={"document": ("bevel.pdf", order_pdf(), "application/pdf")}, follow_redirects=False)
    order_path = made.headers["location"]
    refused = client.post(order_path + "/decision", data={"csrf": csrf(client, order_path), "decision": "approve",
                                                         "reasons": "ok"})
    assert refused.status_code == 403 and "DPO role" in refused.text
    noted = client.post("/console/orders/refusals", data={
        "csrf": csrf(client), "authority": "Politie Midden-Nederland", "asked_on": "2026-11-24",
        "asked_time": "16:30", "answer": "Zonder schriftelijk bevel geen gegevens."}, follow_redirects=False)
    assert noted.status_code == 303
    listing = client.get("/console/orders").text
    assert "Politie Midden-Nederland" in listing and "2026-11-24 16:30:00 CET" in listing
    assert "Zonder schriftelijk" not in listing


@pytest.mark.parametrize("role", ["marketing", "auditor"])
def test_r_shr_3_roles_without_the_permission_see_no_orders(client, kluis, clock, role):
    sign_in(client, kluis, clock, role, f"{role}.een@benvitaal.nl")
    assert client.get("/console/orders").status_code == 403
    assert 'href="/console/orders"' not in client.get("/console").text
