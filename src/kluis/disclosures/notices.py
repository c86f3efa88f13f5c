"""Art. 19 notices (R-DSR-5, R-DSR-6, R-DSR-7 with R-SHR-1): each recipient and processor that received the
person's data is told of a rectification, an erasure or a restriction, by mail to its contact in the policy.

The disclosure log decides who received what: a party is told when a logged disclosure of one of the changed
categories went to it for this person (a disclosure by an authority's order is not routine sharing and is not
told here). The notice names only what the party already holds: its own disclosures (their date and the
reference they were sent under), the category and, for a correction, the names of the fields corrected, never a
value. A party without a contact gets a notice that staff tell another way; the console lists those until marked
handled. Public readers of a community cannot be told one by one (Art. 19: impossible).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kluis.audit import service as audit
from kluis.disclosures.models import Disclosure, PartyNotice
from kluis.kit import i18n
from kluis.kit.clock import AMSTERDAM, Clock, as_utc
from kluis.kit.errors import Conflict, NotFound, Problem
from kluis.kit.i18n import N_
from kluis.kit.ids import new_id
from kluis.mail import service as mail
from kluis.mail.models import Outbox
from kluis.mail.service import context_id, subject_of
from kluis.policy.schemas import Lang, Policy, Processor, Recipient, UnknownPolicyId

TEMPLATE = "party_notice"
MAIL, OTHER_CHANNEL, NOT_INDIVIDUALLY = "mail", "other", "not_individually"
CAUSES = ("rectification", "erasure", "restriction")
# Countries whose parties are written to in Dutch; everyone else gets English.
DUTCH = frozenset({"NL"})


@dataclass(frozen=True)
class Cause:
    kind: str  # one of CAUSES
    id: uuid.UUID  # the rectification, the erasure job, or the restriction request
    fields: Sequence[str] = ()


def tell_parties(session: Session, clock: Clock, policy: Policy, actor: str, person_id: uuid.UUID,
                 categories: Iterable[str], cause: Cause) -> list[dict[str, str]]:
    """Tell each party that received one of ``categories`` of this person (by the disclosure log) once: queue
    the mail where it has a contact, else record the notice for staff. Returns ``{"party", "channel"}`` in the
    order of the policy's register (recipients, then processors)."""
    wanted = set(categories)
    found: dict[str, tuple[list[str], set[str]]] = {}
    for disclosure in session.scalars(select(Disclosure).where(
            Disclosure.person_id == person_id, Disclosure.order_id.is_(None)).order_by(Disclosure.at, Disclosure.id)):
        shared = wanted & set(disclosure.categories)
        if shared:
            ids, cats = found.setdefault(disclosure.party, ([], set()))
            ids.append(str(disclosure.id))
            cats |= shared
    told: list[dict[str, str]] = []
    now = clock.now()
    for ref in _register_order(policy, found):
        party = policy.party(ref)
        ids, cats = found[ref]
        notice = PartyNotice(id=new_id(), person_id=person_id, party=ref, cause=cause.kind, cause_id=cause.id,
                             categories=sorted(cats), fields=sorted(cause.fields), disclosures=ids,
                             channel=channel_of(party), lang=lang_of(party), at=now)
        session.add(notice)
        session.flush()
        if notice.channel == MAIL:
            notice.outbox_id = mail.enqueue(session, clock, template=TEMPLATE, party=ref, lang=notice.lang,
                                            context={"notice_id": str(notice.id)}, actor=actor).id
        told.append({"party": ref, "channel": notice.channel})
    if told:
        audit.append(session, clock, actor=actor, action="party_notice.recorded", object_type="party_notice",
                     object_ids=[cause.id, person_id],
                     details={"cause": cause.kind, "told": [f"{t['party']}={t['channel']}" for t in told]})
    return told


def _register_order(policy: Policy, found: Mapping[str, Any]) -> list[str]:
    """The parties found, as the policy lists them; a party no longer in the policy cannot be reached."""
    listed = [f"recipient:{r.id}" for r in policy.recipients if not r.requires_order] + [
        f"processor:{p.id}" for p in policy.processors]
    return [ref for ref in listed if ref in found]


def channel_of(party: Recipient | Processor) -> str:
    if isinstance(party, Recipient) and str(party.kind) == "public":
        return NOT_INDIVIDUALLY
    return MAIL if party.contact else OTHER_CHANNEL


def lang_of(party: Recipient | Processor) -> str:
    """Dutch for a Dutch party (recipients are benVitaal's own group companies and Dutch partners); English for a
    processor established elsewhere."""
    return "en" if isinstance(party, Processor) and party.country.upper() not in DUTCH else "nl"


# --- the console: notices staff still have to give -------------------------------------------


def untold(session: Session, limit: int = 200) -> list[PartyNotice]:
    """Notices to parties without a contact that no one has marked as told yet, oldest first."""
    return list(session.scalars(select(PartyNotice).where(PartyNotice.channel == OTHER_CHANNEL,
                                                          PartyNotice.handled_at.is_(None))
                                .order_by(PartyNotice.at, PartyNotice.id).limit(limit)))


def mark_told(session: Session, clock: Clock, actor: str, notice_id: uuid.UUID) -> PartyNotice:
    """Staff told the party another way (phone, the party's portal, a letter)."""
    # Staff name the notice alone; its key is (person, id), so this is a query on the id, not a get.
    notice = session.scalars(select(PartyNotice).where(PartyNotice.id == notice_id)).one_or_none()
    if notice is None:
        raise NotFound(N_("no such notice"), code="party_notice_not_found")
    if notice.channel != OTHER_CHANNEL or notice.handled_at is not None:
        raise Conflict(N_("this notice needs no staff action"), code="party_notice_not_open")
    notice.handled_at, notice.handled_by = clock.now(), actor
    audit.append(session, clock, actor=actor, action="party_notice.told", object_type="party_notice",
                 object_ids=[notice.id, notice.cause_id], details={"party": notice.party, "cause": notice.cause})
    return notice


def missing_contacts(policy: Policy) -> list[str]:
    """The register's parties that can be told one by one but have no contact for Art. 19 notices."""
    return [f"recipient:{r.id}" for r in policy.recipients
            if not r.requires_order and channel_of(r) == OTHER_CHANNEL] + [
        f"processor:{p.id}" for p in policy.processors if not p.contact]


# --- the mail ------------------------------------------------------------------------------------

# cause -> (subject line, what happened): English, translated into the mail's language when it is built.
WORDS: dict[str, tuple[str, str]] = {
    "rectification": (N_("Correction of personal data (Art. 19 GDPR)"),
                      N_("benVitaal has corrected personal data that you received from us.")),
    "erasure": (N_("Erasure of personal data (Art. 17 and 19 GDPR)"),
                N_("benVitaal has erased personal data that you received from us.")),
    "restriction": (N_("Restriction of processing (Art. 18 and 19 GDPR)"),
                    N_("The processing of personal data that you received from us is restricted.")),
}
# cause -> what the party is asked to do
ASKS: dict[str, str] = {
    "rectification": N_("Ask our data protection officer for the correct data (we do not send it by e-mail) and "
                        "correct your copy."),
    "erasure": N_("Erase your copy of this data, unless a legal ground of your own obliges you to keep it."),
    "restriction": N_("Only store this data and do not process it otherwise until we tell you that the restriction is "
                      "lifted."),
}


def check(context: Mapping[str, Any]) -> list[Problem]:
    return [] if context_id(context, "notice_id") else [Problem("context.notice_id", "id_required",
                                                                "the notice's id")]


def build(session: Session, kluis: Any, row: Outbox) -> mail.MessageContext:
    """What the party is told, from the notice and its disclosures, at send time: the disclosures it received
    (date and its own reference), the categories and corrected field names. No person's name, address or value."""
    notice = subject_of(session, PartyNotice, row, "notice_id")
    policy: Policy = kluis.policy
    lang: Lang = "en" if row.lang == "en" else "nl"
    rows = session.scalars(select(Disclosure).where(Disclosure.id.in_([uuid.UUID(i) for i in notice.disclosures]))
                           .order_by(Disclosure.at, Disclosure.id))
    received = [{"on": _day(d.at, lang), "reference": d.reference or "", "id": str(d.id)} for d in rows]
    categories = {c.id: c for c in policy.categories}
    fields = {f.id: f.name.get(lang) for c in notice.categories if c in categories for f in categories[c].fields}
    subject, what = (i18n.say(words, lang) for words in WORDS[notice.cause])
    try:
        party = policy.party(notice.party)
    except UnknownPolicyId:
        raise mail.Cancelled("party_unknown") from None
    return mail.MessageContext(values={
        "subject": subject, "what": what, "ask": i18n.say(ASKS[notice.cause], lang), "party": party.name
        if isinstance(party.name, str) else party.name.get(lang), "received": received,
        "categories": [categories[c].name.get(lang) for c in notice.categories if c in categories],
        "fields": [fields.get(f, f) for f in notice.fields], "reference": notice_reference(notice.id),
        "on": _day(notice.at, lang), "dpo": str(policy.dpo.email)})


def notice_reference(notice_id: uuid.UUID) -> str:
    """The notice's reference for the party's reply: a pseudonym that names no one."""
    return f"A19-{notice_id.hex[:10].upper()}"


def _day(at: Any, lang: Lang) -> str:
    return i18n.day(as_utc(at).astimezone(AMSTERDAM).date(), lang)


mail.register_template(TEMPLATE, build, "administrative", check=check)
