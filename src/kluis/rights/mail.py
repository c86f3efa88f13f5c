"""The messages a person gets about their request: the verification code and a notice at each step.

Context holds the request id and a notice code (the code mail: the 6-digit code); the builder reads
the request at send time for its state, deadline and reasons, and the policy for the supervisory
authority.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kluis.erasure import service as erasure
from kluis.kit import i18n
from kluis.kit.errors import NotFound, Problem
from kluis.kit.messages import N_
from kluis.mail import service as mail
from kluis.mail.models import Outbox
from kluis.mail.service import context_id, subject_of
from kluis.rights import rules
from kluis.rights.models import AccessPackage, DataSubjectRequest, Rectification
from kluis.vault.models import Employer, Record

if TYPE_CHECKING:
    from kluis.policy.schemas import Lang
    from kluis.wiring import Kluis

CODE_TEMPLATE = "rights_code"
NOTICE_TEMPLATE = "rights_notice"
REMINDER_TEMPLATE = "rights_reminder"
OVERDUE_TEMPLATE = "rights_overdue"
PACKAGE_TEMPLATE = "rights_package"
RECTIFIED_TEMPLATE = "rights_rectified"
RESTRICTION_LIFTED_TEMPLATE = "rights_restriction_lifted"
EMPLOYER_TEMPLATE = "rights_employer_request"


# notice -> (title, text): English, translated into the mail's language when it is built (the catalogs).
NOTICES: dict[str, tuple[str, str]] = {
    "received": (N_("We have received your request"),
                 N_("We have received your request about your personal data.")),
    "verified": (N_("Your request is confirmed"),
                 N_("Your identity is confirmed; we are taking your request up.")),
    "in_progress": (N_("We are working on your request"),
                    N_("We are working on your request.")),
    "waiting_on_person": (N_("We need something from you"),
                          N_("To handle your request we need more information from you. We will contact you about "
                             "it.")),
    "done": (N_("Your request has been handled"),
             N_("We have handled your request.")),
    "refused": (N_("We cannot carry out your request"),
                N_("We will not carry out your request, for this reason:")),
    "extended": (N_("We need more time"),
                 N_("We are extending the term for your request by two months, for these reasons:")),
    "erased": (N_("Your data has been erased"),
               N_("We have erased your personal data, in our own systems too. What the law obliges us to keep, we "
                  "keep restricted until the end of that term, and then erase it without you having to ask again:")),
    "objection_upheld": (N_("Your objection is upheld"),
                         N_("We have assessed your objection and stop the processing you objected to (Article 21 "
                            "GDPR). Our data protection officer explains:")),
    "objection_overridden": (N_("About your objection"),
                             N_("Since your objection we have stopped this processing. Having assessed it, we have "
                                "compelling legitimate grounds that override your interests (Article 21(1) GDPR), so "
                                "we are resuming the processing. These grounds are:")),
    "erasure_held": (N_("We cannot erase your data yet"),
                     N_("We have received your request for erasure, but the law obliges us to keep your data for now. "
                        "This is what we keep, why, and until when; as soon as we may, we erase it without you having "
                        "to ask again:")),
    "forwarded": (N_("Your request goes to your employer"),
                  N_("benVitaal processes this data on behalf of your employer, who is the controller. We have "
                     "therefore forwarded your request to:")),
    "own_part_erased": (N_("Your data at benVitaal has been erased"),
                        N_("We have erased the data for which benVitaal itself is responsible. The data we process on "
                           "behalf of your employer we erase as soon as your employer, who is responsible for it, "
                           "instructs us to. What the law obliges us to keep, we keep until the end of that term:")),
    "employer_kept": (N_("Your employer keeps its data"),
                      N_("Your employer, who is responsible for the data benVitaal processes on its behalf, has "
                         "instructed us to keep it. Our own part we have erased. With questions about your employer's "
                         "decision you can contact:")),
}

# Notices after which nothing more is due: they name no deadline.
CLOSING = ("done", "refused", "objection_upheld", "objection_overridden", "employer_kept")

# What the person is told of the employer a request was forwarded to (R-DSR-8): with its contact, or without.
FORWARDED_TO = {
    "contact": N_("{name}, reachable at {contact}."),
    "missing": N_("{name}. We do not have your employer's privacy contact yet: we are asking for it and will forward "
                  "your request as soon as we have it. You can also contact your employer directly."),
    "own": N_("The data for which benVitaal itself is responsible we handle at once, without waiting for your "
              "employer."),
}


def type_name(kind: str, lang: str) -> str:
    """A request type as a sentence names it ("your access request"), in ``lang``."""
    pgettext = i18n.pgettext
    with i18n.speaking(lang):
        names = {
            "access": pgettext("request type", "access"),
            "portability": pgettext("request type", "portability"),
            "rectification": pgettext("request type", "rectification"),
            "erasure": pgettext("request type", "erasure"),
            "restriction": pgettext("request type", "restriction"),
            "objection": pgettext("request type", "objection"),
        }
    return names[kind]


def check_notice(context: Mapping[str, Any]) -> list[Problem]:
    problems = []
    if context.get("notice") not in NOTICES:
        problems.append(Problem("context.notice", "notice_unknown", f"one of: {', '.join(NOTICES)}"))
    if not context_id(context, "request_id"):
        problems.append(Problem("context.request_id", "request_required", "the request's id"))
    return problems


def check_notice_request(context: Mapping[str, Any]) -> list[Problem]:
    return [] if context_id(context, "request_id") else [Problem("context.request_id", "request_required",
                                                                   "the request's id")]


def check_code(context: Mapping[str, Any]) -> list[Problem]:
    try:
        uuid.UUID(str(context.get("code_id", "")))
    except ValueError:
        return [Problem("context.code_id", "code_invalid", "the issued code's id and the request's id")]
    if not context_id(context, "request_id"):
        return [Problem("context", "code_invalid", "the issued code's id and the request's id")]
    return []


def _common(kluis: Kluis, request: DataSubjectRequest, lang: str) -> dict[str, Any]:
    token = rules.status_token(kluis.keys.secret, request.id, request.received_at)
    return {"reference": rules.short_reference(request.id), "type_name": type_name(request.type, lang),
            "deadline": i18n.day(request.deadline_on, lang),
            "status_url": f"{kluis.settings.base_url.rstrip('/')}/privacy-centre/requests/{token}"}


def build_notice(session: Session, kluis: Kluis, row: Outbox) -> mail.MessageContext:
    request = subject_of(session, DataSubjectRequest, row, "request_id")
    notice = str(row.context.get("notice"))
    if notice not in NOTICES:
        raise mail.Undeliverable("notice_unknown")
    title, text = (i18n.say(words, row.lang) for words in NOTICES[notice])
    detail, kept = "", []  # kept: erasure's KeptLine, for the erasure notices only
    if notice == "refused":
        detail = request.refusal_reason or ""
    elif notice == "extended":
        detail = request.extension_reason or ""
    elif notice == "own_part_erased":  # R-DSR-8: what went, what is kept, and who has the rest
        kept = erasure.held_back(session, kluis, request.id, row.lang)
        employer = session.get(Employer, request.forwarded_employer_id) if request.forwarded_employer_id else None
        detail = "\n".join([erased_words(kluis, erasure.own_part_erased(session, request.id), row.lang),
                             forwarded_to(employer, row.lang).split("\n")[0]])
    elif notice == "employer_kept" and request.forwarded_employer_id:
        detail = forwarded_to(session.get(Employer, request.forwarded_employer_id), row.lang).split("\n")[0]
    elif notice in ("erased", "erasure_held"):
        kept = erasure.held_back(session, kluis, request.id, row.lang)
        if notice == "erasure_held" and not kept:
            raise mail.Cancelled("hold_ended")  # the erasure went ahead meanwhile; its own notice tells the rest
        detail = "" if kept else i18n.say(N_("Nothing."), row.lang)
    elif notice in ("objection_upheld", "objection_overridden") and request.person_id and request.objection_id:
        detail = kluis.gate(session, "mail").objection(request.person_id, request.objection_id).grounds or ""
    elif notice == "forwarded" and request.forwarded_employer_id:
        detail = forwarded_to(session.get(Employer, request.forwarded_employer_id), row.lang)
    authority = kluis.policy.supervisory_authority
    return mail.MessageContext(values={
        **_common(kluis, request, row.lang), "title": title, "text": text, "detail": detail, "notice": notice,
        "kept": kept,
        "authority": authority.name.get("en" if row.lang == "en" else "nl"), "authority_url": authority.website,
        "closing": notice in CLOSING},
        attachments=_certificate(session, row) if notice == "erased" else ())


def erased_words(kluis: Kluis, erased: dict[str, int], lang: str) -> str:
    """What benVitaal's own part erased, per category, in the person's words."""
    language: Lang = "en" if lang == "en" else "nl"
    names = [f"{kluis.policy.category(c).name.get(language) if c in kluis.policy.category_ids else c} ({n})"
             for c, n in sorted(erased.items())]
    return i18n.say(N_("Erased: %(names)s.", names=", ".join(names) or N_("nothing")), language)


def forwarded_to(employer: Employer | None, lang: str) -> str:
    """Which employer handles the forwarded part, how to reach it, and that benVitaal's own part goes on."""
    if employer is None:
        return ""
    reach = i18n.say(FORWARDED_TO["contact" if employer.privacy_contact else "missing"], lang).format(
        name=employer.name, contact=employer.privacy_contact or "")
    return f"{reach}\n{i18n.say(FORWARDED_TO['own'], lang)}"


def build_employer_request(session: Session, kluis: Kluis, row: Outbox) -> mail.MessageContext:
    """R-DSR-8, to the employer's privacy contact: what was asked, the request's reference (never the person's
    name or address: the employer answers under the reference, and the DPO identifies the person to it through
    its own channel), what benVitaal holds for it, the deadline, and where to send the instruction."""
    request = subject_of(session, DataSubjectRequest, row, "request_id")
    if request.state in rules.CLOSED:
        raise mail.Cancelled("request_closed")
    lang: Lang = "en" if row.lang == "en" else "nl"
    employer = session.get(Employer, request.forwarded_employer_id) if request.forwarded_employer_id else None
    if employer is None:
        raise mail.Cancelled("employer_gone")
    categories = sorted(set(session.scalars(select(Record.category).where(
        Record.person_id == request.person_id, Record.controller == "employer",
        Record.controller_employer_id == employer.id).distinct())))
    return mail.MessageContext(values={
        "reference": rules.short_reference(request.id), "type_name": type_name(request.type, lang),
        "scope": request.scope or "", "employer": employer.name, "agreement": employer.agreement_reference or "",
        "received": i18n.day(rules.receipt_date(request.received_at), lang),
        "deadline": i18n.day(request.deadline_on, lang),
        "categories": [kluis.policy.category(c).name.get(lang) for c in categories if c in kluis.policy.category_ids],
        "dpo": str(kluis.policy.dpo.email)})


def _certificate(session: Session, row: Outbox) -> list[mail.Attachment]:
    """R-DSR-6: the signed certificate of erasure (the JSON is the proof, the PDF for reading), made from the
    job when the mail leaves; it names ids and counts only, no personal data."""
    try:
        files = erasure.certificate_files(session, uuid.UUID(str(row.context.get("job_id"))))
    except (ValueError, NotFound):
        raise mail.Cancelled("job_gone") from None
    return [mail.Attachment(name, media_type, data) for name, media_type, data in files]


def build_code(session: Session, kluis: Kluis, row: Outbox) -> mail.MessageContext:
    request = subject_of(session, DataSubjectRequest, row, "request_id")
    code = rules.derive_code(kluis.keys.secret, uuid.UUID(str(row.context["code_id"])))
    return mail.MessageContext(values={**_common(kluis, request, row.lang), "code": code,
                                       "use": "download" if row.context.get("use") == "download" else "confirm",
                                       "minutes": int(rules.CODE_LIFETIME.total_seconds() // 60)})


def check_reminder(context: Mapping[str, Any]) -> list[Problem]:
    if context.get("days") not in rules.REMINDER_DAYS or not context_id(context, "request_id"):
        return [Problem("context", "reminder_invalid", "the request's id and the days left")]
    return []


def build_reminder(session: Session, kluis: Kluis, row: Outbox) -> mail.MessageContext:
    request = subject_of(session, DataSubjectRequest, row, "request_id")
    if request.state in rules.CLOSED:
        raise mail.Cancelled("request_closed")
    return mail.MessageContext(values={
        "reference": rules.short_reference(request.id), "type_name": type_name(request.type, row.lang),
        "deadline": i18n.day(request.deadline_on, row.lang), "days": row.context["days"],
        "console_url": f"{kluis.settings.base_url.rstrip('/')}/console/requests/{request.id}"})


def build_overdue(session: Session, kluis: Kluis, row: Outbox) -> mail.MessageContext:
    """R-DSR-2, to a DPO: which request missed its deadline and how many Amsterdam calendar days late it is
    now; the request's reference and type only, the rest is in the console."""
    request = subject_of(session, DataSubjectRequest, row, "request_id")
    if request.state in rules.CLOSED:
        raise mail.Cancelled("request_closed")
    return mail.MessageContext(values={
        "reference": rules.short_reference(request.id), "type_name": type_name(request.type, row.lang),
        "deadline": i18n.day(request.deadline_on, row.lang), "extended": request.extended_at is not None,
        "received": i18n.day(rules.receipt_date(request.received_at), row.lang),
        "days_late": max(1, rules.days_late(request.deadline_on, kluis.clock.now())),
        "console_url": f"{kluis.settings.base_url.rstrip('/')}/console/requests/{request.id}"})


def _id_check(name: str) -> Callable[[Mapping[str, Any]], list[Problem]]:
    def check(context: Mapping[str, Any]) -> list[Problem]:
        try:
            uuid.UUID(str(context.get(name)))
        except ValueError:
            return [Problem(f"context.{name}", "id_required", f"the {name.removesuffix('_id')}'s id")]
        return []
    return check


def build_package(session: Session, kluis: Kluis, row: Outbox) -> mail.MessageContext:
    """R-DSR-3/4: the package is ready; the link, and until when it works (Amsterdam date)."""
    package = subject_of(session, AccessPackage, row, "package_id")
    if package.state != rules.PackageState.READY or package.ready_at is None or package.expires_at is None:
        raise mail.Cancelled("package_not_ready")
    request = session.get(DataSubjectRequest, package.request_id)
    if request is None:
        raise mail.Cancelled("request_gone")
    token = rules.package_token(kluis.keys.secret, package.id, package.ready_at)
    return mail.MessageContext(values={
        **_common(kluis, request, row.lang), "portability": package.portability,
        "expires": i18n.when(package.expires_at, row.lang),
        "package_url": f"{kluis.settings.base_url.rstrip('/')}/privacy-centre/packages/{token}{i18n.query(row.lang)}"})


def party_names(kluis: Kluis, told: list[dict[str, str]], lang: str) -> list[dict[str, str]]:
    """The parties told of a correction, by name, with how they were told."""
    names = []
    for item in told:
        party = kluis.policy.party(item["party"])
        name = party.name if isinstance(party.name, str) else party.name.get("en" if lang == "en" else "nl")
        names.append({"name": name, "channel": item["channel"]})
    return names


def build_rectified(session: Session, kluis: Kluis, row: Outbox) -> mail.MessageContext:
    """R-DSR-5: the person hears what was corrected (field names) and which recipients were told."""
    rectification = subject_of(session, Rectification, row, "rectification_id")
    lang: Lang = "en" if row.lang == "en" else "nl"
    category = kluis.policy.category(rectification.category)
    fields = {f.id: f.name.get(lang) for f in category.fields}
    return mail.MessageContext(values={
        "category": category.name.get(lang), "fields": [fields.get(f, f) for f in rectification.fields],
        "told": party_names(kluis, rectification.told, lang),
        "reference": rules.short_reference(rectification.request_id) if rectification.request_id else ""})


def build_restriction_lifted(session: Session, kluis: Kluis, row: Outbox) -> mail.MessageContext:
    """Art. 18(3): told before the restriction is lifted (queued in the same transaction, first)."""
    request = subject_of(session, DataSubjectRequest, row, "request_id")
    return mail.MessageContext(values=_common(kluis, request, row.lang))


mail.register_template(NOTICE_TEMPLATE, build_notice, "administrative", check=check_notice)
mail.register_template(CODE_TEMPLATE, build_code, "administrative", check=check_code)
mail.register_template(REMINDER_TEMPLATE, build_reminder, "administrative", check=check_reminder)
mail.register_template(OVERDUE_TEMPLATE, build_overdue, "administrative", check=check_notice_request)
mail.register_template(PACKAGE_TEMPLATE, build_package, "administrative", check=_id_check("package_id"))
mail.register_template(RECTIFIED_TEMPLATE, build_rectified, "administrative", check=_id_check("rectification_id"))
mail.register_template(EMPLOYER_TEMPLATE, build_employer_request, "administrative", check=check_notice_request)
mail.register_template(RESTRICTION_LIFTED_TEMPLATE, build_restriction_lifted, "administrative",
                       check=check_notice_request)
