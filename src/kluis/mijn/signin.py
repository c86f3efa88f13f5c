"""Signing in to Mijn privacy with a one-time code (R-DSR-1), and the short sessions that follow.

The same protections as a request's verification: the intake's rate limits per client network and per address
(counted by the page, ``rights.intake``), a code that lapses after ``CODE_LIFETIME`` and takes ``MAX_TRIES`` tries,
and no enumeration: ``start`` does the same work for every address (the code's mail included, held and sealed to
the address given: ``kluis.mail.addressing``) and answers before anything asks whether the address is known;
``claim``, that mail's step (run after the answer, or by the worker after a crash), looks it up and lets the mail go
only to a known address.
A code works only in the browser that asked for it (a random token in its cookie, stored as a keyed digest).
Services never commit; every step is audited with ids only.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from kluis.audit import service as audit
from kluis.kit.errors import Invalid, NotFound, Problem
from kluis.kit.ids import new_id
from kluis.kit.ids import token as random_token
from kluis.mail import addressing
from kluis.mail import service as mail
from kluis.mail.models import Outbox
from kluis.mail.service import context_id
from kluis.mijn import rules
from kluis.mijn.mail import CODE_TEMPLATE
from kluis.mijn.models import PersonSession, PersonSignIn
from kluis.vault.identifiers import normalise
from kluis.vault.schemas import IdentifierIn
from kluis.vault.service import live_person

if TYPE_CHECKING:
    from kluis.wiring import Kluis

LOOKUP_PURPOSE = "support"  # the statement's purpose for answering the person's questions and requests


@dataclass(frozen=True)
class Started:
    sign_in_id: uuid.UUID
    browser_token: str  # goes in the browser's cookie; only its digest is kept
    code_mail: uuid.UUID  # the code's mail, held until its step (``claim``) runs


@dataclass(frozen=True)
class Signed:
    session_id: uuid.UUID
    person_id: uuid.UUID
    token: str  # the session cookie's value; only its digest is kept


@dataclass
class SignIns:
    session: Session
    kluis: Kluis
    actor: str

    def start(self, email: str, lang: str) -> Started:
        """The part of signing in that is the same work for every address: the address checked for form, a
        sign-in with its code's digest, and the code's mail, held. Nothing here asks whether the address is known
        (R-DSR-1)."""
        if isinstance(found := normalise("email", email, None, "email"), Problem):
            raise Invalid("the e-mail address is not valid", code="identifier_invalid", problems=[found])
        if lang not in ("nl", "en"):
            raise Invalid("language is nl or en", code="lang_unknown")
        now = self.kluis.clock.now()
        self._prune(now)
        sign_in_id, browser = new_id(), random_token(32)
        code = rules.derive_code(self.kluis.keys.secret, sign_in_id)
        self.session.add(PersonSignIn(id=sign_in_id, browser_key=self._key("browser", browser), person_id=None,
                                      digest=rules.code_digest(self.kluis.keys.secret, sign_in_id, code), lang=lang,
                                      tries=0, created_at=now, expires_at=now + rules.CODE_LIFETIME))
        self.session.flush()
        audit.append(self.session, self.kluis.clock, actor=self.actor, action="mijn.code_issued",
                     object_type="sign_in", object_ids=[sign_in_id], details={})
        code_mail = addressing.hold(self.session, self.kluis.clock, self.kluis.keys.secret, template=CODE_TEMPLATE,
                                    lang=lang, context={"sign_in_id": str(sign_in_id)}, address=email,
                                    actor=self.actor)
        return Started(sign_in_id, browser, code_mail)

    def claim(self, sign_in_id: uuid.UUID, email: str) -> uuid.UUID | None:
        """The step of the code's mail, after the answer: when the address is known, the sign-in is that person's
        and the mail goes to them; for an unknown one nobody (and the code can never sign anyone in). A code that
        lapsed meanwhile (a crash long before the worker ran) goes to nobody either."""
        row = self.session.get(PersonSignIn, sign_in_id)
        if row is None:
            raise mail.Cancelled("sign_in_gone")
        if self.kluis.clock.now() >= row.expires_at:
            raise mail.Cancelled("code_expired")
        if row.person_id is not None:
            return row.person_id
        vault = self.kluis.vault(self.session, self.actor)
        person_id = vault.identified(IdentifierIn(kind="email", value=email))
        if person_id is None:
            return None
        try:
            vault.looked_up(person_id, "email", LOOKUP_PURPOSE)
        except NotFound:  # erased: as unknown
            return None
        row.person_id = person_id
        return person_id

    def verify(self, browser_token: str | None, code: str) -> Signed | None:
        """A session when ``code`` is the live code of this browser's newest sign-in; None otherwise. Each wrong
        try counts (and is audited); a used, lapsed or exhausted code never works."""
        if not browser_token:
            return None
        row = self.session.scalars(select(PersonSignIn).where(
            PersonSignIn.browser_key == self._key("browser", browser_token))).first()
        now = self.kluis.clock.now()
        if row is None or row.used_at is not None or now >= row.expires_at or row.tries >= rules.MAX_TRIES:
            return None
        row.tries += 1
        given = code.strip()
        matches = rules.code_format_ok(given) and secrets.compare_digest(
            rules.code_digest(self.kluis.keys.secret, row.id, given), row.digest)
        if not matches or row.person_id is None:
            audit.append(self.session, self.kluis.clock, actor=self.actor, action="mijn.code_refused",
                         object_type="sign_in", object_ids=[row.id], details={"tries": row.tries})
            return None
        row.used_at = now
        token = random_token(32)
        signed = PersonSession(id=new_id(), token_key=self._key("session", token), person_id=row.person_id,
                               created_at=now, last_seen_at=now, expires_at=now + rules.SESSION_ABSOLUTE)
        self.session.add(signed)
        self.session.flush()
        audit.append(self.session, self.kluis.clock, actor=self.actor, action="mijn.signed_in",
                     object_type="person_session", object_ids=[signed.id, row.person_id],
                     details={"sign_in": str(row.id)})
        return Signed(signed.id, row.person_id, token)

    def current(self, token: str | None) -> PersonSession | None:
        """The live session of this cookie, its idle time restarted; None when there is none, it lapsed, or the
        person is no longer held (erased)."""
        if not token:
            return None
        found = self.session.scalars(select(PersonSession).where(
            PersonSession.token_key == self._key("session", token))).first()
        now = self.kluis.clock.now()
        if found is None or not rules.session_alive(found.last_seen_at, found.expires_at, found.ended_at, now):
            return None
        try:
            live_person(self.session, found.person_id)
        except NotFound:
            return None
        found.last_seen_at = now
        return found

    def end(self, token: str | None) -> bool:
        """Sign out: the session ends here, whatever the browser keeps. False when there was none to end."""
        found = self.current(token)
        if found is None:
            return False
        found.ended_at = self.kluis.clock.now()
        audit.append(self.session, self.kluis.clock, actor=self.actor, action="mijn.signed_out",
                     object_type="person_session", object_ids=[found.id, found.person_id], details={})
        return True

    def _key(self, kind: str, value: str) -> str:
        return self.kluis.keys.digest(f"mijn:{kind}", "", value).hex()

    def _prune(self, now: datetime) -> None:
        """Sign-ins and sessions long over go: nothing about them is of use any more."""
        cutoff = now - rules.KEEP_ENDED
        self.session.execute(delete(PersonSignIn).where(PersonSignIn.expires_at < cutoff))
        self.session.execute(delete(PersonSession).where(or_(PersonSession.expires_at < cutoff,
                                                             PersonSession.ended_at < cutoff)))


def _claim(session: Session, kluis: Kluis, outbox: Outbox, email: str, actor: str) -> uuid.UUID | None:
    sign_in_id = context_id(outbox.context, "sign_in_id")
    if sign_in_id is None:
        raise mail.Cancelled("sign_in_gone")
    return SignIns(session, kluis, actor).claim(sign_in_id, email)


addressing.register_step(CODE_TEMPLATE, _claim)
