"""What changed between two versions of the policy, and which changes are material (R-GOV-4). Pure.

A change is material when the statement promises more than before: a new purpose, a new category (for
the policy or for a purpose), a new recipient or processor (or one that receives more categories), a
longer retention term, another legal basis, or a transfer to a country that received nothing before.
Fewer purposes, shorter terms, removed parties and rewording are changes too, told on the history page,
but not material. Each change says whose data it touches (``categories``: people with data of one of
them are affected) and, where consent is the basis of the purpose it changes, which consent must be asked
again (``renew``). ``describe`` says a change in plain Dutch or English.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from kluis.kit import i18n
from kluis.policy.render import country_name, fill, join, labels, term_text
from kluis.policy.schemas import Lang, LegalBasis, Policy, Processor, Purpose, Recipient, RetentionRule, Term

MATERIAL = frozenset({"purpose_added", "basis_changed", "purpose_categories_added", "category_added",
                      "recipient_added", "recipient_categories_added", "processor_added",
                      "processor_categories_added", "country_added", "retention_longer"})


@dataclass(frozen=True)
class Change:
    kind: str
    subject: str  # the id it is about; "purpose.category" or "rule.with_consent" where one id is not enough
    categories: tuple[str, ...] = ()  # people with data of these categories are affected
    renew: tuple[str, ...] = ()  # consent purposes whose consent is asked again and does not cover the change

    @property
    def material(self) -> bool:
        return self.kind in MATERIAL

    @property
    def key(self) -> str:
        """How a mail or an audit event names the change: ``kind:subject``, ids only."""
        return f"{self.kind}:{self.subject}"


_diffs: dict[tuple[str, str], tuple[Change, ...]] = {}


def diff(old: Policy, new: Policy) -> tuple[Change, ...]:
    """Every change from ``old`` to ``new``, material ones first. Kept by content: a mail run describes the
    same change for every person it tells."""
    key = (old.content_hash, new.content_hash)
    found = _diffs.get(key)
    if found is None:
        changes = [*_purposes(old, new), *_categories(old, new),
                   *_parties("recipient", old.recipients, new.recipients),
                   *_parties("processor", old.processors, new.processors),
                   *_countries(old, new), *_retention(old, new)]
        changes += _reworded(old, new, {(_SECTION[c.kind], c.subject.partition(".")[0]) for c in changes})
        found = tuple(sorted(changes, key=lambda c: not c.material))
        if len(_diffs) >= 32:
            _diffs.clear()
        _diffs[key] = found
    return found


def redates(old: Policy, new: Policy) -> bool:
    """Whether records' due dates may differ under ``new``: its retention rules, what counts as the person's own
    activity or source, or the triggers changed."""
    sections = {"retention", "activities", "sources", "retention_triggers"}
    return old.model_dump(mode="json", include=sections) != new.model_dump(mode="json", include=sections)


def material(changes: Iterable[Change]) -> tuple[Change, ...]:
    return tuple(c for c in changes if c.material)


def _consent(purpose: Purpose | None) -> tuple[str, ...]:
    return (purpose.id,) if purpose is not None and purpose.basis == LegalBasis.CONSENT else ()


def _purposes(old: Policy, new: Policy) -> Iterator[Change]:
    before = {p.id: p for p in old.purposes}
    for purpose in new.purposes:
        was = before.get(purpose.id)
        cats = tuple(purpose.categories)
        if was is None:
            yield Change("purpose_added", purpose.id, cats, _consent(purpose))
            continue
        if was.basis != purpose.basis:
            yield Change("basis_changed", purpose.id, cats, _consent(purpose))
        if was.role != purpose.role:
            yield Change("role_changed", purpose.id, cats)
        added = [c for c in purpose.categories if c not in was.categories]
        if added:
            # Everyone whose data serves the purpose now: more of their data will be used for it.
            yield Change("purpose_categories_added", f"{purpose.id}.{'.'.join(added)}", cats, _consent(purpose))
        if any(c not in purpose.categories for c in was.categories):
            yield Change("purpose_categories_removed", purpose.id)
    now = {p.id for p in new.purposes}
    yield from (Change("purpose_removed", p.id) for p in old.purposes if p.id not in now)


def _categories(old: Policy, new: Policy) -> Iterator[Change]:
    yield from (Change("category_added", c.id, (c.id,)) for c in new.categories if c.id not in old.category_ids)
    yield from (Change("category_removed", c.id) for c in old.categories if c.id not in new.category_ids)


def _parties(party: str, old: Sequence[Recipient | Processor], new: Sequence[Recipient | Processor]
             ) -> Iterator[Change]:
    """Recipients or processors (``party``): added, removed, or given more categories than before."""
    before = {p.id: p for p in old}
    for one in new:
        was = before.get(one.id)
        if was is None:
            yield Change(f"{party}_added", one.id, tuple(one.categories))
        elif added := tuple(c for c in one.categories if c not in was.categories):
            yield Change(f"{party}_categories_added", one.id, added)
    now = {p.id for p in new}
    yield from (Change(f"{party}_removed", p.id) for p in old if p.id not in now)


def transfers(policy: Policy) -> dict[str, tuple[str, ...]]:
    """Country -> the categories that go there, through a processor or one of its sub-processors."""
    found: dict[str, list[str]] = {}
    for processor in policy.processors:
        for country in {processor.country, *(s.country for s in processor.sub_processors)}:
            bucket = found.setdefault(country, [])
            bucket += [c for c in processor.categories if c not in bucket]
    return {country: tuple(cats) for country, cats in sorted(found.items())}


def _countries(old: Policy, new: Policy) -> Iterator[Change]:
    before = transfers(old)
    yield from (Change("country_added", country, cats) for country, cats in transfers(new).items()
                if country not in before)


def _longer(new: Term | None, old: Term | None) -> bool:
    return new is not None and (old is None or new.is_longer_than(old))


def _retention(old: Policy, new: Policy) -> Iterator[Change]:
    before = {r.id: r for r in old.retention}
    for rule in new.retention:
        was = before.get(rule.id)
        if was is None:
            yield Change("rule_added", rule.id)
            continue
        renew = tuple(p for pid in rule.purposes if pid in new.purpose_ids for p in _consent(new.purpose(pid)))
        cats = tuple(rule.categories)
        for part, now_term, was_term in (("", rule.term, was.term), (".with_consent", rule.with_consent,
                                                                       was.with_consent)):
            if _longer(now_term, was_term):
                yield Change("retention_longer", rule.id + part, cats, renew)
            elif _longer(was_term, now_term) or (was_term is not None and now_term is None):
                yield Change("retention_shorter", rule.id + part)
    now = {r.id for r in new.retention}
    yield from (Change("rule_removed", r.id) for r in old.retention if r.id not in now)


_SECTION = {"purpose_added": "purposes", "basis_changed": "purposes", "role_changed": "purposes",
            "purpose_categories_added": "purposes", "purpose_categories_removed": "purposes",
            "purpose_removed": "purposes", "category_added": "categories", "category_removed": "categories",
            "recipient_added": "recipients", "recipient_categories_added": "recipients",
            "recipient_removed": "recipients", "processor_added": "processors",
            "processor_categories_added": "processors", "processor_removed": "processors",
            "country_added": "processors", "retention_longer": "retention", "retention_shorter": "retention",
            "rule_added": "retention", "rule_removed": "retention"}


def _reworded(old: Policy, new: Policy, explained: set[tuple[str, str]]) -> list[Change]:
    """Sections that differ in other ways (wording, contact details, ...): told, never material. In a list
    section, only entries in both versions that no other change is about; the date in ``meta`` is shown with
    every version anyway."""
    before, after = old.model_dump(mode="json"), new.model_dump(mode="json")
    for dump in (before, after):
        dump["meta"].pop("effective_from", None)
    found = []
    for section, value in after.items():
        was = before.get(section)
        if isinstance(value, list) and isinstance(was, list):
            kept = {_item_id(item): item for item in was}
            if any(_item_id(item) in kept and kept[_item_id(item)] != item
                   and (section, _item_id(item)) not in explained for item in value):
                found.append(Change("reworded", section))
        elif was != value:
            found.append(Change("reworded", section))
    return found


def _item_id(item: Any) -> str:
    return str(item.get("id") or item.get("name")) if isinstance(item, dict) else str(item)


# --- in words --------------------------------------------------------------------------------------


@cache
def _words(lang: str) -> dict[str, str]:
    """Each kind of change as a sentence in ``lang`` (context "policy change" in the catalogs)."""
    pgettext = i18n.pgettext
    with i18n.speaking(lang):
        return {
            "purpose_added": pgettext("policy change", "New purpose: {purpose}. Legal basis: {basis}."),
            "basis_changed": pgettext("policy change",
                                      "{purpose}: the legal basis becomes {basis} (was: {old_basis})."),
            "role_changed": pgettext("policy change", "{purpose}: benVitaal becomes {role} (was: {old_role})."),
            "purpose_categories_added": pgettext("policy change", "{purpose}: we will also use {added} for this."),
            "purpose_categories_removed": pgettext("policy change", "{purpose}: we no longer use {removed} for this."),
            "purpose_removed": pgettext("policy change", "The purpose {purpose} ends."),
            "category_added": pgettext("policy change", "A new kind of data: {category}."),
            "category_removed": pgettext("policy change", "We no longer process: {category}."),
            "recipient_added": pgettext("policy change", "A new recipient: {recipient}, of {added}."),
            "recipient_categories_added": pgettext("policy change", "{recipient} will also receive {added}."),
            "recipient_removed": pgettext("policy change", "{recipient} no longer receives anything."),
            "processor_added": pgettext("policy change", "A new processor: {processor} ({service}, {country}), for "
                                                         "{added}."),
            "processor_categories_added": pgettext("policy change", "{processor} will also process {added}."),
            "processor_removed": pgettext("policy change", "{processor} is no longer our processor."),
            "country_added": pgettext("policy change", "Data will also go to {country}: {added}."),
            "retention_longer": pgettext("policy change", "{rule}: we keep it longer, {term} (was: {old_term})."),
            "retention_shorter": pgettext("policy change", "{rule}: we keep it for less time, {term} (was: "
                                                           "{old_term})."),
            "rule_added": pgettext("policy change", "A new retention period: {rule}, {term}."),
            "rule_removed": pgettext("policy change", "The retention period {rule} ends."),
            "reworded": pgettext("policy change", "Wording changed: {section}."),
            "none": pgettext("policy change", "nothing"),
            "no_term": pgettext("policy change", "not kept"),
            "example_processor": pgettext("policy change", "An example processor"),
        }


@cache
def _sections(lang: str) -> dict[str, str]:
    """The policy's sections as a changed wording names them, in ``lang``."""
    pgettext = i18n.pgettext
    with i18n.speaking(lang):
        return {
            "meta": pgettext("policy change", "title"),
            "controller": pgettext("policy change", "controller"),
            "dpo": pgettext("policy change", "data protection officer"),
            "supervisory_authority": pgettext("policy change", "supervisory authority"),
            "complaints": pgettext("policy change", "complaints"),
            "changes": pgettext("policy change", "changes"),
            "security_measures": pgettext("policy change", "security measures"),
            "texts": pgettext("policy change", "explanations"),
            "purpose_groups": pgettext("policy change", "groups of purposes"),
            "legal_bases": pgettext("policy change", "legal bases"),
            "roles": pgettext("policy change", "roles of benVitaal"),
            "categories": pgettext("policy change", "kinds of data"),
            "subjects": pgettext("policy change", "whose data we process"),
            "sources": pgettext("policy change", "how we collect data"),
            "withdrawal_routes": pgettext("policy change", "withdrawing consent"),
            "purposes": pgettext("policy change", "purposes"),
            "recipients": pgettext("policy change", "recipients"),
            "processors": pgettext("policy change", "processors"),
            "activities": pgettext("policy change", "what counts as activity"),
            "retention_triggers": pgettext("policy change", "when retention periods start"),
            "retention": pgettext("policy change", "retention periods"),
            "rights": pgettext("policy change", "your rights"),
            "cookie_categories": pgettext("policy change", "cookies"),
            "special_categories": pgettext("policy change", "special categories of data"),
            "datasets": pgettext("policy change", "our own databases"),
        }


def describe(change: Change, old: Policy, new: Policy, lang: Lang) -> str:
    """The change in one plain sentence, in ``lang``, from the names in the two versions."""
    words = _words(lang)
    values: dict[str, str] = {}

    def named(section: str, item_id: str) -> str:
        for policy in (new, old):
            for item in getattr(policy, section):
                if item.id == item_id:
                    return item.name if isinstance(item.name, str) else item.name.get(lang)
        return item_id

    def cats(ids: Iterable[str]) -> str:
        return join([named("categories", c).lower() for c in ids], lang) if ids else words["none"]

    def basis(policy: Policy, purpose_id: str) -> str:
        found = next((p.basis for p in policy.purposes if p.id == purpose_id), None)
        return next((b.name.get(lang).lower() for b in policy.legal_bases if b.id == found), str(found))

    def role(policy: Policy, purpose_id: str) -> str:
        found = next((p.role for p in policy.purposes if p.id == purpose_id), None)
        return next((r.name.get(lang).lower() for r in policy.roles if r.id == found), str(found))

    def rule_term(policy: Policy, rule_id: str, with_consent: bool) -> str:
        rule: RetentionRule | None = next((r for r in policy.retention if r.id == rule_id), None)
        term = None if rule is None else rule.with_consent if with_consent else rule.term
        if rule is None or term is None:
            return words["no_term"]
        trigger = next((t.name.get(lang) for t in policy.retention_triggers if t.id == rule.trigger), "")
        text = f"{term_text(term, lang)} {trigger}".strip()
        return f"{text} ({labels(lang)['with_consent']})" if with_consent else text

    head, _, tail = change.subject.partition(".")
    if change.kind in _SECTION and _SECTION[change.kind] == "purposes":
        values["purpose"] = named("purposes", head)
        values |= {"basis": basis(new, head), "old_basis": basis(old, head)}
        values |= {"role": role(new, head), "old_role": role(old, head)}
        values["added"] = cats(tail.split(".") if tail else ())
        was = next((p for p in old.purposes if p.id == head), None)
        now = next((p for p in new.purposes if p.id == head), None)
        values["removed"] = cats([c for c in (was.categories if was else []) if now and c not in now.categories])
    elif change.kind.startswith("category"):
        values["category"] = named("categories", head)
    elif change.kind.startswith("recipient"):
        values |= {"recipient": named("recipients", head), "added": cats(change.categories)}
    elif change.kind.startswith("processor"):
        processor: Processor | None = next((p for p in (*new.processors, *old.processors) if p.id == head), None)
        # An example (demo) entry is not named as if it were a real company (the history page is public).
        shown = head if processor is None else processor.name if not processor.demo else words["example_processor"]
        values |= {"processor": shown, "added": cats(change.categories),
                   "service": fill(new, processor.service.get(lang), lang) if processor else "",
                   "country": country_name(processor.country, lang) if processor else ""}
    elif change.kind == "country_added":
        values |= {"country": country_name(head, lang), "added": cats(change.categories)}
    elif change.kind in ("retention_longer", "retention_shorter", "rule_added", "rule_removed"):
        with_consent = tail == "with_consent"
        values |= {"rule": named("retention", head), "term": rule_term(new, head, with_consent),
                   "old_term": rule_term(old, head, with_consent)}
    elif change.kind == "reworded":
        values["section"] = _sections(lang).get(head, head.replace("_", " "))
    return words[change.kind].format(**values)
