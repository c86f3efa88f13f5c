"""R-DSR-1: the time the privacy centre's request form takes to answer tells nothing about whether the address is
known, compared over many samples on SQLite as ``tests.integration.timing_support`` describes. With the lookup, its
audit event and the code's mail before the answer, a known address was shifted by 12.3 ms on a median of 107 ms
(11.5%) on SQLite here; with the answer first, by 0.1 ms."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from tests.integration.rights.rights_support import new_person
from tests.integration.timing_support import answer_times, assert_same_time, submits

from kluis.app import create_app
from kluis.mail.models import Outbox
from kluis.rights.models import DataSubjectRequest
from kluis.rights.views import FORMS

KNOWN, UNKNOWN = "bekend@example.nl", "onbekend@example.nl"
PATH = "/privacy-centre/request"


@pytest.fixture
def settings(settings):
    """Room for 420 submits from one client and 210 per address (the limits are tested elsewhere)."""
    return settings.model_copy(update={"intake_per_client": 1000, "intake_per_address": 1000})


def _count(kluis, model, *where) -> int:
    with kluis.db.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def test_r_dsr_1_a_known_and_an_unknown_address_take_as_long_to_answer(kluis):
    new_person(kluis, email=KNOWN)
    nonce = "n" * 32  # the form's cookie, as the request page would have set it, and its token
    cookie, token = f"{FORMS.cookie}={nonce}", FORMS.token(kluis.keys.secret, nonce)
    times = answer_times(create_app(kluis), PATH,
                         lambda email: {"type": "access", "email": email, "lang": "nl", "csrf": token},
                         cookie, KNOWN, UNKNOWN, seed=18)
    asked = submits(times)
    assert _count(kluis, DataSubjectRequest) == asked
    # Every answer wrote its code's mail; after each answer, only the known address's went to a person.
    assert _count(kluis, Outbox) == asked
    assert _count(kluis, Outbox, Outbox.person_id.is_not(None)) == asked // 2
    assert_same_time(times[KNOWN], times[UNKNOWN])
