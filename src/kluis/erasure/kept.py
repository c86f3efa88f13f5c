"""What an erasure keeps, in words the person reads (R-DSR-6, R-RET-3): per category, on which ground (the legal
obligation the policy names, or a legal hold), until when (an Amsterdam calendar date, or why it cannot be dated
yet) and the one purpose it is restricted to. The completion mail, the request's status page and the mail that
says an erasure is held back all use these lines, so they cannot say different things. Pure: no database.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from kluis.erasure.rules import HOLD_RULE, as_amsterdam_date
from kluis.kit import i18n
from kluis.kit.messages import N_
from kluis.policy.render import fill, term_text
from kluis.policy.schemas import Lang, Policy, RetentionRule

# English, translated into the reader's language where used (the catalogs).
WORDS: dict[str, str] = {
    "obligation": N_("Legal obligation: {reason}"),
    "hold": N_("A legal hold because of {reason}"),
    "hold_any": N_("legal proceedings, an audit or an investigation"),
    "hold_litigation": N_("legal proceedings"),
    "hold_tax_audit": N_("a tax audit"),
    "hold_authority_order": N_("an order of an authority"),
    "hold_investigation": N_("an investigation"),
    "hold_other": N_("another legal reason"),
    "until_term": N_("cannot be dated yet: the term is {term}, and that moment has not come yet"),
    "until_hold": N_("for as long as the hold lasts; it has no end date"),
    "restricted_to": N_("Used only for: {purposes}. For everything else it is restricted, and afterwards we erase it "
                        "without you having to ask again."),
    "hold_purpose": N_("the proceedings, audit or investigation the hold is for"),
    "all_data": N_("all your data"),
}


@dataclass(frozen=True)
class KeptLine:
    category: str
    records: int | None  # None: not counted (a hold on all of the person's data)
    ground: str
    until: str
    restricted_to: str


def _w(lang: Lang, key: str, **values: str) -> str:
    return i18n.say(WORDS[key], lang).format(**values)


def calendar_date(day: date, lang: Lang) -> str:
    """A calendar day as people write it: 31 december 2032 / 31 December 2032."""
    return i18n.long_day(day, lang)


def _category(policy: Policy, category: str, lang: Lang) -> str:
    return policy.category(category).name.get(lang) if category in policy.category_ids else category


def obliged_purposes(policy: Policy, rule: RetentionRule) -> list[str]:
    """The purposes kept data may still serve: the rule's purposes on a legal obligation (the gate allows only
    those to a restricted person), or all of the rule's purposes when it names none such."""
    known = [p for p in rule.purposes if p in policy.purpose_ids]
    return [p for p in known if policy.purpose(p).basis == "legal_obligation"] or known


def _rule_lines(policy: Policy, rule: RetentionRule, lang: Lang) -> tuple[str, str, str]:
    """(ground, undated until, restricted-to) of a legal-obligation rule."""
    reason = fill(policy, rule.reason.get(lang), lang) if rule.reason else rule.name.get(lang)
    trigger = next((t.name.get(lang) for t in policy.retention_triggers if t.id == rule.trigger), str(rule.trigger))
    purposes = ", ".join(policy.purpose(p).name.get(lang) for p in obliged_purposes(policy, rule))
    return (_w(lang, "obligation", reason=reason), _w(lang, "until_term", term=f"{term_text(rule.term, lang)} "
                                                                                 f"{trigger}"),
            _w(lang, "restricted_to", purposes=purposes or rule.name.get(lang)))


def from_erasure(policy: Policy, kept: Iterable[Mapping[str, Any]], lang: Lang) -> list[KeptLine]:
    """The lines of what a finished erasure kept (its job's ``result['vault']['kept']``)."""
    rules = {r.id: r for r in policy.retention}
    lines = []
    for item in kept:
        until = calendar_date(date.fromisoformat(item["until"]), lang) if item.get("until") else None
        rule = rules.get(str(item["rule"]))
        if item["rule"] == HOLD_RULE or rule is None:
            ground = _w(lang, "hold", reason=_w(lang, "hold_any"))
            undated, restricted = _w(lang, "until_hold"), _w(lang, "restricted_to",
                                                                purposes=_w(lang, "hold_purpose"))
        else:
            ground, undated, restricted = _rule_lines(policy, rule, lang)
        lines.append(KeptLine(_category(policy, str(item["category"]), lang), int(item["records"]), ground,
                              until or undated, restricted))
    return lines


def from_holds(policy: Policy, holds: Sequence[Any], lang: Lang) -> list[KeptLine]:
    """The lines of legal holds that keep all of a person's data from an erasure for now (``retention.holds``
    rows: reason, until)."""
    lines = []
    for hold in holds:
        reason = _w(lang, f"hold_{hold.reason}") if f"hold_{hold.reason}" in WORDS else _w(lang, "hold_any")
        until = as_amsterdam_date(hold.until)
        lines.append(KeptLine(_w(lang, "all_data"), None, _w(lang, "hold", reason=reason),
                              calendar_date(until, lang) if until else _w(lang, "until_hold"),
                              _w(lang, "restricted_to", purposes=_w(lang, "hold_purpose"))))
    return lines


def hold_reason_words(reason: str, lang: Lang) -> str:
    """A hold's reason in words (also for the access report)."""
    key = f"hold_{reason}"
    return _w(lang, key if key in WORDS else "hold_other")


def as_text(lines: Sequence[KeptLine], lang: Lang) -> list[str]:
    """One sentence per line, for a plain-text mail or a certificate's readers."""
    until = i18n.say(N_("Kept until"), lang)
    return [f"{line.category}" + (f" ({line.records})" if line.records is not None else "")
            + f": {line.ground} {until}: {line.until}. {line.restricted_to}" for line in lines]
