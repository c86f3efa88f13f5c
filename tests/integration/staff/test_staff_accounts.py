"""Staff accounts at rest and the sign-in service (R-GATE-2), against the real database."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pyotp
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url
from tests.helpers import sealed_log

from kluis.audit.models import AuditEvent
from kluis.kit.clock import SettableClock
from kluis.kit.errors import Conflict, Invalid, NotFound
from kluis.staff import service
from kluis.staff.models import StaffAccount, StaffSession
from kluis.wiring import Kluis

EMAIL = "Anna.de.Vries@BenVitaal.nl"
STRONG = "Stevige-Wachtzin-2026"


def _add(kluis: Kluis, email: str = EMAIL, role: str = "support", password: str | None = STRONG
         ) -> service.Enrolment:
    with kluis.db.transaction() as session:
        return service.add_staff(session, kluis.clock, kluis.keys, email, role, password)


def _login(kluis: Kluis, email: str, password: str, code: str) -> str:
    """Sign in the way the console does: a refused attempt is committed too."""
    with kluis.db.transaction() as session:
        try:
            return service.login(session, kluis.clock, kluis.keys, kluis.settings, email, password, code)
        except service.LoginRefused as exc:
            refused = exc
    raise refused


def _actions(kluis: Kluis) -> list[str]:
    with kluis.db.sessions() as session:
        return list(session.scalars(select(AuditEvent.action).order_by(AuditEvent.seq)))


def test_r_gate_2_password_is_argon2id_and_no_email_or_totp_secret_in_plaintext(kluis: Kluis) -> None:
    enrolment = _add(kluis)
    with kluis.db.sessions() as session:
        account = session.get(StaffAccount, enrolment.account.id)
        assert account is not None
        assert account.password_hash.startswith("$argon2id$")
        assert STRONG not in account.password_hash
        assert service.email_of(kluis.keys, account) == EMAIL.lower()
        row = session.execute(text("SELECT * FROM staff_account")).one()
    secret = enrolment.totp_secret
    for value in row:
        shown = value if isinstance(value, str) else bytes(value) if isinstance(value, bytes | memoryview) else b""
        blob = shown.encode() if isinstance(shown, str) else shown
        assert b"benvitaal" not in blob.lower() and secret.encode() not in blob
    url = make_url(kluis.db.url)
    if url.get_backend_name() == "sqlite":
        database = Path(url.database or "")
        files = [p for p in database.parent.iterdir() if p.name.startswith(database.name)]
        assert files
        for path in files:
            content = path.read_bytes().lower()
            assert b"anna.de.vries" not in content, path.name
            assert secret.encode().lower() not in content, path.name


def test_r_gate_2_adding_a_staff_member_is_audited_with_ids_only(kluis: Kluis) -> None:
    enrolment = _add(kluis)
    with kluis.db.sessions() as session:
        event = session.scalars(select(AuditEvent).where(AuditEvent.action == "staff.added")
                                .order_by(AuditEvent.seq)).one()
        assert event.object_ids == [str(enrolment.account.id)] and event.details == {"role": "support"}
        assert "anna" not in str(event.details).lower()
    assert sealed_log(kluis).ok


def test_r_gate_2_duplicate_email_is_refused_whatever_its_case(kluis: Kluis) -> None:
    _add(kluis)
    with pytest.raises(Conflict, match="already exists"):
        _add(kluis, email="  anna.DE.vries@benvitaal.NL ")
    with kluis.db.sessions() as session:
        assert session.scalar(select(func.count()).select_from(StaffAccount)) == 1


@pytest.mark.parametrize(("email", "role", "password", "code"), [
    ("not-an-address", "dpo", STRONG, "email_invalid"),
    ("someone@benvitaal.nl", "root", STRONG, "role_invalid"),
    ("someone@benvitaal.nl", "dpo", "short", "password_weak"),
    ("someone@benvitaal.nl", "dpo", "someone-is-my-password", "password_weak"),
])
def test_r_gate_2_invalid_staff_is_refused_with_a_reason(kluis: Kluis, email: str, role: str, password: str,
                                                         code: str) -> None:
    with pytest.raises(Invalid) as refused:
        _add(kluis, email=email, role=role, password=password)
    assert refused.value.code == code and refused.value.problems


def test_r_gate_2_a_generated_password_is_strong_and_works(kluis: Kluis, clock: SettableClock) -> None:
    enrolment = _add(kluis, password=None)
    assert enrolment.password is not None and len(enrolment.password) == 23
    assert enrolment.totp_uri.startswith("otpauth://totp/")
    token = _login(kluis, EMAIL, enrolment.password, pyotp.TOTP(enrolment.totp_secret).at(clock.now()))
    with kluis.db.sessions() as session:
        signed_in = service.session_for(session, clock, token)
    assert signed_in is not None and signed_in.staff_id == enrolment.account.id and signed_in.role == "support"


def test_r_gate_2_unknown_email_wrong_password_and_wrong_code_give_one_message(kluis: Kluis,
                                                                              clock: SettableClock) -> None:
    enrolment = _add(kluis)
    good = pyotp.TOTP(enrolment.totp_secret).at(clock.now())
    wrong = f"{(int(good) + 1) % 1_000_000:06d}"
    messages = set()
    for email, password, code in [("nobody@benvitaal.nl", STRONG, good), (EMAIL, "Wrong-Password-2026", good),
                                  (EMAIL, STRONG, wrong), ("not an address", STRONG, good), (EMAIL, STRONG, "")]:
        with pytest.raises(service.LoginRefused) as refused:
            _login(kluis, email, password, code)
        messages.add(refused.value.message)
    assert messages == {service.LOGIN_REFUSED}
    assert _actions(kluis).count("staff.login_failed") == 5


def test_r_gate_2_session_expires_after_the_configured_hours(kluis: Kluis, clock: SettableClock) -> None:
    enrolment = _add(kluis)
    token = _login(kluis, EMAIL, STRONG, pyotp.TOTP(enrolment.totp_secret).at(clock.now()))
    clock.advance(timedelta(hours=kluis.settings.session_hours) - timedelta(seconds=1))
    with kluis.db.sessions() as session:
        assert service.session_for(session, clock, token) is not None
        clock.advance(timedelta(seconds=1))
        assert service.session_for(session, clock, token) is None
        assert service.session_for(session, clock, "made-up-token") is None


def test_r_gate_2_session_table_holds_only_the_token_hash(kluis: Kluis, clock: SettableClock) -> None:
    enrolment = _add(kluis)
    token = _login(kluis, EMAIL, STRONG, pyotp.TOTP(enrolment.totp_secret).at(clock.now()))
    with kluis.db.sessions() as session:
        ids = list(session.scalars(select(StaffSession.id)))
    assert ids == [service.session_id_of(token)] and token not in ids[0]


def test_r_gate_2_disable_ends_sessions_and_refuses_login(kluis: Kluis, clock: SettableClock) -> None:
    enrolment = _add(kluis)
    totp = pyotp.TOTP(enrolment.totp_secret)
    token = _login(kluis, EMAIL, STRONG, totp.at(clock.now()))
    with kluis.db.transaction() as session:
        service.disable(session, clock, kluis.keys, EMAIL)
    with kluis.db.sessions() as session:
        assert service.session_for(session, clock, token) is None
        assert service.status_of(session.get(StaffAccount, enrolment.account.id), clock.now()) == "disabled"
    clock.advance(timedelta(seconds=30))
    with pytest.raises(service.LoginRefused):
        _login(kluis, EMAIL, STRONG, totp.at(clock.now()))
    assert "staff.disabled" in _actions(kluis)


def test_r_gate_2_reset_password_replaces_it_lifts_the_lock_and_ends_sessions(
        kluis: Kluis, clock: SettableClock) -> None:
    enrolment = _add(kluis)
    totp = pyotp.TOTP(enrolment.totp_secret)
    token = _login(kluis, EMAIL, STRONG, totp.at(clock.now()))
    for _ in range(kluis.settings.login_max_failures):
        with pytest.raises(service.LoginRefused):
            _login(kluis, EMAIL, "Wrong-Password-2026", totp.at(clock.now()))
    with kluis.db.transaction() as session:
        account, generated = service.reset_password(session, clock, kluis.keys, EMAIL)
        assert account.locked_until is None and account.failed_logins == 0
    assert generated is not None
    with kluis.db.sessions() as session:
        assert service.session_for(session, clock, token) is None
    clock.advance(timedelta(seconds=30))
    with pytest.raises(service.LoginRefused):
        _login(kluis, EMAIL, STRONG, totp.at(clock.now()))
    assert _login(kluis, EMAIL, generated, totp.at(clock.now()))


def test_r_gate_2_unknown_account_cannot_be_disabled_or_reset(kluis: Kluis, clock: SettableClock) -> None:
    with kluis.db.transaction() as session, pytest.raises(NotFound):
        service.disable(session, clock, kluis.keys, "nobody@benvitaal.nl")
    with kluis.db.transaction() as session, pytest.raises(NotFound):
        service.reset_password(session, clock, kluis.keys, "nobody@benvitaal.nl")


def test_r_gate_2_login_counts_survive_a_refusal(kluis: Kluis, clock: SettableClock) -> None:
    """The failed attempt is committed with the refusal, so the lockout cannot be dodged by rollback."""
    enrolment = _add(kluis)
    with pytest.raises(service.LoginRefused):
        _login(kluis, EMAIL, "Wrong-Password-2026", pyotp.TOTP(enrolment.totp_secret).at(clock.now()))
    with kluis.db.sessions() as session:
        assert session.get(StaffAccount, enrolment.account.id).failed_logins == 1  # type: ignore[union-attr]
