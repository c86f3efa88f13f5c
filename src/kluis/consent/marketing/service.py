"""Marketing by the statement's rules (R-CONS-2, R-CONS-3, R-CONS-5): double opt-in, four opt-out routes,
a suppression list that outlives erasure, interest profiles that stop at an objection, audiences."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, delete, exists, select
from sqlalchemy.orm import Session

from kluis.audit import service as audit
from kluis.consent.marketing import suppression
from kluis.consent.marketing.models import Campaign, InterestProfile, Suppression, UsedToken
from kluis.consent.models import ConsentEvent, ConsentNotice, ConsentState
from kluis.consent.service import Running
from kluis.db import among, rowcount
from kluis.gate.models import Objection, Restriction
from kluis.kit import signing
from kluis.kit.errors import Conflict, Invalid, NotFound, Problem
from kluis.kit.i18n import N_
from kluis.mail.service import ACCOUNT_NOTICE, MARKETING_UNSUBSCRIBED, enqueue, one_click_url_allowed
from kluis.vault.crypto import open_sealed, seal
from kluis.vault.models import Identifier, Person
from kluis.vault.service import live_person

if TYPE_CHECKING:
    from kluis.vault.keystore import KeyStore

LIST = "marketing_email"  # the marketing e-mail list is the consent purpose it rests on
PROFILING = "profiling"
CONFIRM_MAX_AGE = 48 * 3600
MANAGE_MAX_AGE = 30 * 24 * 3600
LINK_MAX_AGE: dict[str, int | None] = {"opt_in": CONFIRM_MAX_AGE, "unsubscribe": None, "manage": MANAGE_MAX_AGE}
OPT_OUT_ROUTES = ("unsubscribe_link", "account", "dpo_email", "subscription_page")
MAX_TOPIC = 60


class TokenRefused(Invalid):
    """A link that is forged, expired, already used, or for someone else."""


@dataclass
class Marketing:
    session: Session
    kluis: Running
    actor: str

    # --- opt-in (double) -----------------------------------------------------------------------

    def request_opt_in(self, person_id: uuid.UUID, *, notice_text: str, lang: str) -> uuid.UUID:
        """Queue the confirmation mail; nothing counts as consent until its link is used (by POST).
        The link's token is derived from the queued message when it is sent, so it is stored nowhere."""
        self._person(person_id)
        if not notice_text.strip() or len(notice_text) > 10_000 or lang not in ("nl", "en"):
            raise Invalid(N_("the opt-in was not requested"), code="opt_in_invalid",
                          problems=[Problem("notice_text", "required", N_("the exact text shown, at most 10,000 "
                                                                      "characters; lang nl or en"))])
        notice = hashlib.sha256(f"{lang}\x1f{notice_text}".encode()).hexdigest()
        if self.session.get(ConsentNotice, notice) is None:
            self.session.add(ConsentNotice(hash=notice, lang=lang, text=notice_text, created_at=self.kluis.clock.now()))
        row = enqueue(self.session, self.kluis.clock, template="marketing_confirm", person_id=person_id, lang=lang,
                      context={"notice": notice}, actor=self.actor)
        return row.id

    def opt_in_token(self, outbox_id: uuid.UUID, person_id: uuid.UUID, lang: str, notice: str,
                     issued_at: datetime) -> str:
        return signing.sign(self.kluis.keys.secret, "opt_in", person_id, f"{LIST}:{lang}:{notice}", issued_at,
                            nonce=outbox_id.bytes)

    def confirm_opt_in(self, token: str, ip: str | None = None) -> uuid.UUID:
        claims = self._verify(token, "opt_in", CONFIRM_MAX_AGE)
        list_id, lang, notice = claims.scope.split(":")
        digest = hashlib.sha256(token.encode()).hexdigest()
        if self.session.get(UsedToken, digest) is not None:
            raise TokenRefused("this confirmation link was already used", code="token_used")
        self._person(claims.subject)
        text = self.session.get(ConsentNotice, notice)
        self.session.add(UsedToken(digest=digest, used_at=self.kluis.clock.now()))
        self.kluis.consents(self.session, self.actor).give(
            claims.subject, list_id, method="email_confirmation", notice_text=text.text if text else "",
            lang=lang, ip=ip)
        suppression.remove(self.session, self.kluis.keystore, list_id, self._email_digests(claims.subject), "opt_in")
        return claims.subject

    # --- opt-out (four routes) -----------------------------------------------------------------

    def opt_out(self, person_id: uuid.UUID, route: str, *, reference: str | None = None, ip: str | None = None,
                lang: str | None = None, received_at: datetime | None = None) -> None:
        """Withdraw marketing consent, suppress every address of the person, and confirm it by an administrative
        mail (it goes although marketing is now withdrawn), whatever the route. A message to the DPO counts
        from ``received_at``: queued marketing mail is checked against the consent when it is sent."""
        if route not in OPT_OUT_ROUTES:
            raise Invalid(N_("unknown opt-out route"), code="route_invalid",
                          problems=[Problem("route", "route_invalid",
                                            N_("one of: %(choices)s", choices=", ".join(OPT_OUT_ROUTES)))])
        self._person(person_id)
        event = self.kluis.consents(self.session, self.actor).withdraw(
            person_id, LIST, method=route, reference=reference, ip=ip, lang=lang, received_at=received_at)
        suppression.add(self.session, self.kluis.keystore, self.kluis.clock.now(), LIST,
                        self._email_digests(person_id), route)
        enqueue(self.session, self.kluis.clock, template=ACCOUNT_NOTICE, person_id=person_id, lang=event.lang or "nl",
                context={"notice": MARKETING_UNSUBSCRIBED}, actor=self.actor)

    def unsubscribe_token(self, person_id: uuid.UUID, list_id: str = LIST) -> str:
        """For the link in every marketing mail: bound to person and list, valid as long as needed."""
        return signing.sign(self.kluis.keys.secret, "unsubscribe", person_id, list_id, self.kluis.clock.now())

    def unsubscribe(self, token: str, ip: str | None = None, lang: str | None = None) -> uuid.UUID:
        claims = self._verify(token, "unsubscribe", None)
        person = self.session.get(Person, claims.subject)
        if person is None or person.shredded_at is not None:
            return claims.subject  # erased: the suppression entry already keeps marketing away
        self.opt_out(claims.subject, "unsubscribe_link", ip=ip, lang=lang)
        return claims.subject

    def link_holder(self, token: str, kind: str) -> uuid.UUID:
        """Whose link this is (``opt_in``, ``unsubscribe`` or ``manage``), changing nothing: what a page shows
        before the person acts. Raises TokenRefused as the action itself would."""
        return self._verify(token, kind, LINK_MAX_AGE[kind]).subject

    def manage_token(self, person_id: uuid.UUID) -> str:
        return signing.sign(self.kluis.keys.secret, "manage", person_id, LIST, self.kluis.clock.now())

    def person_of_manage_token(self, token: str) -> uuid.UUID:
        claims = self._verify(token, "manage", MANAGE_MAX_AGE)
        self._person(claims.subject)
        return claims.subject

    def subscribed(self, person_id: uuid.UUID) -> bool:
        return self.kluis.gate(self.session, self.actor).decide(person_id, LIST).allowed

    def suppressed(self, person_id: uuid.UUID) -> bool:
        digests = self._email_digests(person_id)
        return bool(digests) and self.session.scalar(select(exists().where(
            Suppression.digest.in_(digests), Suppression.list_id == LIST))) is True

    # --- profiling ---------------------------------------------------------------------------

    def record_click(self, person_id: uuid.UUID, topic: str) -> bool:
        """Count a click towards the interest profile; dropped (False) when profiling is not allowed."""
        if not topic or len(topic) > MAX_TOPIC:
            raise Invalid(N_("a click needs a topic"), code="click_invalid",
                          problems=[Problem("topic", "invalid", N_("1 to %(count)s characters", count=MAX_TOPIC))])
        if not self.kluis.gate(self.session, self.actor).decide(person_id, PROFILING).allowed:
            return False
        profile = self.profile(person_id)
        profile[topic] = profile.get(topic, 0) + 1
        dek = self.kluis.keystore.data_keys(self.session, [person_id])[person_id]
        sealed = seal(dek, person_id, person_id, "interests", json.dumps(profile, sort_keys=True).encode())
        row = self.session.get(InterestProfile, person_id)
        now = self.kluis.clock.now()
        if row is None:
            self.session.add(InterestProfile(person_id=person_id, ciphertext=sealed, updated_at=now))
        else:
            row.ciphertext, row.updated_at = sealed, now
        self.session.flush()
        return True

    def profile(self, person_id: uuid.UUID) -> dict[str, int]:
        row = self.session.get(InterestProfile, person_id)
        if row is None:
            return {}
        dek = self.kluis.keystore.data_keys(self.session, [person_id]).get(person_id)
        if dek is None:
            return {}
        return dict(json.loads(open_sealed(dek, person_id, person_id, "interests", row.ciphertext)))

    # --- campaigns and audiences ---------------------------------------------------------------

    def add_campaign(self, name: str, title: str, text: str, channel: str = "email") -> Campaign:
        problems = []
        if not name or len(name) > 60 or not all(c.isalnum() or c in "-_." for c in name):
            problems.append(Problem("name", "invalid", N_("1-60 letters, digits, '-', '_' or '.'")))
        if channel != "email":
            problems.append(Problem("channel", "invalid", N_("email")))
        if not title.strip() or len(title) > 200:
            problems.append(Problem("title", "invalid", N_("1-200 characters")))
        if not text.strip() or len(text) > 20_000:
            problems.append(Problem("text", "invalid", N_("1-20,000 characters")))
        if not problems and self.session.get(Campaign, name) is not None:
            problems.append(Problem("name", "exists", N_("a campaign with this name exists")))
        if problems:
            raise Invalid(N_("the campaign was not created"), code="campaign_invalid", problems=problems)
        campaign = Campaign(id=name, list_id=LIST, channel=channel, title=title.strip(), text=text.strip(),
                            created_at=self.kluis.clock.now(), created_by=self.actor)
        self.session.add(campaign)
        self.session.flush()
        audit.append(self.session, self.kluis.clock, actor=self.actor, action="campaign.created",
                     object_type="campaign", object_ids=[name], details={"list": LIST, "channel": channel})
        return campaign

    def send_campaign(self, campaign_id: str, lang: str = "nl") -> int:
        """Queue the campaign for its audience now; each mail checks the gate again when it is sent. Refused
        while the one-click unsubscribe link could not be https (it would never leave the outbox)."""
        campaign = self.campaign(campaign_id)
        base = self.kluis.settings.base_url
        if not one_click_url_allowed(f"{base}/marketing/unsubscribe"):
            raise Conflict(f"KLUIS_BASE_URL is {base}: marketing mail needs an https address for its one-click "
                           "unsubscribe link (RFC 8058); set KLUIS_BASE_URL to the https address of this Kluis",
                           code="base_url_not_https",
                           problems=[Problem("base_url", "not_https", N_("https://… (plain http only on loopback)"))])
        count, after = 0, None
        while True:  # keyset pages: constant memory however large the audience
            query = audience_query(campaign.list_id).order_by(Person.id).limit(1000)
            page = list(self.session.scalars(query.where(Person.id > after) if after else query))
            for person_id in page:
                enqueue(self.session, self.kluis.clock, template="marketing_newsletter", person_id=person_id,
                        lang=lang, context={"campaign": campaign_id}, kind="marketing", list_id=LIST,
                        actor=self.actor)
            count += len(page)
            if len(page) < 1000:
                return count
            after = page[-1]

    def campaign(self, campaign_id: str) -> Campaign:
        campaign = self.session.get(Campaign, campaign_id)
        if campaign is None:
            raise NotFound(f"no campaign {campaign_id!r}", code="campaign_not_found")
        return campaign

    def audience(self, campaign_id: str, batch: int = 5000) -> Iterator[uuid.UUID]:
        """Exactly the people who may receive this campaign, streamed: a current consent for its list, no
        restriction, no objection to marketing, an e-mail address that is not suppressed."""
        campaign = self.campaign(campaign_id)
        yield from stream_ids(self.session, audience_query(campaign.list_id), batch)

    # --- helpers -------------------------------------------------------------------------------

    def _verify(self, token: str, purpose: str, max_age: int | None) -> signing.Claims:
        try:
            return signing.verify(self.kluis.keys.secret, purpose, token, now=self.kluis.clock.now(),
                                  max_age_seconds=max_age)
        except signing.BadToken as exc:
            code = "token_expired" if str(exc) == "expired" else "token_invalid"
            raise TokenRefused(f"this link is not valid ({exc})", code=code) from None

    def _email_digests(self, person_id: uuid.UUID) -> list[bytes]:
        return list(self.session.scalars(select(Identifier.digest).where(
            Identifier.person_id == person_id, Identifier.kind == "email")))

    def _person(self, person_id: uuid.UUID) -> Person:
        return live_person(self.session, person_id)


def audience_query(list_id: str) -> Any:
    """The gate's rules for the list's consent purpose as one query: a current consent, not erased, no
    restriction, no objection to marketing, and an e-mail address that is not suppressed."""
    email_not_suppressed = exists().where(
        Identifier.person_id == Person.id, Identifier.kind == "email",
        ~exists().where(Suppression.digest == Identifier.digest, Suppression.list_id == list_id))
    return (select(Person.id)
            .join(ConsentState, and_(ConsentState.person_id == Person.id, ConsentState.purpose == list_id))
            .where(Person.shredded_at.is_(None))
            .where(~exists().where(Restriction.person_id == Person.id, Restriction.lifted_at.is_(None)))
            .where(~exists().where(Objection.person_id == Person.id, Objection.lifted_at.is_(None),
                                   Objection.scope.in_(("marketing", list_id))))
            .where(email_not_suppressed))


def stream_ids(session: Session, query: Any, batch: int = 5000) -> Iterator[uuid.UUID]:
    """Ids of a query in constant memory. PostgreSQL streams them with COPY: unlike a server-side
    cursor, COPY may run the query with parallel workers (about seven times faster for a million people)."""
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        yield from session.execute(query.execution_options(yield_per=batch)).scalars()
        return
    sql = str(query.compile(dialect=connection.dialect, compile_kwargs={"literal_binds": True}))
    raw = connection.connection.driver_connection
    assert raw is not None
    with raw.cursor() as cursor, cursor.copy(f"COPY ({sql}) TO STDOUT") as copy:
        copy.set_types(["uuid"])
        yield from (row[0] for row in copy.rows())


def suppress_before_erasure(session: Session, keystore: KeyStore, now: datetime, person_ids: Sequence[uuid.UUID],
                            job_id: uuid.UUID | None = None) -> int:
    """Called before people's identifiers are erased: whoever was ever on the marketing list (any consent event
    for it) keeps their addresses' keyed digests on the suppression list, opted out or not, so that a partner
    list or a re-import cannot bring them back (R-CONS-2); logged, so a restored backup gets them back too. No
    plaintext is kept. How many entries were added."""
    ever = exists().where(ConsentEvent.person_id == Identifier.person_id, ConsentEvent.purpose == LIST)
    digests = session.scalars(select(Identifier.digest).where(
        among(session, Identifier.person_id, person_ids), Identifier.kind == "email", ever))
    return len(suppression.add(session, keystore, now, LIST, digests, "erasure", job_id))


def delete_profile(session: Session, person_id: uuid.UUID) -> bool:
    """Art. 21(3): once a person objects to profiling, the profile goes at once."""
    profiles = InterestProfile.__table__
    return bool(rowcount(session.execute(delete(profiles).where(profiles.c.person_id == person_id))))
