"""The shape of the policy file (``policy/benvitaal.yaml``): the privacy statement as data (R-POL-1).

Everything a person reads is a ``Text`` in Dutch and English. Ids are the words other code uses
(``policy.purpose("marketing_email")``); the consistency rules live in ``kluis.policy.rules``.
"""

from __future__ import annotations

import calendar
import difflib
import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from functools import cached_property
from types import MappingProxyType
from typing import Annotated, Any, Literal, Protocol, TypeVar

from pydantic import BaseModel, ConfigDict, EmailStr, Field, PrivateAttr, StringConstraints, model_validator

from kluis.kit.errors import Invalid

Lang = Literal["nl", "en"]
LANGS: tuple[Lang, ...] = ("nl", "en")

Id = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$", max_length=64)]
CountryCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]
Count = Annotated[int, Field(ge=0)]


class LegalBasis(StrEnum):
    CONTRACT = "contract"
    CONSENT = "consent"
    LEGITIMATE_INTEREST = "legitimate_interest"
    LEGAL_OBLIGATION = "legal_obligation"


class Role(StrEnum):
    CONTROLLER = "controller"
    PROCESSOR = "processor"


class BasisWrite(StrEnum):
    """A write that creates (or ends) the legal basis itself, so the gate cannot be asked about it first: the
    policy names, per purpose, which of them a key for that purpose may make for a person whom the gate refuses
    the purpose (R-GATE-1). Every other write and every lookup is decided like a read."""

    REGISTER = "register"  # a new person (POST /people): nobody has a contract, consent or relation before it
    RELATION = "relation"  # the relation that is the contract: recorded or ended
    CONSENT = "consent"  # consent given or withdrawn, marketing opt-in and opt-out
    OBJECTION = "objection"  # the person's objection (Art. 21)


class Transfer(StrEnum):
    """How a transfer to a processor is lawful: inside the EEA, an EU adequacy decision, or EU model clauses."""

    EEA = "eea"
    ADEQUACY = "adequacy"
    SCC = "scc"


class Trigger(StrEnum):
    """The event from which a retention term runs; the retention domain knows how to date each one."""

    FISCAL_YEAR_END_OF_SETTLEMENT = "fiscal_year_end_of_settlement"
    LAST_ACTIVITY = "last_activity"
    PROCEDURE_END = "procedure_end"
    COLLECTED = "collected"
    CONTRACT_END = "contract_end"


class RecipientKind(StrEnum):
    GROUP = "group"
    PUBLIC = "public"
    PARTNER = "partner"
    AUTHORITY = "authority"


class ErasureStrategy(StrEnum):
    """What erasure does to a dataset table's rows of the person (R-DSR-9)."""

    DELETE_ROW = "delete_row"
    NULL_COLUMNS = "null_columns"
    KEYED_HASH = "keyed_hash"
    KEEP = "keep"


class IdentityKind(StrEnum):
    """How a dataset table names a person: the identifier kinds the vault normalises (``kluis.vault.identifiers``)."""

    EMAIL = "email"
    PHONE = "phone"
    EMPLOYEE_NUMBER = "employee_number"


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Text(Model):
    """One sentence or paragraph as people read it, in both languages."""

    nl: str = Field(min_length=1)
    en: str = Field(min_length=1)

    def get(self, lang: Lang) -> str:
        return self.nl if lang == "nl" else self.en


class Address(Model):
    street: str
    postcode: str
    city: str
    country: CountryCode


class Meta(Model):
    title: Text
    effective_from: date


class Controller(Model):
    short_name: str
    name: Text
    address: Address
    phone: str
    website: str
    description: Text


class Dpo(Model):
    title: Text
    email: EmailStr
    role: Text


class SupervisoryAuthority(Model):
    name: Text
    website: str
    address: Address
    phone: str


class Complaints(Model):
    """How complaints are handled (R-GOV-2): the term to answer in, in Amsterdam calendar days from receipt."""

    answer_within_days: Annotated[int, Field(ge=1, le=90)] = 28


class Changes(Model):
    """How changes to the policy are announced (R-GOV-4): a material change is published at least
    ``notice_days`` days before it takes effect, and the people it affects are mailed before then."""

    notice_days: Annotated[int, Field(ge=1, le=365)] = 30


class Named(Model):
    id: Id
    name: Text


class Described(Named):
    description: Text


class PurposeGroup(Named):
    pass


class LegalBasisText(Model):
    id: LegalBasis
    name: Text
    explanation: Text


class RoleText(Model):
    id: Role
    name: Text
    explanation: Text


class DataField(Named):
    description: Text | None = None


class Category(Named):
    special: bool
    description: Text | None = None
    fields: list[DataField] = Field(min_length=1)
    self_editable: list[str] = []

    def field_ids(self) -> list[str]:
        return [f.id for f in self.fields]


class Subject(Described):
    pass


class Source(Described):
    """Where data comes from; ``by_person``: from the person themselves ("directly from you"), so writing it is
    their own doing and counts as their activity (R-RET-1). Data from anyone else runs from the person's clock."""

    by_person: bool = False


class WithdrawalRoute(Described):
    """A way to withdraw consent or opt out; the statement letters the marketing routes a–d."""

    letter: Annotated[str, StringConstraints(pattern=r"^[a-z]$")] | None = None


class Purpose(Described):
    group: str
    # Optional here so that a missing basis or role is reported by the rules with the purpose's id.
    basis: LegalBasis | None = None
    role: Role | None = None
    interest: Text | None = None
    categories: list[str] = Field(min_length=1)
    subjects: list[str] = Field(min_length=1)
    sources: list[str] = Field(min_length=1)
    withdrawal: list[str] = []
    basis_writes: list[BasisWrite] = []


class Recipient(Described):
    kind: RecipientKind
    requires_order: bool = False
    categories: list[str] = []
    # Where a correction or erasure is told (Art. 19); without one, staff tell the recipient another way.
    contact: EmailStr | None = None


def _unset(value: object) -> bool:
    """Fields added to the register after versions were stored are left out of the content while unset, so a
    stored version's content hash stays what it was (``Policy.content_hash``)."""
    return value is None or value is False


# The version of the EU standard contractual clauses: the Commission decision's number, e.g. "2021/914".
SccVersion = Annotated[str, StringConstraints(pattern=r"^\d{4}/\d{1,5}$")]


class Agreement(Model):
    """The data-processing agreement (verwerkersovereenkomst) with a processor: its reference, the day it was
    signed (none yet: being negotiated, so nothing may be shared) and the last day it covers (none: open-ended).
    Days are calendar days in Amsterdam: an agreement ending 2027-03-31 covers all of that day there."""

    reference: str = Field(min_length=1, max_length=80)
    signed: date | None = None
    ends: date | None = Field(default=None, exclude_if=_unset)


class SubProcessor(Model):
    name: str
    service: Text
    country: CountryCode
    transfer: Transfer | None = None
    scc_version: SccVersion | None = Field(default=None, exclude_if=_unset)


class Processor(Model):
    id: Id
    name: str
    service: Text
    country: CountryCode
    transfer: Transfer | None = None
    # With ``transfer: scc``: which standard contractual clauses the agreement includes.
    scc_version: SccVersion | None = Field(default=None, exclude_if=_unset)
    agreement: Agreement | None = None
    categories: list[str] = []
    sub_processors: list[SubProcessor] = []
    contact: EmailStr | None = None  # as for recipients (Art. 19)
    # An example entry (the register Kluis ships with): the public statement does not show it as a real company.
    demo: bool = Field(default=False, exclude_if=_unset)


class Activity(Named):
    """Something that can happen to a contact; only what the person did (``by_person``) counts as activity."""

    by_person: bool


class TriggerText(Model):
    id: Trigger
    name: Text


class Term(Model):
    years: Count = 0
    months: Count = 0
    weeks: Count = 0
    days: Count = 0

    @model_validator(mode="after")
    def _not_empty(self) -> Term:
        if not (self.years or self.months or self.weeks or self.days):
            raise ValueError("a term needs at least one of years, months, weeks or days")
        return self

    def after(self, start: date) -> date:
        """The day the term ends; a month end that does not exist falls on the month's last day."""
        month_index = start.month - 1 + self.months + 12 * self.years
        year, month = start.year + month_index // 12, month_index % 12 + 1
        day = min(start.day, calendar.monthrange(year, month)[1])
        return date(year, month, day) + timedelta(weeks=self.weeks, days=self.days)

    def is_longer_than(self, other: Term) -> bool:
        reference = date(2001, 1, 31)
        return self.after(reference) > other.after(reference)


class RetentionRule(Named):
    categories: list[str] = Field(min_length=1)
    # Empty means: whatever the purpose.
    purposes: list[str] = []
    trigger: Trigger
    term: Term
    activities: list[str] = []
    with_consent: Term | None = None
    # A legal obligation keeps the data (restricted) even after an erasure request (R-RET-3).
    keep_on_erasure: bool = False
    reason: Text | None = None

    def applies_to(self, category_id: str, purpose_id: str | None = None) -> bool:
        if category_id not in self.categories:
            return False
        return purpose_id is None or not self.purposes or purpose_id in self.purposes


class Right(Described):
    article: str
    routes: list[str] = []


class CookieCategory(Described):
    consent_required: bool
    purposes: list[str] = []
    withdrawal: list[str] = []


class Markers(Model):
    nl: list[str] = Field(min_length=1)
    en: list[str] = Field(min_length=1)


class SpecialCategory(Named):
    """A special category of personal data (Art. 9/10 GDPR), with words that betray it in free text
    (``markers``) and words that betray it only in the name of a category, field or column (``terms``:
    "absence" in free text is seldom about health, a field called "absence" is)."""

    article: str
    markers: Markers
    terms: Markers | None = None


class Texts(Model):
    intro: Text
    categories_intro: Text
    no_special_data: Text
    collection_intro: Text
    cookies_note: Text
    purposes_intro: Text
    processor_role_note: Text
    legal_bases_intro: Text
    sharing_within: Text
    sharing_outside: Text
    processors_intro: Text
    sub_processors_on_request: Text
    retention_intro: Text
    retention_contact: Text
    rights_requests: Text
    marketing_interest: Text
    marketing_email_consent: Text
    cookie_opt_out: Text
    administrative_messages: Text
    feedback: Text
    complaints_handling: Text
    changes: Text


# A table or column name in a service database: plain SQL identifiers only, so they never need quoting rules.
SqlName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", max_length=64)]


class DatasetIdentity(Model):
    """The column that names the person, and what kind of identifier it holds."""

    column: SqlName
    # Checked by the rules against ``IdentityKind``, so a typo is reported with the known kinds.
    kind: str
    # Employee numbers are unique only within one employer: the employer id whose numbers the column holds.
    scope: str | None = None


class DatasetTable(Model):
    name: SqlName
    identity: DatasetIdentity
    # column -> category id; only declared columns are read, shown and erased.
    columns: dict[SqlName, str] = Field(min_length=1)
    strategy: ErasureStrategy
    # Why rows are kept on erasure (strategy ``keep``): a legal obligation, shown to the person.
    kept_reason: Text | None = None
    # Declared columns that ``null_columns`` and ``keyed_hash`` leave as they are.
    keep_columns: list[SqlName] = []


class Dataset(Named):
    """One of benVitaal's own service databases that rights reach (R-DSR-9); its URL is configuration."""

    connection: Id
    tables: list[DatasetTable] = Field(min_length=1)

    def table(self, name: str) -> DatasetTable:
        for table in self.tables:
            if table.name == name:
                return table
        known = (t.name for t in self.tables)
        raise UnknownPolicyId(f"dataset '{self.id}' has no table '{name}'{did_you_mean(name, known)}")


class HasId(Protocol):
    @property
    def id(self) -> str: ...


T = TypeVar("T", bound=HasId)


@dataclass
class UnknownPolicyId(Invalid):
    code: str = "unknown_policy_id"


class Policy(Model):
    meta: Meta
    controller: Controller
    dpo: Dpo
    supervisory_authority: SupervisoryAuthority
    purpose_groups: list[PurposeGroup]
    legal_bases: list[LegalBasisText]
    roles: list[RoleText]
    categories: list[Category]
    subjects: list[Subject]
    sources: list[Source]
    withdrawal_routes: list[WithdrawalRoute]
    purposes: list[Purpose]
    recipients: list[Recipient]
    processors: list[Processor]
    activities: list[Activity]
    retention_triggers: list[TriggerText]
    retention: list[RetentionRule]
    rights: list[Right]
    cookie_categories: list[CookieCategory]
    special_categories: list[SpecialCategory]
    texts: Texts
    # The technical and organisational measures in general terms, as the Art. 30 records state them (R-GOV-5).
    security_measures: Text
    datasets: list[Dataset] = []
    complaints: Complaints = Complaints()
    changes: Changes = Changes()
    _consent_from: Mapping[str, int] = PrivateAttr(default_factory=lambda: MappingProxyType({}))

    def category(self, category_id: str) -> Category:
        return _find(self.categories, category_id, "category")

    def purpose(self, purpose_id: str) -> Purpose:
        found = self._purposes_by_id.get(purpose_id)
        return found if found is not None else _find(self.purposes, purpose_id, "purpose")

    @cached_property
    def _purposes_by_id(self) -> dict[str, Purpose]:
        return {p.id: p for p in self.purposes}

    @cached_property
    def purpose_terms(self) -> dict[str, tuple[str, str, str]]:
        """purpose id -> (legal basis, role, group) as plain strings: what the gate reads per decision."""
        return {p.id: (str(p.basis.value) if p.basis else "", str(p.role.value) if p.role else "", p.group)
                for p in self.purposes}

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Policy:
        """A copy whose derived lookups (ids, index, content hash) are computed afresh, not carried over."""
        copied = super().model_copy(update=update, deep=deep)
        for name in ("purpose_ids", "category_ids", "source_ids", "subject_ids", "_purposes_by_id", "content_hash",
                     "purpose_terms"):
            copied.__dict__.pop(name, None)
        return copied

    def subject(self, subject_id: str) -> Subject:
        return _find(self.subjects, subject_id, "data subject")

    def source(self, source_id: str) -> Source:
        return _find(self.sources, source_id, "source")

    def recipient(self, recipient_id: str) -> Recipient:
        return _find(self.recipients, recipient_id, "recipient")

    def processor(self, processor_id: str) -> Processor:
        return _find(self.processors, processor_id, "processor")

    def dataset(self, dataset_id: str) -> Dataset:
        return _find(self.datasets, dataset_id, "dataset")

    def party(self, ref: str) -> Recipient | Processor:
        """A recipient or processor by its reference, ``recipient:<id>`` or ``processor:<id>``."""
        kind, _, party_id = ref.partition(":")
        if kind == "recipient":
            return self.recipient(party_id)
        if kind == "processor":
            return self.processor(party_id)
        raise UnknownPolicyId(f"unknown party '{ref}': recipient:<id> or processor:<id>")

    def right(self, right_id: str) -> Right:
        return _find(self.rights, right_id, "right")

    def withdrawal_route(self, route_id: str) -> WithdrawalRoute:
        return _find(self.withdrawal_routes, route_id, "withdrawal route")

    @cached_property
    def purpose_ids(self) -> tuple[str, ...]:
        return tuple(x.id for x in self.purposes)

    @cached_property
    def category_ids(self) -> tuple[str, ...]:
        return tuple(x.id for x in self.categories)

    @cached_property
    def source_ids(self) -> tuple[str, ...]:
        return tuple(x.id for x in self.sources)

    @cached_property
    def subject_ids(self) -> tuple[str, ...]:
        return tuple(x.id for x in self.subjects)

    def purposes_in_group(self, group_id: str) -> list[Purpose]:
        return [p for p in self.purposes if p.group == group_id]

    def retention_rules_for(self, category_id: str, purpose_id: str | None = None) -> list[RetentionRule]:
        """The rules that apply to data of this category (kept for this purpose, when one is given)."""
        return [r for r in self.retention if r.applies_to(category_id, purpose_id)]

    @cached_property
    def content_hash(self) -> str:
        """SHA-256 of the validated content: the same for the same promises, however the YAML is laid out."""
        return hashlib.sha256(self.canonical_json().encode("utf-8")).hexdigest()

    def canonical_json(self) -> str:
        """The content as stored with its version: one text for the same promises (sorted keys, no spaces)."""
        return json.dumps(self.model_dump(mode="json"), sort_keys=True, ensure_ascii=False, separators=(",", ":"))

    @property
    def consent_from(self) -> Mapping[str, int]:
        """Consent purposes a material change asked consent for afresh: purpose -> the first version whose
        consent covers the purpose as it is now (R-GOV-4). Not content: derived from the versions before."""
        return self._consent_from

    def with_consent_from(self, renewals: Mapping[str, int]) -> Policy:
        copied = self.model_copy()
        copied._consent_from = MappingProxyType(dict(renewals))
        return copied


def version_label(content_hash: str, seq: int | None = None) -> str:
    """How a version is shown to people: ``3 (sha256:abcd1234…)``, or just the hash without a number."""
    short = f"sha256:{content_hash[:8]}…"
    return short if seq is None else f"{seq} ({short})"


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """A hint to append to an "unknown x" message: the closest known name, or the known names."""
    known = sorted(set(choices))
    close = difflib.get_close_matches(word, known, n=1, cutoff=0.6)
    if close:
        return f" (did you mean '{close[0]}'?)"
    return f" (known: {', '.join(known)})" if known else ""


def _find(items: Sequence[T], item_id: str, kind: str) -> T:
    for item in items:
        if item.id == item_id:
            return item
    raise UnknownPolicyId(f"unknown {kind} '{item_id}'{did_you_mean(item_id, (i.id for i in items))}")
