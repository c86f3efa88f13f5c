"""Signed tokens in links: bound to person, purpose and scope; forged, swapped and expired ones refused
(R-CONS-2: unsubscribe tokens can't be guessed or reused for another person)."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from kluis.kit.signing import BadToken, sign, verify

SECRET = b"s" * 32
AT = datetime(2026, 1, 31, 12, tzinfo=UTC)


def test_r_cons_2_token_round_trips_with_its_claims():
    person = uuid.uuid4()
    claims = verify(SECRET, "unsubscribe", sign(SECRET, "unsubscribe", person, "marketing_email", AT))
    assert (claims.subject, claims.scope, claims.issued_at) == (person, "marketing_email", AT)


def test_r_cons_2_token_for_one_purpose_is_refused_for_another():
    token = sign(SECRET, "manage", uuid.uuid4(), "marketing_email", AT)
    with pytest.raises(BadToken):
        verify(SECRET, "unsubscribe", token)


def test_r_cons_2_changed_person_or_list_or_key_is_refused():
    token = sign(SECRET, "unsubscribe", uuid.uuid4(), "marketing_email", AT)
    import base64

    raw = bytearray(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    raw[3] ^= 1  # another person id
    forged = base64.urlsafe_b64encode(bytes(raw)).decode().rstrip("=")
    for bad in (forged, token[:-2], "", "x" * 500, "!!!"):
        with pytest.raises(BadToken):
            verify(SECRET, "unsubscribe", bad)
    with pytest.raises(BadToken):
        verify(b"t" * 32, "unsubscribe", token)


def test_r_cons_2_expiry_is_exact():
    token = sign(SECRET, "opt_in", uuid.uuid4(), "l", AT)
    assert verify(SECRET, "opt_in", token, now=AT + timedelta(hours=48), max_age_seconds=48 * 3600)
    with pytest.raises(BadToken, match="expired"):
        verify(SECRET, "opt_in", token, now=AT + timedelta(hours=48, seconds=1), max_age_seconds=48 * 3600)
