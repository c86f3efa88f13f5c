"""The public privacy statement, rendered from the policy so that text and enforcement cannot drift (R-POL-3).

``statement_view`` turns the policy into plain strings in one language; the HTML and Markdown
templates only lay those out, so both formats always say the same thing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from typing import Any, Literal

from babel import Locale
from babel.lists import format_list
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup, escape

from kluis.kit import i18n
from kluis.kit.clock import AMSTERDAM
from kluis.policy.rules import EEA
from kluis.policy.schemas import (
    LANGS,
    Address,
    Lang,
    Policy,
    Processor,
    Purpose,
    RecipientKind,
    RetentionRule,
    Right,
    Term,
    Text,
    Transfer,
)

Format = Literal["html", "md"]
FORMATS: tuple[Format, ...] = ("html", "md")
LOCALES = i18n.LOCALES

# Headings and table labels: the layout's words, in the gettext catalogs under the context "statement" (so that a
# word the console translates otherwise keeps the statement's own translation: the Dutch statement reads as it always
# did). What the statement promises is in the policy file.


@cache
def labels(lang: str) -> dict[str, str]:
    """The statement's headings and labels in ``lang``."""
    pgettext = i18n.pgettext
    with i18n.speaking(lang):
        return {
            "contents": pgettext("statement", "Contents"),
            "effective": pgettext("statement", "Effective from"),
            "version": pgettext("statement", "Version"),
            "skip": pgettext("statement", "Skip to content"),
            "what": pgettext("statement", "What personal data we process"),
            "whose": pgettext("statement", "Whose personal data we process"),
            "special": pgettext("statement", "Special categories of data we do not process"),
            "collected": pgettext("statement", "How is personal data collected?"),
            "cookies": pgettext("statement", "Cookies"),
            "why": pgettext("statement", "Why we process personal data"),
            "bases": pgettext("statement", "Legal basis for processing your personal data"),
            "sharing": pgettext("statement", "How is your personal data shared?"),
            "processors": pgettext("statement", "When do we use processors?"),
            "retention": pgettext("statement", "How long your data is kept"),
            "rights": pgettext("statement", "What your rights are"),
            "basic_rights": pgettext("statement", "Basic rights"),
            "contact": pgettext("statement", "How to contact us"),
            "changes": pgettext("statement", "Changes"),
            "until": pgettext("statement", "valid until"),
            "upcoming": pgettext("statement", "A new version of this statement has been published. It applies from "
                                              "{moment}."),
            "upcoming_link": pgettext("statement", "Read what changes"),
            "history": pgettext("statement", "Every version and what changed"),
            "notice": pgettext("statement", "We publish a significant change at least {days} days before it takes "
                                            "effect, and we e-mail everyone it changes something for."),
            "basis": pgettext("statement", "Legal basis"),
            "role": pgettext("statement", "Role of benVitaal"),
            "data": pgettext("statement", "Data"),
            "interest": pgettext("statement", "Our interest"),
            "withdraw": pgettext("statement", "Withdraw through"),
            "used_for": pgettext("statement", "Used for"),
            "processor": pgettext("statement", "Processor"),
            "service": pgettext("statement", "Service"),
            "country": pgettext("statement", "Country"),
            "safeguard": pgettext("statement", "Transfer safeguard"),
            "agreement": pgettext("statement", "Data-processing agreement"),
            "sub_processors": pgettext("statement", "Sub-processors"),
            "none": pgettext("statement", "none"),
            "term": pgettext("statement", "Retention period"),
            "why_term": pgettext("statement", "Explanation"),
            "with_consent": pgettext("statement", "with your consent"),
            "kept_on_erasure": pgettext("statement", "Kept, restricted, after an erasure request until the period "
                                                     "ends."),
            "activities": pgettext("statement", "Only what you do yourself counts as activity: {counted}. These do "
                                                "not count: {ignored}."),
            "consent_needed": pgettext("statement", "only with your consent"),
            "always_on": pgettext("statement", "always on"),
            "controller": pgettext("statement", "Controller"),
            "head_office": pgettext("statement", "Head office"),
            "phone": pgettext("statement", "Telephone"),
            "email": pgettext("statement", "E-mail"),
            "website": pgettext("statement", "Website"),
            "address": pgettext("statement", "Address"),
            "authority": pgettext("statement", "Supervisory authority"),
            "article": pgettext("statement", "Art."),
            "transfer_eea": pgettext("statement", "within the EEA"),
            "transfer_adequacy": pgettext("statement", "EU adequacy decision"),
            "transfer_scc": pgettext("statement", "EU model clauses (SCC)"),
            "scc_version": pgettext("statement", "version {version}"),
            "agreement_ends": pgettext("statement", "until {day} inclusive"),
            "demo_register": pgettext("statement", "The register of processors still holds example data, so it is not "
                                                   "shown here."),
            "demo_entries": pgettext("statement", "Entries that are still example data are not shown here."),
            "demo_ask": pgettext("statement", "You can always ask us for the current list of processors and "
                                              "sub-processors."),
            "transfers_demo": pgettext("statement", "not yet established, as the register of processors still holds "
                                                    "example data"),
            "transfers_none": pgettext("statement", "none: all our processors and sub-processors are established in "
                                                    "the EEA"),
        }


def _amount(amount: int, unit: str) -> str:
    """``36`` months -> "36 maanden" / "36 months" (in the current language)."""
    npgettext = i18n.npgettext
    if unit == "years":
        words = npgettext("statement", "%(num)d year", "%(num)d years", amount)
    elif unit == "months":
        words = npgettext("statement", "%(num)d month", "%(num)d months", amount)
    elif unit == "weeks":
        words = npgettext("statement", "%(num)d week", "%(num)d weeks", amount)
    else:
        words = npgettext("statement", "%(num)d day", "%(num)d days", amount)
    return words % {"num": amount}


UNITS = ("years", "months", "weeks", "days")
_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")
_PLACEHOLDER = re.compile(r"\{([a-z_]+)(?::([a-z0-9_]+))?\}")

_env = Environment(
    loader=PackageLoader("kluis", "templates"),
    autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=True),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)
# The page's frame (links to the privacy centre) is in the gettext catalogs (docs/i18n.md); render_statement speaks
# the statement's language while it renders.
i18n.install(_env)


@dataclass(frozen=True)
class Period:
    """When the version shown applies, and when a published next version takes effect (a notice on the page)."""

    effective_from: datetime
    until: datetime | None = None
    upcoming: datetime | None = None


def render_statement(policy: Policy, lang: Lang, fmt: Format, version: str | None = None,
                     period: Period | None = None, pinned: int | None = None) -> str:
    """The whole public privacy statement in one language, as an HTML page or as Markdown. ``pinned``: the stored
    version the address asked for (``?version=N``), which the language switch keeps."""
    if lang not in LANGS:
        raise ValueError(f"unknown language '{lang}'; use one of {', '.join(LANGS)}")
    if fmt not in FORMATS:
        raise ValueError(f"unknown format '{fmt}'; use one of {', '.join(FORMATS)}")
    view = statement_view(policy, lang, version, period)
    other = view["other_lang"]
    switch = f"?version={pinned}&lang={other}" if pinned is not None else f"?lang={other}"
    template = _env.get_template(f"policy/statement.{fmt}")
    with i18n.speaking(lang):
        return template.render(s=view, label=view["labels"], paras=_paragraphs(str(policy.dpo.email)), switch=switch)


def statement_view(policy: Policy, lang: Lang, version: str | None = None,
                   period: Period | None = None) -> dict[str, Any]:
    """Everything the statement says, as plain strings in ``lang``, in the statement's order."""
    return _Statement(policy, lang).view(version, period)


def moment_text(at: datetime, lang: Lang) -> str:
    """An instant as people in the Netherlands read it: "1 januari 2027 om 00:00" / "1 January 2027 at 00:00"."""
    local = at.astimezone(AMSTERDAM)
    day = i18n.long_day(local.date(), lang)
    with i18n.speaking(lang):
        return i18n.pgettext("statement", "%(day)s at %(time)s") % {"day": day, "time": f"{local:%H:%M}"}


def fill(policy: Policy, text: str, lang: Lang) -> str:
    """Put the DPO's address, the names of controller and authority, and retention terms into a text's
    placeholders. ``{term:RULE}`` and ``{with_consent:RULE}`` say a retention rule's term in words, so a
    sentence about a term changes with the rule (the loader refuses a term written by hand)."""
    values = {"dpo_email": str(policy.dpo.email), "controller": policy.controller.short_name,
              "authority": policy.supervisory_authority.name.get(lang)}
    if "{transfers}" in text:
        values["transfers"] = transfers_text(policy, lang)
    rules = {r.id: r for r in policy.retention}

    def value(match: re.Match[str]) -> str:
        name, rule_id = match.group(1), match.group(2)
        if rule_id is None:
            return values.get(name, match.group(0))
        rule = rules.get(rule_id)
        term = None if rule is None else rule.term if name == "term" else rule.with_consent
        return term_text(term, lang) if term is not None else match.group(0)

    return _PLACEHOLDER.sub(value, text)


def shown_processors(policy: Policy) -> list[Processor]:
    """The processors the public statement names: not the register's example (demo) entries."""
    return [p for p in policy.processors if not p.demo]


def safeguard_text(transfer: Transfer | None, scc_version: str | None, lang: Lang) -> str:
    """``scc`` with ``2021/914`` -> "EU model clauses (SCC), version 2021/914"."""
    text = labels(lang)[f"transfer_{transfer or Transfer.EEA}"]
    if transfer == Transfer.SCC and scc_version:
        text += ", " + labels(lang)["scc_version"].format(version=scc_version)
    return text


def transfers_text(policy: Policy, lang: Lang) -> str:
    """``{transfers}``: each country outside the EEA that the register's (sub-)processors send data to, with its
    safeguard, from the register itself, so the sentence changes when the register does. Example entries are not
    stated as facts."""
    shown = shown_processors(policy)
    if not shown and policy.processors:
        return labels(lang)["transfers_demo"]
    found: dict[tuple[str, str], None] = {}
    for processor in shown:
        parties = [(processor.country, processor.transfer, processor.scc_version)]
        parties += [(s.country, s.transfer, s.scc_version) for s in processor.sub_processors]
        for country, transfer, version in parties:
            if country not in EEA:
                found[(country_name(country, lang), safeguard_text(transfer, version, lang))] = None
    if not found:
        return labels(lang)["transfers_none"]
    return format_list([f"{country} ({safeguard})" for country, safeguard in sorted(found)], locale=LOCALES[lang])


def term_text(term: Term, lang: Lang) -> str:
    """``{"months": 36}`` -> "36 maanden" / "36 months"."""
    with i18n.speaking(lang):
        parts = [_amount(getattr(term, unit), unit) for unit in UNITS if getattr(term, unit)]
    return format_list(parts, locale=LOCALES[lang])


def join(items: list[str], lang: Lang) -> str:
    """``["a", "b", "c"]`` -> "a, b en c" / "a, b and c"."""
    return format_list(items, locale=LOCALES[lang]) if items else labels(lang)["none"]


def country_name(code: str, lang: Lang) -> str:
    """``"US"`` -> "Verenigde Staten" / "United States"."""
    return str(Locale.parse(LOCALES[lang]).territories.get(code, code))


class _Statement:
    """The statement's sections in one language."""

    def __init__(self, policy: Policy, lang: Lang) -> None:
        self.policy, self.lang, self.locale = policy, lang, LOCALES[lang]

    def t(self, text: Text) -> str:
        return fill(self.policy, text.get(self.lang), self.lang)

    def label(self, key: str) -> str:
        return labels(self.lang)[key]

    def join(self, items: list[str]) -> str:
        return join(items, self.lang)

    def date(self, value: date) -> str:
        return i18n.long_day(value, self.lang)

    def country(self, code: str) -> str:
        return country_name(code, self.lang)

    def address(self, address: Address) -> str:
        return f"{address.street}, {address.postcode} {address.city}, {self.country(address.country)}"

    def view(self, version: str | None, period: Period | None = None) -> dict[str, Any]:
        policy, t, texts = self.policy, self.t, self.policy.texts
        upcoming = period.upcoming if period is not None else None
        return {
            "lang": self.lang,
            "other_lang": i18n.other(self.lang),
            "other_name": i18n.NAMES[i18n.other(self.lang)],
            "labels": labels(self.lang),
            "title": t(policy.meta.title),
            "effective": moment_text(period.effective_from, self.lang) if period is not None
            else self.date(policy.meta.effective_from),
            "until": moment_text(period.until, self.lang) if period is not None and period.until else "",
            "upcoming": self.label("upcoming").format(moment=moment_text(upcoming, self.lang)) if upcoming else "",
            "history_url": "/privacy/history" + i18n.query(self.lang),
            "notice": self.label("notice").format(days=policy.changes.notice_days),
            "version": version or "",
            "intro": t(texts.intro),
            "categories_intro": t(texts.categories_intro),
            "categories": [{"name": t(c.name), "examples": self.join([t(f.name) for f in c.fields])}
                           for c in policy.categories],
            "no_special_data": t(texts.no_special_data),
            "special": self.join([t(s.name).lower() for s in policy.special_categories]),
            "subjects": [self._named(s) for s in policy.subjects],
            "collection_intro": t(texts.collection_intro),
            "sources": [self._named(s) for s in policy.sources],
            "cookies_note": t(texts.cookies_note),
            "cookies": [self._named(c) | {"consent": self.label("consent_needed" if c.consent_required
                                                                 else "always_on")}
                        for c in policy.cookie_categories],
            "purposes_intro": t(texts.purposes_intro),
            "groups": self._groups(),
            "processor_role_note": t(texts.processor_role_note),
            "legal_bases_intro": t(texts.legal_bases_intro),
            "legal_bases": self._legal_bases(),
            "roles": [{"name": t(r.name), "explanation": t(r.explanation)} for r in policy.roles],
            "sharing_within": t(texts.sharing_within),
            "recipients_within": [self._named(r) for r in policy.recipients if r.kind == RecipientKind.GROUP],
            "sharing_outside": t(texts.sharing_outside),
            "recipients_outside": [self._named(r) for r in policy.recipients if r.kind != RecipientKind.GROUP],
            "processors_intro": t(texts.processors_intro),
            "processors": [self._processor(p) for p in shown_processors(policy)],
            "demo_notice": self._demo_notice(),
            "sub_processors_on_request": t(texts.sub_processors_on_request),
            "retention_intro": t(texts.retention_intro),
            "retention": [self._retention(r) for r in policy.retention],
            "retention_contact": t(texts.retention_contact),
            "rights": [self._right(r) for r in policy.rights if r.id not in ("marketing_opt_out", "complaint")],
            "rights_requests": t(texts.rights_requests),
            "opt_out": self._opt_out(),
            "marketing_interest": t(texts.marketing_interest),
            "marketing_email_consent": t(texts.marketing_email_consent),
            "cookie_opt_out": t(texts.cookie_opt_out),
            "administrative_messages": t(texts.administrative_messages),
            "complaint": self._complaint(),
            "controller": {
                "description": t(policy.controller.description), "name": t(policy.controller.name),
                "address": self.address(policy.controller.address), "phone": policy.controller.phone,
                "website": policy.controller.website,
            },
            "dpo": {"title": t(policy.dpo.title), "email": str(policy.dpo.email), "role": t(policy.dpo.role)},
            "feedback": t(texts.feedback),
            "complaints_handling": t(texts.complaints_handling),
            "changes": t(texts.changes),
        }

    def _named(self, item: Any) -> dict[str, str]:
        return {"name": self.t(item.name), "description": self.t(item.description)}

    def _groups(self) -> list[dict[str, Any]]:
        groups = [(g, self.policy.purposes_in_group(g.id)) for g in self.policy.purpose_groups]
        return [{"name": self.t(g.name), "purposes": [self._purpose(p) for p in purposes]}
                for g, purposes in groups if purposes]

    def _purpose(self, purpose: Purpose) -> dict[str, str]:
        bases = {b.id: b for b in self.policy.legal_bases}
        roles = {r.id: r for r in self.policy.roles}
        names = {c.id: self.t(c.name).lower() for c in self.policy.categories}
        routes = {r.id: self.t(r.name) for r in self.policy.withdrawal_routes}
        return self._named(purpose) | {
            "basis": self.t(bases[purpose.basis].name) if purpose.basis in bases else "",
            "role": self.t(roles[purpose.role].name) if purpose.role in roles else "",
            "interest": self.t(purpose.interest) if purpose.interest else "",
            "data": self.join([names[c] for c in purpose.categories if c in names]),
            "withdrawal": self.join([routes[r] for r in purpose.withdrawal if r in routes])
            if purpose.withdrawal else "",
        }

    def _legal_bases(self) -> list[dict[str, str]]:
        used = [(b, [p for p in self.policy.purposes if p.basis == b.id]) for b in self.policy.legal_bases]
        return [{"name": self.t(b.name), "explanation": self.t(b.explanation),
                 "purposes": self.join([self.t(p.name) for p in purposes])}
                for b, purposes in used if purposes]

    def _processor(self, processor: Processor) -> dict[str, Any]:
        agreement = processor.agreement
        dates = []
        if agreement is not None and agreement.signed is not None:
            dates.append(self.date(agreement.signed))
        if agreement is not None and agreement.ends is not None:
            dates.append(self.label("agreement_ends").format(day=self.date(agreement.ends)))
        return {
            "name": processor.name, "service": self.t(processor.service),
            "country": self.country(processor.country),
            "safeguard": safeguard_text(processor.transfer, processor.scc_version, self.lang),
            "agreement": ", ".join([agreement.reference, *dates]) if agreement else "",
            "sub_processors": [f"{s.name} ({self.t(s.service)}; {self.country(s.country)}; "
                               f"{safeguard_text(s.transfer, s.scc_version, self.lang)})"
                               for s in processor.sub_processors],
        }

    def _demo_notice(self) -> str:
        """When the register still holds example entries: a notice in their place (none are shown as real)."""
        if not any(p.demo for p in self.policy.processors):
            return ""
        which = "demo_register" if not shown_processors(self.policy) else "demo_entries"
        return f"{self.label(which)} {self.label('demo_ask')}"

    def _retention(self, rule: RetentionRule) -> dict[str, str]:
        trigger = next((self.t(x.name) for x in self.policy.retention_triggers if x.id == rule.trigger),
                       str(rule.trigger))
        activities = ""
        if rule.activities:
            activities = self.label("activities").format(
                counted=self.join([self.t(a.name) for a in self.policy.activities if a.id in rule.activities]),
                ignored=self.join([self.t(a.name) for a in self.policy.activities if not a.by_person]),
            )
        return {
            "name": self.t(rule.name),
            "term": f"{term_text(rule.term, self.lang)} {trigger}",
            "with_consent": f"{self.label('with_consent')}: {term_text(rule.with_consent, self.lang)} {trigger}"
            if rule.with_consent else "",
            "reason": self.t(rule.reason) if rule.reason else "",
            "kept_on_erasure": self.label("kept_on_erasure") if rule.keep_on_erasure else "",
            "activities": activities,
        }

    def _right(self, right: Right) -> dict[str, str]:
        with i18n.speaking(self.lang):
            law = i18n.pgettext("statement", "GDPR")
        return self._named(right) | {"article": f"{self.label('article')} {right.article} {law}"}

    def _opt_out(self) -> dict[str, Any]:
        right = self.policy.right("marketing_opt_out")
        routes = {r.id: r for r in self.policy.withdrawal_routes}
        return self._named(right) | {
            "routes": [{"letter": routes[r].letter or "", "text": self.t(routes[r].description)}
                       for r in right.routes if r in routes]}

    def _complaint(self) -> dict[str, str]:
        authority = self.policy.supervisory_authority
        return self._named(self.policy.right("complaint")) | {
            "authority": self.t(authority.name), "website": authority.website,
            "address": self.address(authority.address), "phone": authority.phone}


def _paragraphs(email: str) -> Any:
    """For the HTML template: escaped paragraphs, with the DPO's address as a mail link."""
    link = Markup('<a href="mailto:{0}">{0}</a>').format(email)

    def paragraphs(text: str) -> Markup:
        paras = [p.strip() for p in _PARAGRAPH_BREAK.split(text) if p.strip()]
        return Markup("\n").join(Markup("<p>{}</p>").format(link.join(escape(part) for part in p.split(email)))
                                 for p in paras)

    return paragraphs
