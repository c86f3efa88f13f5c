"""Employers as controllers (R-DSR-8, Art. 28): the client employers for whom benVitaal processes data, each with
the privacy contact that requests about that data are forwarded to and the service agreement under which
benVitaal acts as its processor. Company data, not personal data; the contact's address is still kept out of
logs and audit events (it may be a named person's work address): the audit says only which terms changed.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kluis.audit import service as audit
from kluis.kit.clock import Clock
from kluis.kit.errors import Invalid, NotFound, Problem
from kluis.kit.i18n import N_
from kluis.vault.models import Employer

# An agreement ending this soon is flagged on the employers' page.
ENDING_SOON_DAYS = 60


@dataclass(frozen=True)
class EmployerTerms:
    """What staff set on an employer: every field given replaces the stored one (None clears it)."""

    privacy_contact: str | None
    agreement_reference: str | None
    agreement_signed_on: date | None
    agreement_ends_on: date | None


def get(session: Session, employer_id: uuid.UUID) -> Employer:
    employer = session.get(Employer, employer_id)
    if employer is None:
        raise NotFound(N_("no such employer"), code="employer_not_found")
    return employer


def listed(session: Session, limit: int = 500) -> list[Employer]:
    """The employers by name: those without a privacy contact first, as they hold requests up."""
    return list(session.scalars(select(Employer).order_by(Employer.privacy_contact.is_not(None),
                                                          func.lower(Employer.name), Employer.id).limit(limit)))


def check_terms(terms: EmployerTerms) -> tuple[EmployerTerms, list[Problem]]:
    """The terms normalised (address lower-cased domain, stripped text), and what is wrong with them."""
    problems: list[Problem] = []
    contact = (terms.privacy_contact or "").strip() or None
    if contact is not None:
        try:
            contact = validate_email(contact, check_deliverability=False).normalized
        except EmailNotValidError:
            problems.append(Problem("privacy_contact", "email_invalid", N_("an e-mail address, such as "
                                                                             "privacy@employer.example")))
        if len(contact) > 254:
            problems.append(Problem("privacy_contact", "too_long", N_("at most 254 characters")))
    reference = (terms.agreement_reference or "").strip() or None
    if reference is not None and len(reference) > 80:
        problems.append(Problem("agreement_reference", "too_long", N_("at most 80 characters")))
    if reference is None and (terms.agreement_signed_on or terms.agreement_ends_on):
        problems.append(Problem("agreement_reference", "reference_required",
                                N_("give the agreement's reference with its dates")))
    if reference is not None and terms.agreement_signed_on is None:
        problems.append(Problem("agreement_signed_on", "signed_required", N_("the date the agreement was signed")))
    if (terms.agreement_signed_on and terms.agreement_ends_on
            and terms.agreement_ends_on <= terms.agreement_signed_on):
        problems.append(Problem("agreement_ends_on", "ends_before_start",
                                N_("an agreement ends after the day it was signed")))
    return EmployerTerms(contact, reference, terms.agreement_signed_on, terms.agreement_ends_on), problems


def set_terms(session: Session, clock: Clock, actor: str, employer_id: uuid.UUID, terms: EmployerTerms
              ) -> Employer:
    """Record the employer's privacy contact and service agreement; bad input changes nothing. Audited with the
    employer's id and the names of the terms that changed, never the address."""
    employer = get(session, employer_id)
    terms, problems = check_terms(terms)
    if problems:
        raise Invalid(N_("the employer was not changed"), code="employer_invalid", problems=problems)
    changed = [name for name in ("privacy_contact", "agreement_reference", "agreement_signed_on", "agreement_ends_on")
               if getattr(employer, name) != getattr(terms, name)]
    if not changed:
        return employer
    for name in changed:
        setattr(employer, name, getattr(terms, name))
    employer.updated_at = clock.now()
    audit.append(session, clock, actor=actor, action="employer.updated", object_type="employer",
                 object_ids=[employer.id], details={"changed": changed,
                                                    "has_contact": employer.privacy_contact is not None})
    return employer


def ending_soon(employer: Employer, today: date) -> bool:
    """The service agreement ends within ``ENDING_SOON_DAYS`` (or has ended)."""
    return employer.agreement_ends_on is not None and (employer.agreement_ends_on - today).days <= ENDING_SOON_DAYS
