"""R-DSR-1 (issue 19 §1, issue 18 §4): neither the work Mijn privacy's sign-in form does before it answers nor the
time it takes tells anything about whether the address is known, as ``tests.integration.timing_support`` describes
(the same checks as the request form's, ``tests/integration/rights/test_answer_timing.py``)."""

from __future__ import annotations

import urllib.parse

import pytest
from sqlalchemy import func, select
from tests.integration.rights.rights_support import new_person
from tests.integration.timing_support import answer_times, same_time, statements_before_answer

from kluis.app import create_app
from kluis.mail.models import Outbox
from kluis.mijn.models import PersonSignIn
from kluis.mijn.views import FORM

KNOWN, UNKNOWN = "bekend@example.nl", "onbekend@example.nl"
PATH = "/mijn-privacy/sign-in"


@pytest.fixture
def settings(settings):
    """Room for three rounds of timing (1,260 sign-ins from one client, 630 per address; the limits are
    tested elsewhere)."""
    return settings.model_copy(update={"intake_per_client": 2000, "intake_per_address": 1000})


def _count(kluis, model, *where) -> int:
    with kluis.db.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def test_r_dsr_1_mijn_privacy_sign_in_takes_as_long_for_a_known_and_an_unknown_address(kluis):
    new_person(kluis, email=KNOWN)
    nonce = "m" * 32  # the sign-in form's cookie, as the page would have set it, and its token
    cookie, token = f"{FORM.cookie}={nonce}", FORM.token(kluis.keys.secret, nonce)
    app = create_app(kluis)
    times = same_time(lambda n: answer_times(app, PATH, lambda email: {"email": email, "csrf": token}, cookie,
                                             KNOWN, UNKNOWN, seed=19 + n))
    assert _count(kluis, PersonSignIn) == times.submits
    assert _count(kluis, PersonSignIn, PersonSignIn.person_id.is_not(None)) == times.submits // 2
    assert _count(kluis, Outbox, Outbox.person_id.is_not(None)) == times.submits // 2  # only the known's code


def test_r_dsr_1_mijn_privacy_sign_in_runs_the_same_statements_before_the_answer_for_every_address(kluis):
    """The same statements, touching as many rows, in the same order: whatever differs runs after the answer."""
    new_person(kluis, email=KNOWN)
    nonce = "m" * 32
    cookie, token = f"{FORM.cookie}={nonce}", FORM.token(kluis.keys.secret, nonce)
    app, engines = create_app(kluis), [kluis.db.engine, kluis.db.key_engine]
    ran = {email: [statements_before_answer(app, engines, PATH,
                                            urllib.parse.urlencode({"email": email, "csrf": token}).encode(), cookie)
                   for _ in range(2)] for email in (KNOWN, UNKNOWN)}
    assert ran[KNOWN][1] == ran[UNKNOWN][1]  # the second of each: both limit logs exist by then
    assert len(ran[KNOWN][1]) >= 5
    assert _count(kluis, PersonSignIn, PersonSignIn.person_id.is_not(None)) == 2
