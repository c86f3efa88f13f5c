"""The consistency rules of the policy (R-POL-2): pure checks on a validated ``Policy``.

Each check yields problems with a path built from ids (``purposes.marketing_email.withdrawal``); the
loader adds the file and line. A policy with any problem is refused as a whole.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from babel import Locale

from kluis.kit.errors import Invalid, Problem
from kluis.kit.messages import N_
from kluis.policy.schemas import (
    BasisWrite,
    Dataset,
    DatasetTable,
    ErasureStrategy,
    IdentityKind,
    LegalBasis,
    Policy,
    Purpose,
    RecipientKind,
    SpecialCategory,
    Transfer,
    Trigger,
    did_you_mean,
)
from kluis.policy.special import special_names, special_reason

EEA = frozenset({
    "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU", "IE", "IT", "LT",
    "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK", "IS", "LI", "NO",
})
# Countries with an EU adequacy decision (Art. 45 GDPR). For the US it covers only organisations
# certified under the EU-US Data Privacy Framework: check the certification before choosing it.
ADEQUACY = frozenset({"AD", "AR", "CA", "CH", "FO", "GB", "GG", "IL", "IM", "JE", "JP", "KR", "NZ", "US", "UY"})
# ISO 3166-1 alpha-2 codes, as the statement names countries (Babel's territories, without its private and
# grouping codes).
COUNTRIES = frozenset(code for code in map(str, Locale.parse("en").territories)
                      if len(code) == 2 and code.isalpha() and code not in {"EU", "EZ", "UN", "QO", "ZZ", "XA", "XB"})
# The rights the statement promises; a policy may word them, not drop them.
REQUIRED_RIGHTS = ("access", "portability", "rectification", "erasure", "restriction", "objection",
                   "marketing_opt_out", "complaint")
# Names a text may use; they are filled in from the controller, DPO and authority sections and the register.
# {transfers} states the countries outside the EEA that the processors register sends data to, with their safeguards.
PLACEHOLDERS = frozenset({"dpo_email", "controller", "authority", "transfers"})
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
# A number with a unit of time, in Dutch or English: a term some text states itself instead of taking it from
# the retention rule it belongs to ("36 maanden", "7 years").
_TERM_BY_HAND = re.compile(r"\b\d+\s*(jaar|jaren|maand|maanden|week|weken|dag|dagen|years?|months?|weeks?|days?)\b",
                           re.IGNORECASE)


@dataclass(frozen=True)
class PolicyProblem(Problem):
    """A problem in a policy file: which file, where in it (path and, when known, line) and why."""

    file: str = ""
    line: int | None = None

    @property
    def reason(self) -> str:
        return self.message

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.path}: {self.message}" if where else f"{self.path}: {self.message}"

    def as_dict(self) -> dict[str, str]:
        data = super().as_dict() | {"file": self.file}
        return data | ({"line": str(self.line)} if self.line else {})


@dataclass
class PolicyInvalid(Invalid):
    code: str = "policy_invalid"

    def __str__(self) -> str:
        return "\n".join([self.message, *(str(p) for p in self.problems)])


def check(policy: Policy) -> list[Problem]:
    """Every inconsistency in the policy; an empty list means it may be loaded."""
    return [problem for rule in RULES for problem in rule(policy)]


def _duplicate_ids(policy: Policy) -> Iterator[Problem]:
    sections: dict[str, list[Any]] = {name: getattr(policy, name) for name in _ID_SECTIONS}
    sections |= {f"categories.{c.id}.fields": c.fields for c in policy.categories}
    for section, items in sections.items():
        counts = Counter(str(item.id) for item in items)
        for item_id, count in counts.items():
            if count > 1:
                yield Problem(f"{section}.{item_id}", "duplicate_id",
                              f"id '{item_id}' is used {count} times; ids must be unique")


def _purposes(policy: Policy) -> Iterator[Problem]:
    groups = [g.id for g in policy.purpose_groups]
    routes = [r.id for r in policy.withdrawal_routes]
    for purpose in policy.purposes:
        at = f"purposes.{purpose.id}"
        if purpose.basis is None:
            yield Problem(f"{at}.basis", "missing_basis",
                          f"purpose has no legal basis; choose one of {_choices(LegalBasis)}")
        if purpose.role is None:
            yield Problem(f"{at}.role", "missing_role",
                          "purpose does not say whether benVitaal is controller or processor")
        if purpose.group not in groups:
            yield Problem(f"{at}.group", "unknown_reference",
                          f"unknown purpose group '{purpose.group}'{did_you_mean(purpose.group, groups)}")
        if purpose.basis == LegalBasis.CONSENT and not purpose.withdrawal:
            yield Problem(f"{at}.withdrawal", "consent_without_withdrawal",
                          "a consent purpose needs at least one withdrawal route (consent can always be "
                          f"withdrawn); known routes: {', '.join(routes)}")
        if purpose.basis == LegalBasis.LEGITIMATE_INTEREST and purpose.interest is None:
            yield Problem(f"{at}.interest", "missing_interest",
                          "a legitimate-interest purpose must state the interest it serves")
        yield from _special_use(policy, purpose)
        yield from _basis_writes(purpose)
        yield from _references(f"{at}.categories", "category", purpose.categories, policy.category_ids,
                               special=policy.special_categories)
        yield from _references(f"{at}.subjects", "data subject", purpose.subjects, policy.subject_ids)
        yield from _references(f"{at}.sources", "source", purpose.sources, policy.source_ids)
        yield from _references(f"{at}.withdrawal", "withdrawal route", purpose.withdrawal, routes)


# Which bases a write may create (R-GATE-1): a person is registered for a contract, or to ask their consent; a
# relation is a contract's. Consent and objection are the person's own decisions: any purpose's key may pass them on
# (the account page does, for the signed-in person), and a consent or legitimate-interest purpose must.
_BASIS_WRITE_FITS = {
    BasisWrite.REGISTER: (LegalBasis.CONTRACT, LegalBasis.CONSENT),
    BasisWrite.RELATION: (LegalBasis.CONTRACT,),
}


def _basis_writes(purpose: Purpose) -> Iterator[Problem]:
    """The writes a purpose's key may make before the gate allows the purpose: a registration or relation only
    where it creates the purpose's own basis, and what the person decides (consent, objection) always where
    the basis rests on it."""
    at = f"purposes.{purpose.id}.basis_writes"
    for write in purpose.basis_writes:
        fits = _BASIS_WRITE_FITS.get(write)
        if fits is not None and purpose.basis is not None and purpose.basis not in fits:
            yield Problem(at, "basis_write_unfit", f"'{write}' creates no {purpose.basis} basis; it fits a purpose "
                          f"on {' or '.join(str(b) for b in fits)}")
    if len(set(purpose.basis_writes)) != len(purpose.basis_writes):
        yield Problem(at, "basis_write_repeated", "each write is named once")
    if purpose.basis == LegalBasis.CONSENT and BasisWrite.CONSENT not in purpose.basis_writes:
        yield Problem(at, "consent_write_missing", "a consent purpose names 'consent': giving and withdrawing it "
                      "must be recordable for anyone")
    if purpose.basis == LegalBasis.LEGITIMATE_INTEREST and BasisWrite.OBJECTION not in purpose.basis_writes:
        yield Problem(at, "objection_write_missing", "a legitimate-interest purpose names 'objection': an "
                      "objection must be recordable for anyone (Art. 21)")


def _special_use(policy: Policy, purpose: Purpose) -> Iterator[Problem]:
    special = {c.id for c in policy.categories if c.special}
    for category_id in purpose.categories:
        if category_id in special:
            yield Problem(f"purposes.{purpose.id}.categories", "special_category",
                          f"uses category '{category_id}', which is marked special: {special_reason(None)}")


def _categories(policy: Policy) -> Iterator[Problem]:
    for category in policy.categories:
        at = f"categories.{category.id}"
        if category.special:
            yield Problem(f"{at}.special", "special_category",
                          f"the category is marked special: {special_reason(None)}")
        yield from _references(f"{at}.self_editable", "field", category.self_editable, category.field_ids())


def _retention(policy: Policy) -> Iterator[Problem]:
    activities = {a.id: a for a in policy.activities}
    for rule in policy.retention:
        at = f"retention.{rule.id}"
        yield from _references(f"{at}.categories", "category", rule.categories, policy.category_ids)
        yield from _references(f"{at}.purposes", "purpose", rule.purposes, policy.purpose_ids)
        yield from _references(f"{at}.activities", "activity", rule.activities, activities)
        if rule.trigger == Trigger.LAST_ACTIVITY and not rule.activities:
            yield Problem(f"{at}.activities", "missing_activities",
                          "a rule counted from the last activity must say which activities count")
        if rule.activities and rule.trigger != Trigger.LAST_ACTIVITY:
            yield Problem(f"{at}.activities", "unused_activities",
                          f"activities only apply to the trigger '{Trigger.LAST_ACTIVITY}'")
        for activity_id in rule.activities:
            if activity_id in activities and not activities[activity_id].by_person:
                yield Problem(f"{at}.activities", "not_person_activity",
                              f"'{activity_id}' is not something the person did, so it cannot keep "
                              "their data alive")
        if rule.with_consent is not None and not rule.with_consent.is_longer_than(rule.term):
            yield Problem(f"{at}.with_consent", "consent_term_not_longer",
                          "the term with consent must be longer than the term without it")
    yield from _retention_coverage(policy)


def _retention_coverage(policy: Policy) -> Iterator[Problem]:
    for category in policy.categories:
        if not policy.retention_rules_for(category.id):
            yield Problem(f"categories.{category.id}", "no_retention_rule",
                          f"no retention rule covers category '{category.id}'; add one under retention")
    for purpose in policy.purposes:
        for category_id in purpose.categories:
            if category_id in policy.category_ids and not policy.retention_rules_for(category_id, purpose.id):
                yield Problem(f"purposes.{purpose.id}.categories", "no_retention_rule",
                              f"no retention rule covers category '{category_id}' kept for this purpose")


def _processors(policy: Policy) -> Iterator[Problem]:
    for processor in policy.processors:
        at = f"processors.{processor.id}"
        agreement = processor.agreement
        if agreement is None:
            yield Problem(f"{at}.agreement", "missing_agreement",
                          "no data-processing agreement (verwerkersovereenkomst) is recorded")
        elif agreement.signed is not None and agreement.ends is not None and agreement.ends < agreement.signed:
            yield Problem(f"{at}.agreement.ends", "agreement_ends_before_signed",
                          f"the agreement ends on {agreement.ends}, before it was signed on {agreement.signed}")
        yield from _transfer(at, processor.country, processor.transfer, processor.scc_version)
        for index, sub in enumerate(processor.sub_processors):
            yield from _transfer(f"{at}.sub_processors.{index}", sub.country, sub.transfer, sub.scc_version)
        yield from _references(f"{at}.categories", "category", processor.categories, policy.category_ids)


def _transfer(at: str, country: str, transfer: Transfer | None, scc_version: str | None) -> Iterator[Problem]:
    if country not in COUNTRIES:
        yield Problem(f"{at}.country", "unknown_country",
                      f"'{country}' is not a country code (ISO 3166-1 alpha-2, e.g. NL, DE, US)")
        return
    gap = transfer_gap(country, transfer, scc_version)
    if gap is not None:
        code, message = gap
        yield Problem(f"{at}.scc_version" if code == "scc_without_version" else f"{at}.transfer", code, message)
    if scc_version is not None and transfer != Transfer.SCC:
        yield Problem(f"{at}.scc_version", "unused_scc_version",
                      "scc_version only applies to transfer 'scc' (EU standard contractual clauses)")


def transfer_gap(country: str, transfer: Transfer | None, scc_version: str | None) -> tuple[str, str] | None:
    """Why a transfer to ``country`` under ``transfer`` is not lawful (code, reason), or None when it is: inside
    the EEA; outside it, an EU adequacy decision that covers the country, or EU standard contractual clauses
    whose version is stated (R-SHR-2)."""
    if country in EEA:
        return None
    # Marked for the catalogs: the refusal of a share reaches Dutch console pages (``kit.i18n.translate``).
    if transfer in (None, Transfer.EEA):
        return ("transfer_without_safeguard",
                N_("'%(country)s' is outside the EEA: state 'adequacy' (EU adequacy decision) or 'scc' "
                   "(EU standard contractual clauses, with scc_version)", country=country))
    if transfer == Transfer.ADEQUACY and country not in ADEQUACY:
        return ("transfer_without_safeguard",
                N_("no EU adequacy decision covers '%(country)s'; use 'scc' (EU standard contractual clauses)",
                   country=country))
    if transfer == Transfer.SCC and not scc_version:
        return ("scc_without_version",
                N_("transfer 'scc' needs the version of the EU standard contractual clauses, e.g. "
                   "scc_version: \"2021/914\""))
    return None


def _recipients(policy: Policy) -> Iterator[Problem]:
    for recipient in policy.recipients:
        at = f"recipients.{recipient.id}"
        yield from _references(f"{at}.categories", "category", recipient.categories, policy.category_ids)
        if recipient.kind == RecipientKind.AUTHORITY and not recipient.requires_order:
            yield Problem(f"{at}.requires_order", "authority_without_order",
                          "authorities receive data only with a court order or similar order: set "
                          "requires_order: true")


def _rights_and_cookies(policy: Policy) -> Iterator[Problem]:
    routes = [r.id for r in policy.withdrawal_routes]
    present = {r.id for r in policy.rights}
    for right_id in REQUIRED_RIGHTS:
        if right_id not in present:
            yield Problem(f"rights.{right_id}", "missing_right", f"the statement promises the right '{right_id}'")
    for right in policy.rights:
        yield from _references(f"rights.{right.id}.routes", "withdrawal route", right.routes, routes)
        if right.id == "marketing_opt_out" and not right.routes:
            yield Problem(f"rights.{right.id}.routes", "missing_routes", "the opt-out right needs its routes")
    for cookie in policy.cookie_categories:
        at = f"cookie_categories.{cookie.id}"
        yield from _references(f"{at}.purposes", "purpose", cookie.purposes, policy.purpose_ids)
        yield from _references(f"{at}.withdrawal", "withdrawal route", cookie.withdrawal, routes)
        if cookie.consent_required and not cookie.withdrawal:
            yield Problem(f"{at}.withdrawal", "consent_without_withdrawal",
                          "cookies placed with consent need a way to withdraw it")


def _texts(policy: Policy) -> Iterator[Problem]:
    explained: dict[str, tuple[set[str], set[str | None]]] = {
        "legal_bases": ({t.id for t in policy.legal_bases}, {p.basis for p in policy.purposes}),
        "roles": ({t.id for t in policy.roles}, {p.role for p in policy.purposes}),
        "retention_triggers": ({t.id for t in policy.retention_triggers}, {r.trigger for r in policy.retention}),
    }
    for section, (texts, used) in explained.items():
        for value in sorted(v for v in used if v is not None and v not in texts):
            yield Problem(f"{section}.{value}", "missing_text", f"'{value}' is used but has no text here")
    terms = {f"term:{r.id}" for r in policy.retention} | {f"with_consent:{r.id}" for r in policy.retention
                                                          if r.with_consent is not None}
    for path, text in _strings(policy.model_dump(mode="json"), ""):
        for name in _PLACEHOLDER.findall(text):
            if name not in PLACEHOLDERS and name not in terms:
                yield Problem(path, "unknown_placeholder",
                              f"unknown placeholder '{{{name}}}'{did_you_mean(name, PLACEHOLDERS | terms)}")
        stated = _TERM_BY_HAND.search(text)
        if stated is not None:
            yield Problem(path, "term_by_hand",
                          f"'{stated.group(0)}' states a term by hand: write {{term:RULE}} (or {{with_consent:RULE}}) "
                          "with the retention rule's id, so the sentence changes when the rule does")


def _datasets(policy: Policy) -> Iterator[Problem]:
    for dataset in policy.datasets:
        counts = Counter(t.name for t in dataset.tables)
        for name, count in counts.items():
            if count > 1:
                yield Problem(f"datasets.{dataset.id}.tables.{name}", "duplicate_table",
                              f"table '{name}' is declared {count} times in this dataset")
        for table in dataset.tables:
            yield from _dataset_table(policy, dataset, table)


def _dataset_table(policy: Policy, dataset: Dataset, table: DatasetTable) -> Iterator[Problem]:
    at = f"datasets.{dataset.id}.tables.{table.name}"
    for column, category in table.columns.items():
        yield from _references(f"{at}.columns.{column}", "category", [category], policy.category_ids,
                               special=policy.special_categories)
    identity = table.identity
    kinds = [k.value for k in IdentityKind]
    if identity.kind not in kinds:
        yield Problem(f"{at}.identity.kind", "unknown_identity_kind",
                      f"unknown identity kind '{identity.kind}'{did_you_mean(identity.kind, kinds)}")
    if identity.column not in table.columns:
        yield Problem(f"{at}.identity.column", "identity_not_declared",
                      f"the identity column '{identity.column}' must also be declared under columns, with its "
                      "category")
    if identity.kind == IdentityKind.EMPLOYEE_NUMBER and not identity.scope:
        yield Problem(f"{at}.identity.scope", "scope_required",
                      "employee numbers are unique only within one employer: give the employer id as scope, "
                      "or rows of another employer's employee would be found")
    if identity.scope and identity.kind != IdentityKind.EMPLOYEE_NUMBER:
        yield Problem(f"{at}.identity.scope", "unused_scope", "only employee numbers have a scope")
    if table.strategy == ErasureStrategy.KEEP and table.kept_reason is None:
        yield Problem(f"{at}.kept_reason", "keep_without_reason",
                      "strategy 'keep' keeps the rows after an erasure request: state the legal obligation "
                      "that requires it (kept_reason), as it is shown to the person")
    if table.kept_reason is not None and table.strategy != ErasureStrategy.KEEP:
        yield Problem(f"{at}.kept_reason", "unused_kept_reason",
                      f"kept_reason only applies to strategy 'keep', not '{table.strategy}'")
    yield from _keep_columns(at, table)


def _keep_columns(at: str, table: DatasetTable) -> Iterator[Problem]:
    if table.keep_columns and table.strategy not in (ErasureStrategy.NULL_COLUMNS, ErasureStrategy.KEYED_HASH):
        yield Problem(f"{at}.keep_columns", "unused_keep_columns",
                      f"keep_columns only apply to strategies 'null_columns' and 'keyed_hash', not "
                      f"'{table.strategy}'")
        return
    yield from _references(f"{at}.keep_columns", "column", table.keep_columns, table.columns)
    if table.identity.column in table.keep_columns:
        yield Problem(f"{at}.keep_columns", "identity_kept",
                      f"the identity column '{table.identity.column}' cannot be kept: the rows would still "
                      "name the person after erasure")


def _strings(data: Any, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(data, str):
        yield path, data
    elif isinstance(data, dict):
        for key, value in data.items():
            yield from _strings(value, f"{path}.{key}" if path else key)
    elif isinstance(data, list):
        for index, item in enumerate(data):
            key = item_key(item) or str(index)
            yield from _strings(item, f"{path}.{key}")


def item_key(item: Any) -> str | None:
    """How a list item is named in a path: its ``id``, else a plain-text ``name`` (dataset tables)."""
    if isinstance(item, dict):
        for key in ("id", "name"):
            if isinstance(item.get(key), str):
                return str(item[key])
    return None


def _references(path: str, kind: str, names: Iterable[str], known: Iterable[str],
                special: Iterable[SpecialCategory] = ()) -> Iterator[Problem]:
    known_ids, specials = list(known), {s.id: s for s in special}
    for name in names:
        if name in known_ids:
            continue
        if name in specials:
            yield Problem(path, "special_category", f"'{name}' is {special_reason(specials[name])}")
        else:
            yield Problem(path, "unknown_reference", f"unknown {kind} '{name}'{did_you_mean(name, known_ids)}")


def _choices(enum: Iterable[Any]) -> str:
    return ", ".join(str(member) for member in enum)


_ID_SECTIONS = ("purpose_groups", "legal_bases", "roles", "categories", "subjects", "sources",
                "withdrawal_routes", "purposes", "recipients", "processors", "activities",
                "retention_triggers", "retention", "rights", "cookie_categories", "special_categories", "datasets")

RULES: tuple[Callable[[Policy], Iterable[Problem]], ...] = (
    _duplicate_ids, _purposes, _categories, special_names, _retention, _processors, _recipients,
    _rights_and_cookies, _texts, _datasets,
)
