"""Staff use cases: add, sign in (argon2id + TOTP), sessions, disable, reset. Never commits."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import NamedTuple, NoReturn
from urllib.parse import parse_qs, urlsplit

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from email_validator import EmailNotValidError, validate_email
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from kluis.audit import service as audit
from kluis.config import Settings
from kluis.db import rowcount
from kluis.kit.clock import Clock
from kluis.kit.errors import Conflict, Invalid, NotFound, Problem, Unauthenticated
from kluis.kit.i18n import LANGUAGES, N_
from kluis.kit.ids import new_id
from kluis.staff import rules
from kluis.staff.models import StaffAccount, StaffSession
from kluis.vault.crypto import KeyRing
from kluis.vault.resealing import SealedColumn

ISSUER = "Kluis benVitaal"
CLI = "cli"
# One message for every refusal, so that the login form does not tell which accounts exist.
LOGIN_REFUSED = N_("Sign-in failed: the e-mail address, password or code is not right, or the account "
                   "is locked for a while after too many attempts.")
_UNAMBIGUOUS_CHARS = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"

_hasher = PasswordHasher()  # argon2id with the RFC 9106 low-memory parameters


@dataclass
class LoginRefused(Unauthenticated):
    message: str = LOGIN_REFUSED
    code: str = "login_refused"


class Enrolment(NamedTuple):
    """What adding a staff member gives: the account, the generated password (None when one was
    chosen) and the otpauth:// URI for the authenticator app. Shown once; kept nowhere in plaintext."""

    account: StaffAccount
    password: str | None
    totp_uri: str

    @property
    def totp_secret(self) -> str:
        return parse_qs(urlsplit(self.totp_uri).query)["secret"][0]


@dataclass(frozen=True)
class SignedIn:
    """The staff member behind a console request."""

    staff_id: uuid.UUID
    role: str
    session_id: str
    expires_at: datetime
    language: str | None = None  # as the staff member chose it; None: not chosen

    @property
    def actor(self) -> str:
        return f"staff:{self.staff_id}"

    def may(self, permission: rules.Permission) -> bool:
        return rules.may(self.role, permission)


def actor_of(account: StaffAccount) -> str:
    return f"staff:{account.id}"


# --- e-mail, secrets --------------------------------------------------------------------------


def normalise_email(email: str) -> str:
    try:
        return validate_email(email.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise Invalid("this is not an e-mail address", code="email_invalid",
                      problems=[Problem("email", "email_invalid", str(exc))]) from exc


def _email_digest(keys: KeyRing, normalised: str) -> bytes:
    return keys.digest("staff_email", "", normalised)


def _email_context(staff_id: uuid.UUID) -> bytes:
    return b"staff-email|" + staff_id.bytes


def _totp_context(staff_id: uuid.UUID) -> bytes:
    return b"staff-totp|" + staff_id.bytes


# What the master key seals here, sealed anew when it rotates.
SEALED = (SealedColumn(StaffAccount.email_ciphertext, _email_context),
          SealedColumn(StaffAccount.totp_secret_ciphertext, _totp_context))


def email_of(keys: KeyRing, account: StaffAccount) -> str:
    return keys.open_secret(_email_context(account.id), account.email_ciphertext).decode()


def generate_password() -> str:
    """Twenty random characters in dash-separated groups of five: about 115 bits."""
    while True:
        chars = "".join(secrets.choice(_UNAMBIGUOUS_CHARS) for _ in range(20))
        password = "-".join(chars[i:i + 5] for i in range(0, 20, 5))
        if not rules.password_problems(password):
            return password


def _check_password(password: str, email: str) -> None:
    found = rules.password_problems(password, email)
    if found:
        raise Invalid("the password was not accepted: " + "; ".join(found), code="password_weak",
                      problems=[Problem("password", "password_weak", p) for p in found])


@cache
def _dummy_hash() -> str:
    return _hasher.hash(secrets.token_urlsafe(16))


def _verify_password(password_hash: str | None, password: str) -> bool:
    """Checks the password; without an account it checks against a dummy hash so timing is the same."""
    try:
        return _hasher.verify(password_hash or _dummy_hash(), password) and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def _matching_step(secret: str, code: str, now: datetime, last_used: int | None) -> int | None:
    """The step of the accepted code, or None. Compares every candidate, in constant time each."""
    code = code.replace(" ", "")
    if not rules.looks_like_code(code):
        return None
    totp = pyotp.TOTP(secret)
    matched = None
    for step in rules.acceptable_steps(rules.totp_step(now), last_used):
        if hmac.compare_digest(totp.generate_otp(step), code):
            matched = step
    return matched


# --- accounts ---------------------------------------------------------------------------------


def find_account(session: Session, keys: KeyRing, email: str, *, lock: bool = False) -> StaffAccount | None:
    query = select(StaffAccount).where(StaffAccount.email_digest == _email_digest(keys, email))
    return session.scalars(query.with_for_update() if lock else query).one_or_none()


def account_by_email(session: Session, keys: KeyRing, email: str) -> StaffAccount:
    account = find_account(session, keys, normalise_email(email), lock=True)
    if account is None:
        raise NotFound("no staff account with this e-mail address", code="staff_not_found")
    return account


def add_staff(session: Session, clock: Clock, keys: KeyRing, email: str, role: str,
              password: str | None = None, *, actor: str = CLI, language: str | None = None) -> Enrolment:
    normalised = normalise_email(email)
    parsed = rules.parse_role(role)
    if parsed is None:
        raise Invalid(f"unknown role {role!r}", code="role_invalid",
                      problems=[Problem("role", "role_invalid", f"one of: {', '.join(rules.ROLE_NAMES)}")])
    chosen = None if language is None else parse_language(language)
    generated = None
    if password is None:
        password = generated = generate_password()
    _check_password(password, normalised)
    if find_account(session, keys, normalised) is not None:
        raise Conflict("a staff account with this e-mail address already exists", code="staff_exists")
    now = clock.now()
    staff_id = new_id()
    totp_secret = pyotp.random_base32()
    account = StaffAccount(
        id=staff_id, email_digest=_email_digest(keys, normalised),
        email_ciphertext=keys.seal_secret(_email_context(staff_id), normalised.encode()),
        role=parsed.value, password_hash=_hasher.hash(password),
        totp_secret_ciphertext=keys.seal_secret(_totp_context(staff_id), totp_secret.encode()),
        totp_last_step=None, failed_logins=0, created_at=now, password_changed_at=now, language=chosen)
    session.add(account)
    session.flush()
    audit.append(session, clock, actor=actor, action="staff.added", object_type="staff",
                 object_ids=[staff_id], details={"role": parsed.value, **({"language": chosen} if chosen else {})})
    uri = pyotp.TOTP(totp_secret).provisioning_uri(name=normalised, issuer_name=ISSUER)
    return Enrolment(account, generated, uri)


def account_by_id(session: Session, staff_id: uuid.UUID) -> StaffAccount | None:
    return session.get(StaffAccount, staff_id)


def active_dpos(session: Session, now: datetime) -> list[StaffAccount]:
    """The DPOs whose account is not disabled: whom the reminders of deadlines and terms go to."""
    return [a for a in list_staff(session) if a.role == rules.Role.DPO and status_of(a, now) != "disabled"]


# --- language ---------------------------------------------------------------------------------


def parse_language(value: str) -> str:
    """``nl`` or ``en``; anything else is refused with what to give."""
    chosen = value.strip().lower()
    if chosen not in LANGUAGES:
        raise Invalid(N_("unknown language %(value)s: give nl (Dutch) or en (English)", value=repr(value)),
                      code="language_invalid", problems=[Problem("language", "language_invalid", "nl or en")])
    return str(chosen)


def mail_language(account: StaffAccount, settings: Settings) -> str:
    """The language a mail to this staff member is written in: their choice, else the deployment's
    ``KLUIS_STAFF_LANGUAGE``."""
    return account.language or settings.staff_language


def set_language(session: Session, clock: Clock, account: StaffAccount, language: str, *, actor: str) -> bool:
    """Store the staff member's language (the console's switch, the CLI); whether it changed. A change is audited
    (``staff.language_set``); choosing the language already stored writes nothing."""
    chosen = parse_language(language)
    if account.language == chosen:
        return False
    account.language = chosen
    session.flush()
    audit.append(session, clock, actor=actor, action="staff.language_set", object_type="staff",
                 object_ids=[account.id], details={"language": chosen})
    return True


def list_staff(session: Session) -> list[StaffAccount]:
    return list(session.scalars(select(StaffAccount).order_by(StaffAccount.created_at, StaffAccount.id)))


def status_of(account: StaffAccount, now: datetime) -> str:
    if account.disabled_at is not None:
        return "disabled"
    return "locked" if rules.is_locked(account.locked_until, now) else "active"


def disable(session: Session, clock: Clock, keys: KeyRing, email: str, *, actor: str = CLI) -> StaffAccount:
    """Stop an account from signing in and end its sessions at once."""
    account = account_by_email(session, keys, email)
    if account.disabled_at is None:
        account.disabled_at = clock.now()
        ended = _end_sessions(session, account.id)
        audit.append(session, clock, actor=actor, action="staff.disabled", object_type="staff",
                     object_ids=[account.id], details={"sessions_ended": ended})
    return account


def reset_password(session: Session, clock: Clock, keys: KeyRing, email: str, password: str | None = None,
                   *, actor: str = CLI) -> tuple[StaffAccount, str | None]:
    """Set a new password (generated unless given), lift a lock and end the account's sessions."""
    account = account_by_email(session, keys, email)
    generated = None
    if password is None:
        password = generated = generate_password()
    _check_password(password, email_of(keys, account))
    account.password_hash = _hasher.hash(password)
    account.password_changed_at = clock.now()
    account.failed_logins, account.locked_until = 0, None
    ended = _end_sessions(session, account.id)
    audit.append(session, clock, actor=actor, action="staff.password_reset", object_type="staff",
                 object_ids=[account.id], details={"generated": generated is not None, "sessions_ended": ended})
    return account, generated


# --- signing in -------------------------------------------------------------------------------


def session_id_of(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def session_expiry(now: datetime, hours: int) -> datetime:
    return now + timedelta(hours=hours)


def login(session: Session, clock: Clock, keys: KeyRing, settings: Settings, email: str, password: str,
          totp_code: str) -> str:
    """Check e-mail, password and one-time code; return a new session token.

    Every refusal raises ``LoginRefused`` with one and the same message, *after* recording the failed
    attempt (counter, lock, audit event) in ``session``: the caller must commit that session even
    when the login is refused, or the lockout would never take effect.
    """
    now = clock.now()
    try:
        normalised = normalise_email(email)
    except Invalid:
        normalised = ""
    account = find_account(session, keys, normalised, lock=True) if normalised else None
    usable = account is not None and len(password) <= rules.MAX_PASSWORD
    password_ok = _verify_password(account.password_hash if usable and account else None,
                                   password[:rules.MAX_PASSWORD])
    if account is None:
        _refuse(session, clock, None, "unknown_account")
    if account.disabled_at is not None:
        _refuse(session, clock, account, "disabled")
    if rules.is_locked(account.locked_until, now):
        _refuse(session, clock, account, "locked")
    secret = keys.open_secret(_totp_context(account.id), account.totp_secret_ciphertext).decode()
    step = _matching_step(secret, totp_code, now, account.totp_last_step) if password_ok else None
    if not password_ok or step is None:
        reason = "password" if not password_ok else _code_reason(secret, totp_code, now)
        _count_failure(session, clock, settings, account)
        _refuse(session, clock, account, reason)
    counter = rules.after_success()
    account.failed_logins, account.locked_until = counter.failed, counter.locked_until
    account.totp_last_step = step
    account.last_login_at = now
    if _hasher.check_needs_rehash(account.password_hash):
        account.password_hash = _hasher.hash(password)
    session.execute(delete(StaffSession).where(StaffSession.staff_id == account.id,
                                               StaffSession.expires_at <= now))
    token = secrets.token_urlsafe(32)
    expires = session_expiry(now, settings.session_hours)
    session.add(StaffSession(id=session_id_of(token), staff_id=account.id, created_at=now, expires_at=expires))
    session.flush()
    audit.append(session, clock, actor=actor_of(account), action="staff.login_succeeded", object_type="staff",
                 object_ids=[account.id], details={"session_hours": settings.session_hours})
    return token


def _code_reason(secret: str, code: str, now: datetime) -> str:
    """For the audit log only: tell a replayed code from a wrong one."""
    return "code_replayed" if _matching_step(secret, code, now, None) is not None else "code"


def _count_failure(session: Session, clock: Clock, settings: Settings, account: StaffAccount) -> None:
    policy = rules.Lockout.of(settings.login_max_failures, settings.login_lockout_minutes)
    counter = rules.after_failure(account.failed_logins, account.locked_until, clock.now(), policy)
    account.failed_logins, account.locked_until = counter.failed, counter.locked_until
    if counter.just_locked:
        ended = _end_sessions(session, account.id)
        audit.append(session, clock, actor=actor_of(account), action="staff.locked", object_type="staff",
                     object_ids=[account.id],
                     details={"minutes": settings.login_lockout_minutes, "sessions_ended": ended})


def _refuse(session: Session, clock: Clock, account: StaffAccount | None, reason: str) -> NoReturn:
    audit.append(session, clock, actor=actor_of(account) if account else "anonymous", action="staff.login_failed",
                 object_type="staff", object_ids=[account.id] if account else [],
                 details={"reason": reason, **({"failures": account.failed_logins} if account else {})})
    raise LoginRefused()


def session_for(session: Session, clock: Clock, token: str | None) -> SignedIn | None:
    """The staff member a session token belongs to, or None if it is unknown, expired or disabled."""
    if not token or len(token) > 128:
        return None
    found = session.execute(
        select(StaffSession, StaffAccount).join(StaffAccount, StaffAccount.id == StaffSession.staff_id)
        .where(StaffSession.id == session_id_of(token))).one_or_none()
    if found is None:
        return None
    row, account = found
    if row.expires_at <= clock.now() or account.disabled_at is not None:
        return None
    return SignedIn(staff_id=account.id, role=account.role, session_id=row.id, expires_at=row.expires_at,
                    language=account.language)


def logout(session: Session, clock: Clock, token: str | None) -> bool:
    """End the session server-side: the cookie is worthless afterwards, even if someone kept a copy."""
    if not token:
        return False
    row = session.get(StaffSession, session_id_of(token))
    if row is None:
        return False
    staff_id = row.staff_id
    session.delete(row)
    session.flush()
    audit.append(session, clock, actor=f"staff:{staff_id}", action="staff.logged_out", object_type="staff",
                 object_ids=[staff_id])
    return True


def _end_sessions(session: Session, staff_id: uuid.UUID) -> int:
    result = session.execute(delete(StaffSession).where(StaffSession.staff_id == staff_id))
    return rowcount(result)
