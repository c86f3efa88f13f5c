"""R-DSR-1 (issue 18 §4): neither the work the privacy centre's request form does before it answers nor the time it
takes tells anything about whether the address is known, as ``tests.integration.timing_support`` describes. With the
lookup, its audit event and the code's mail before the answer, a known address was shifted by 12.3 ms on a median of
107 ms (11.5%) on SQLite here; with the answer first, by 0.1 ms."""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable

import pytest
from sqlalchemy import func, select
from tests.integration.rights.rights_support import new_person
from tests.integration.timing_support import answer_times, same_time, statements_before_answer

from kluis.app import create_app
from kluis.mail.models import Outbox
from kluis.rights.models import DataSubjectRequest
from kluis.rights.views import FORMS

KNOWN, UNKNOWN = "bekend@example.nl", "onbekend@example.nl"
PATH = "/privacy-centre/request"


@pytest.fixture
def settings(settings):
    """Room for three rounds of timing (1,260 submits from one client, 630 per address; the limits are
    tested elsewhere)."""
    return settings.model_copy(update={"intake_per_client": 2000, "intake_per_address": 1000})


def _count(kluis, model, *where) -> int:
    with kluis.db.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def _form(token: str) -> Callable[[str], dict[str, str]]:
    return lambda email: {"type": "access", "email": email, "lang": "nl", "csrf": token}


def test_r_dsr_1_a_known_and_an_unknown_address_take_as_long_to_answer(kluis):
    new_person(kluis, email=KNOWN)
    nonce = "n" * 32  # the form's cookie, as the request page would have set it, and its token
    cookie, token = f"{FORMS.cookie}={nonce}", FORMS.token(kluis.keys.secret, nonce)
    app = create_app(kluis)
    times = same_time(lambda n: answer_times(app, PATH, _form(token), cookie, KNOWN, UNKNOWN, seed=18 + n))
    assert _count(kluis, DataSubjectRequest) == times.submits
    # Every answer wrote its code's mail; after each answer, only the known address's went to a person.
    assert _count(kluis, Outbox) == times.submits
    assert _count(kluis, Outbox, Outbox.person_id.is_not(None)) == times.submits // 2


def test_r_dsr_1_a_known_and_an_unknown_address_run_the_same_statements_before_the_answer(kluis):
    """The same statements, touching as many rows, in the same order: whatever differs runs after the answer."""
    new_person(kluis, email=KNOWN)
    nonce = "n" * 32
    cookie, token = f"{FORMS.cookie}={nonce}", FORMS.token(kluis.keys.secret, nonce)
    app, engines = create_app(kluis), [kluis.db.engine, kluis.db.key_engine]
    ran = {email: [statements_before_answer(app, engines, PATH, urllib.parse.urlencode(_form(token)(email)).encode(),
                                            cookie) for _ in range(2)] for email in (KNOWN, UNKNOWN)}
    assert ran[KNOWN][1] == ran[UNKNOWN][1]  # the second of each: both limit logs exist by then
    assert len(ran[KNOWN][1]) >= 5
    assert _count(kluis, Outbox, Outbox.person_id.is_not(None)) == 2  # the known address's codes did go
