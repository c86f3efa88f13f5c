"""The records of processing activities (R-GOV-5, Art. 30 GDPR), derived from the policy so that the
register and the statement cannot drift.

Art. 30(1): one row per purpose, benVitaal as controller. Art. 30(2): one row per purpose where benVitaal
processes on behalf of a client employer. The policy does not list the employers, so the 30(2) rows name
"each client employer (controller)": the same processing, sub-processors and transfers hold for every one.
Pure: no database, no framework; every value is a plain string in the language asked for.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

from babel import Locale
from babel.lists import format_list

from kluis.kit import i18n
from kluis.policy.render import LOCALES, fill, term_text
from kluis.policy.schemas import Lang, LegalBasis, Policy, Processor, Purpose, Role, Text, Transfer

CONTROLLER_REGISTER = "art30_1"
PROCESSOR_REGISTER = "art30_2"

# Every column either register can have, in the order shown; a register fills only its own fields.
COLUMNS: tuple[str, ...] = (
    "register", "purpose_id", "purpose", "description", "controller", "processor", "dpo", "legal_basis",
    "data_subjects", "data_categories", "recipients", "sub_processors", "transfers", "retention",
    "security_measures",
)
FIELDS: dict[str, tuple[str, ...]] = {
    CONTROLLER_REGISTER: ("register", "purpose_id", "purpose", "description", "controller", "dpo", "legal_basis",
                          "data_subjects", "data_categories", "recipients", "transfers", "retention",
                          "security_measures"),
    PROCESSOR_REGISTER: ("register", "purpose_id", "purpose", "description", "processor", "controller", "dpo",
                         "data_subjects", "data_categories", "sub_processors", "transfers", "security_measures"),
}


@cache
def labels(lang: str) -> dict[str, str]:
    """The registers' headings and column names in ``lang`` (context "records" in the catalogs)."""
    pgettext = i18n.pgettext
    with i18n.speaking(lang):
        return {
            "title": pgettext("records", "Records of processing activities"),
            CONTROLLER_REGISTER: pgettext("records", "Art. 30(1) GDPR: benVitaal as controller"),
            PROCESSOR_REGISTER: pgettext("records", "Art. 30(2) GDPR: benVitaal as processor"),
            "version": pgettext("records", "Version of the privacy statement"),
            "register": pgettext("records", "Register"),
            "purpose_id": pgettext("records", "Id"),
            "purpose": pgettext("records", "Purpose of processing"),
            "description": pgettext("records", "Description"),
            "controller": pgettext("records", "Controller"),
            "processor": pgettext("records", "Processor"),
            "dpo": pgettext("records", "Data protection officer"),
            "legal_basis": pgettext("records", "Legal basis"),
            "data_subjects": pgettext("records", "Categories of data subjects"),
            "data_categories": pgettext("records", "Categories of personal data"),
            "recipients": pgettext("records", "Recipients (incl. processors and authorities)"),
            "sub_processors": pgettext("records", "(Sub-)processors"),
            "transfers": pgettext("records", "Transfers outside the EEA and safeguards"),
            "retention": pgettext("records", "Retention periods"),
            "security_measures": pgettext("records", "Security measures"),
            "each_employer": pgettext("records", "Each client employer (controller)"),
            "no_transfers": pgettext("records", "None: all processing within the EEA"),
            "only_on_order": pgettext("records", "only on a court or similar order"),
            "its_subs": pgettext("records", "sub-processors"),
            "processor_of": pgettext("records", "processor"),
            "sub_processor_of": pgettext("records", "sub-processor of"),
            "interest": pgettext("records", "interest"),
            "transfer_eea": pgettext("records", "within the EEA"),
            "transfer_adequacy": pgettext("records", "EU adequacy decision (Art. 45 GDPR)"),
            "transfer_scc": pgettext("records", "EU standard contractual clauses (Art. 46(2)(c) GDPR)"),
            "none": pgettext("records", "none"),
        }


Row = dict[str, str]


@dataclass(frozen=True)
class Records:
    """Both registers in one language, for one version of the policy."""

    lang: Lang
    version: str
    controller_register: list[Row]
    processor_register: list[Row]

    def registers(self) -> dict[str, list[Row]]:
        return {CONTROLLER_REGISTER: self.controller_register, PROCESSOR_REGISTER: self.processor_register}


def label(key: str, lang: Lang) -> str:
    return labels(lang)[key]


def derive(policy: Policy, lang: Lang, version: str, employers: Sequence[str] = ()) -> Records:
    """The Art. 30(1) and 30(2) registers of this policy; ``version`` is how the policy version is shown.

    With ``employers`` (the client employers' names) the 30(2) register has a row per processor-role purpose
    per employer; without, one row per purpose for "each client employer".
    """
    words = _Words(policy, lang)
    controller_rows = [words.controller_row(p) for p in policy.purposes]
    controllers = [f"{name} ({label('controller', lang).lower()})" for name in employers] or [
        label("each_employer", lang)]
    processor_rows = [words.processor_row(p, controller) for p in policy.purposes if p.role == Role.PROCESSOR
                      for controller in controllers]
    return Records(lang=lang, version=version, controller_register=controller_rows,
                   processor_register=processor_rows)


class _Words:
    """The policy's parts as register cells in one language."""

    def __init__(self, policy: Policy, lang: Lang) -> None:
        self.policy, self.lang = policy, lang

    def t(self, text: Text) -> str:
        return fill(self.policy, text.get(self.lang), self.lang)

    def label(self, key: str) -> str:
        return label(key, self.lang)

    def join(self, items: list[str]) -> str:
        return "; ".join(items) if items else self.label("none")

    def country(self, code: str) -> str:
        return str(Locale.parse(LOCALES[self.lang]).territories.get(code, code))

    def _common(self, register: str, purpose: Purpose) -> Row:
        return {"register": register, "purpose_id": purpose.id, "purpose": self.t(purpose.name),
                "description": self.t(purpose.description), "dpo": self.dpo(),
                "data_subjects": self.join([self.t(self.policy.subject(s).name) for s in purpose.subjects]),
                "data_categories": self.categories(purpose),
                "transfers": self.transfers(self.processors(purpose)),
                "security_measures": self.t(self.policy.security_measures)}

    def controller_row(self, purpose: Purpose) -> Row:
        row = self._common(CONTROLLER_REGISTER, purpose) | {
            "controller": self.controller(), "legal_basis": self.legal_basis(purpose),
            "recipients": self.recipients(purpose), "retention": self.retention(purpose)}
        return {column: row.get(column, "") for column in COLUMNS}

    def processor_row(self, purpose: Purpose, controller: str) -> Row:
        row = self._common(PROCESSOR_REGISTER, purpose) | {
            "controller": controller, "processor": self.controller(),
            "sub_processors": self.join([self.processor(p) for p in self.processors(purpose)])}
        return {column: row.get(column, "") for column in COLUMNS}

    def controller(self) -> str:
        c = self.policy.controller
        address = f"{c.address.street}, {c.address.postcode} {c.address.city}, {self.country(c.address.country)}"
        return f"{self.t(c.name)}, {address}; {c.phone}; {c.website}"

    def dpo(self) -> str:
        return f"{self.t(self.policy.dpo.title)}: {self.policy.dpo.email}"

    def legal_basis(self, purpose: Purpose) -> str:
        if purpose.basis is None:  # the rules refuse such a policy; a register still shows the gap
            return self.label("none")
        name = self.t(next(b.name for b in self.policy.legal_bases if b.id == purpose.basis))
        if purpose.basis == LegalBasis.LEGITIMATE_INTEREST and purpose.interest is not None:
            return f"{name} ({self.label('interest')}: {self.t(purpose.interest)})"
        return name

    def categories(self, purpose: Purpose) -> str:
        parts = []
        for category_id in purpose.categories:
            category = self.policy.category(category_id)
            fields = format_list([self.t(f.name) for f in category.fields], locale=LOCALES[self.lang])
            parts.append(f"{self.t(category.name)} ({fields})")
        return self.join(parts)

    def processors(self, purpose: Purpose) -> list[Processor]:
        """The processors that receive any of the purpose's categories of data."""
        wanted = set(purpose.categories)
        return [p for p in self.policy.processors if wanted & set(p.categories)]

    def processor(self, processor: Processor) -> str:
        subs = [f"{s.name} ({self.t(s.service)}; {self.country(s.country)})" for s in processor.sub_processors]
        text = f"{processor.name} ({self.t(processor.service)}; {self.country(processor.country)})"
        return f"{text}, {self.label('its_subs')}: {', '.join(subs)}" if subs else text

    def recipients(self, purpose: Purpose) -> str:
        wanted = set(purpose.categories)
        parts = []
        for recipient in self.policy.recipients:
            if recipient.categories and not wanted & set(recipient.categories):
                continue
            text = self.t(recipient.name)
            parts.append(f"{text} ({self.label('only_on_order')})" if recipient.requires_order else text)
        parts += [f"{p.name} ({self.label('processor_of')}: {self.t(p.service)})" for p in self.processors(purpose)]
        return self.join(parts)

    def transfers(self, processors: list[Processor]) -> str:
        """Every processor or sub-processor whose data leaves the EEA, with the safeguard the policy records."""
        parts = []
        for processor in processors:
            if _leaves_eea(processor.transfer):
                parts.append(f"{processor.name} ({self.country(processor.country)}): "
                             f"{self.safeguard(processor.transfer)}")
            for sub in processor.sub_processors:
                if _leaves_eea(sub.transfer):
                    parts.append(f"{sub.name} ({self.country(sub.country)}; {self.label('sub_processor_of')} "
                                 f"{processor.name}): {self.safeguard(sub.transfer)}")
        return "; ".join(parts) if parts else self.label("no_transfers")

    def safeguard(self, transfer: Transfer | None) -> str:
        return self.label(f"transfer_{transfer}")

    def retention(self, purpose: Purpose) -> str:
        parts = []
        for category_id in purpose.categories:
            for rule in self.policy.retention_rules_for(category_id, purpose.id):
                trigger = next(self.t(x.name) for x in self.policy.retention_triggers if x.id == rule.trigger)
                text = f"{self.t(self.policy.category(category_id).name)}: {term_text(rule.term, self.lang)} {trigger}"
                parts.append(f"{text} ({self.t(rule.reason)})" if rule.reason else text)
        return self.join(parts)


def _leaves_eea(transfer: Transfer | None) -> bool:
    # As in the statement: a party without a stated mechanism is one inside the EEA.
    return (transfer or Transfer.EEA) != Transfer.EEA
