"""Form tokens (R-GATE-2 for the console, R-GOV-2 for the complaint form): one way to make and check them."""

from __future__ import annotations

import hashlib
import hmac

from kluis.web.csrf import NONCE, form_token, new_nonce, token_valid

SECRET = b"k" * 32


def test_r_gate_2_a_token_is_bound_to_its_purpose_and_what_it_is_bound_to() -> None:
    made = form_token(SECRET, "console/session-csrf", "session-1")
    assert token_valid(SECRET, "console/session-csrf", "session-1", made)
    assert not token_valid(SECRET, "console/login-csrf", "session-1", made)  # another form's token
    assert not token_valid(SECRET, "console/session-csrf", "session-2", made)  # another session's token
    assert not token_valid(b"o" * 32, "console/session-csrf", "session-1", made)  # another deployment's


def test_r_gov_2_tokens_already_in_open_pages_stay_valid() -> None:
    """The tokens are the ones the console and the complaint form made before they shared this module."""
    assert form_token(SECRET, "complaints/form", "n") == hmac.new(
        SECRET, b"kluis/complaints/form|n", hashlib.sha256).hexdigest()
    assert form_token(SECRET, "console/session-csrf", "s") == hmac.new(
        SECRET, b"kluis/console/session-csrf|s", hashlib.sha256).hexdigest()


def test_r_gate_2_odd_input_is_just_a_wrong_token() -> None:
    for given in ("", "é" * 64, "0" * 64, form_token(SECRET, "complaints/form", "n") + "0"):
        assert not token_valid(SECRET, "complaints/form", "n", given)


def test_r_gov_2_a_new_nonce_has_the_shape_a_returned_cookie_is_checked_for() -> None:
    nonces = {new_nonce() for _ in range(20)}
    assert len(nonces) == 20 and all(NONCE.match(n) for n in nonces)
