"""R-DSR-1 (issue 19 §1): the time Mijn privacy's sign-in form takes to answer tells nothing about whether the
address is known, compared over many samples on SQLite as ``tests.integration.timing_support`` describes (the same
comparison as the request form's, ``tests/integration/rights/test_answer_timing.py``)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from tests.integration.rights.rights_support import new_person
from tests.integration.timing_support import answer_times, assert_same_time, submits

from kluis.app import create_app
from kluis.mail.models import Outbox
from kluis.mijn.models import PersonSignIn
from kluis.mijn.views import FORM

KNOWN, UNKNOWN = "bekend@example.nl", "onbekend@example.nl"
PATH = "/mijn-privacy/sign-in"


@pytest.fixture
def settings(settings):
    """Room for 420 sign-ins from one client and 210 per address (the limits are tested elsewhere)."""
    return settings.model_copy(update={"intake_per_client": 1000, "intake_per_address": 1000})


def _count(kluis, model, *where) -> int:
    with kluis.db.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def test_r_dsr_1_mijn_privacy_sign_in_takes_as_long_for_a_known_and_an_unknown_address(kluis):
    new_person(kluis, email=KNOWN)
    nonce = "m" * 32  # the sign-in form's cookie, as the page would have set it, and its token
    cookie, token = f"{FORM.cookie}={nonce}", FORM.token(kluis.keys.secret, nonce)
    times = answer_times(create_app(kluis), PATH, lambda email: {"email": email, "csrf": token}, cookie,
                         KNOWN, UNKNOWN, seed=19)
    asked = submits(times)
    assert _count(kluis, PersonSignIn) == asked
    assert _count(kluis, PersonSignIn, PersonSignIn.person_id.is_not(None)) == asked // 2
    assert _count(kluis, Outbox, Outbox.person_id.is_not(None)) == asked // 2  # only the known address's code
    assert_same_time(times[KNOWN], times[UNKNOWN])
