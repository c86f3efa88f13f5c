"""R-DSR-1 (issue 18 §4): Mijn privacy's sign-in code survives a process that dies right after answering. The
answer's transaction writes the code's mail, held and sealed to the address given; when the page's background task
never runs, the worker decides whom it goes to: the code goes out, the browser signs in with it, and nothing is done
twice however the page and the worker meet. Real SMTP on loopback."""

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
from tests.integration.mijn.mijn_support import PAGE, ask_code, code_in, enter_code
from tests.integration.rights import rights_support
from tests.integration.rights.rights_support import new_person, send_all

from kluis.mijn import rules
from kluis.mijn.models import PersonSignIn
from kluis.mijn.views import CODE_COOKIE

KNOWN, UNKNOWN = "bekend@example.nl", "niemand@example.nl"

catcher, settings = rights_support.catcher, rights_support.settings  # the fixtures: real SMTP on loopback


def _ask(client, email):
    """The sign-in form posted, and the server killed once its answer has left; the browser keeps its code cookie."""
    status, headers = answer_then_die(client, f"{PAGE}/sign-in?lang=nl", {"email": email,
                                                                         "csrf": form_token(client, PAGE)})
    assert status == 303
    cookie = next(c for c in headers["set-cookie"] if c.startswith(f"{CODE_COOKIE}="))
    client.cookies.set(CODE_COOKIE, cookie.split(";")[0].split("=", 1)[1], path=PAGE)


def test_r_dsr_1_the_worker_sends_the_sign_in_code_a_killed_server_never_got_to_and_it_signs_in(
        client, kluis, catcher):
    new_person(kluis, KNOWN)
    _ask(client, UNKNOWN)
    _ask(client, KNOWN)  # this browser's newest sign-in
    the_worker_addresses_them(kluis, catcher, KNOWN)
    assert enter_code(client, code_in(catcher.messages[0])).status_code == 303
    assert "Sign out" in client.get(f"{PAGE}?lang=en").text
    with kluis.db.sessions() as session:
        assert sorted(str(s.person_id is not None) for s in session.scalars(select(PersonSignIn))) == [
            "False", "True"]


def test_r_dsr_1_the_page_and_the_worker_address_a_sign_in_code_once_whichever_runs_first(client, kluis, catcher):
    """The page's task first, then the worker; and the worker first (the page died), then a page's task late."""
    new_person(kluis, KNOWN)
    assert ask_code(client, KNOWN).status_code == 303 and addressed(kluis) == 1  # the page's task ran
    a_late_page_addresses_nothing_again(kluis, lambda: _ask(client, KNOWN))
    assert [m.to for m in catcher.messages] == [(KNOWN,), (KNOWN,)]  # one code mail per sign-in


def test_r_dsr_1_a_sign_in_code_that_lapsed_before_the_worker_ran_goes_to_nobody(client, kluis, catcher, clock):
    new_person(kluis, KNOWN)
    _ask(client, KNOWN)
    clock.advance(rules.CODE_LIFETIME)  # the server stayed down past the code's life
    send_all(kluis)
    assert catcher.messages == []
    assert [(m.state, m.last_error, m.sealed_to) for m in mails(kluis)] == [("cancelled", "code_expired", None)]
