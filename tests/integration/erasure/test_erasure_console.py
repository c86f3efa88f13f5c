"""Staff follow an erasure in the console and fetch its certificate (R-DSR-6); auditors may fetch the
certificate (no personal data in it) but not run jobs; CSRF and roles are checked."""

from __future__ import annotations

import pytest
from tests.integration.erasure.erasure_support import person_with_everything
from tests.integration.rights.test_rights_console import csrf, signed_in

from kluis.erasure import certificate
from kluis.erasure import service as erasure
from kluis.erasure.rules import Reason


@pytest.fixture
def waiting_job(kluis):
    person_id, _ = person_with_everything(kluis, claims=1)
    with kluis.db.transaction() as session:
        job_id = erasure.queue(session, kluis, person_id, Reason.STAFF, "test").id
    key = kluis.settings.certificate_key
    kluis.settings = kluis.settings.model_copy(update={"certificate_key": None})
    erasure.Runner(kluis, "test").run(job_id)
    kluis.settings = kluis.settings.model_copy(update={"certificate_key": key})
    return job_id


def test_staff_see_a_waiting_job_run_it_and_download_a_certificate_that_verifies_r_dsr_6(client, kluis, clock,
                                                                                       waiting_job):
    signed_in(client, kluis, clock, "support")
    listing = client.get("/console/erasure")
    assert listing.status_code == 200 and str(waiting_job) in listing.text and "KLUIS_CERTIFICATE_KEY" in listing.text
    page = f"/console/erasure/{waiting_job}"
    assert "financial" in client.get(page).text
    refused = client.post(page + "/retry", data={"csrf": "forged"})
    assert refused.status_code == 403
    assert client.get(page + "/certificate.json").status_code == 404
    done = client.post(page + "/retry", data={"csrf": csrf(client, page)})
    assert done.status_code == 200 and "Certificate (PDF)" in done.text
    text = client.get(page + "/certificate.json").text
    assert certificate.verify(text)["job_id"] == str(waiting_job)
    pdf = client.get(page + "/certificate.pdf")
    assert pdf.headers["content-type"] == "application/pdf"
    certificate.verify_pdf(pdf.content, text)
    assert client.get("/console/erasure/not-a-job").status_code == 404


def test_auditors_fetch_certificates_but_cannot_open_or_run_jobs_r_dsr_6(client, kluis, clock, waiting_job):
    erasure.Runner(kluis, "test").run(waiting_job)
    signed_in(client, kluis, clock, "auditor")
    assert client.get(f"/console/erasure/{waiting_job}/certificate.json").status_code == 200
    assert client.get("/console/erasure").status_code == 403
    assert client.post(f"/console/erasure/{waiting_job}/retry", data={"csrf": "x"}).status_code == 403
