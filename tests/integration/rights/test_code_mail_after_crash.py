"""R-DSR-1 (issue 18 §4): the request form's code mail survives a process that dies right after answering. The
answer's transaction writes the code's mail, held and sealed to the address given; the page's background task
decides after the answer whom it goes to. When that task never runs, the worker does it: the code goes out, the
person confirms the request, and nothing is done twice however the page and the worker meet. Real SMTP on
loopback."""

from __future__ import annotations

from sqlalchemy import select
from tests.forms import form_token
from tests.integration.crash_support import (
    a_late_page_addresses_nothing_again,
    addressed,
    answer_then_die,
    mails,
    the_worker_addresses_them,
)
from tests.integration.rights import rights_support
from tests.integration.rights.rights_support import new_person

from kluis.rights.models import DataSubjectRequest

KNOWN, UNKNOWN = "vrager@example.nl", "niemand@example.nl"

catcher, settings = rights_support.catcher, rights_support.settings  # the fixtures: real SMTP on loopback


def _ask(client, email):
    """The request form posted, and the server killed once its answer has left: the verify page's address."""
    status, headers = answer_then_die(client, "/privacy-centre/request",
                                      {"type": "access", "email": email, "lang": "nl", "csrf": form_token(client)})
    assert status == 303
    return headers["location"][0]


def _code(message):
    return next(line.strip() for line in message.text.splitlines() if line.strip().isdigit())


def test_r_dsr_1_the_worker_sends_the_code_a_killed_server_never_got_to_and_the_request_goes_on(
        client, kluis, catcher):
    new_person(kluis, KNOWN)
    verify_known, _ = _ask(client, KNOWN), _ask(client, UNKNOWN)
    with kluis.db.sessions() as session:  # both answers wrote their code's mail, to nobody yet
        assert [r.claimed_person_id for r in session.scalars(select(DataSubjectRequest))] == [None, None]
    the_worker_addresses_them(kluis, catcher, KNOWN)

    code = client.post(verify_known.replace("/verify", "/code"),
                       data={"code": _code(catcher.messages[0]), "csrf": form_token(client, verify_known)},
                       follow_redirects=False)
    assert code.status_code == 303
    with kluis.db.sessions() as session:
        assert sorted(r.state for r in session.scalars(select(DataSubjectRequest))) == ["received", "verified"]
    assert sorted(m.state for m in mails(kluis) if m.template == "rights_code") == ["cancelled", "sent"]


def test_r_dsr_1_the_page_and_the_worker_address_a_code_once_whichever_runs_first(client, kluis, catcher):
    """The page's task first, then the worker; and the worker first (the page died), then a page's task late."""
    new_person(kluis, KNOWN)
    submitted = client.post("/privacy-centre/request", follow_redirects=False,  # the page's task runs
                            data={"type": "access", "email": KNOWN, "lang": "nl", "csrf": form_token(client)})
    assert submitted.status_code == 303 and addressed(kluis) == 1
    a_late_page_addresses_nothing_again(kluis, lambda: _ask(client, KNOWN))  # the next one's page dies
    assert [m.to for m in catcher.messages] == [(KNOWN,), (KNOWN,)]  # one code mail per request
