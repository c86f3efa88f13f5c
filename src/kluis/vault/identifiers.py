"""Normalising identifiers, so that one person is found however their address or number is typed."""

from __future__ import annotations

from enum import StrEnum

import phonenumbers
from email_validator import EmailNotValidError, validate_email

from kluis.kit.errors import Problem

DEFAULT_REGION = "NL"


class IdentifierKind(StrEnum):
    EMAIL = "email"
    PHONE = "phone"
    EMPLOYEE_NUMBER = "employee_number"


def normalise(kind: str, value: str, scope: str | None, path: str) -> tuple[str, str] | Problem:
    """(normalised value, scope) or the problem with it. Employee numbers are scoped to the employer."""
    if not isinstance(value, str) or not value.strip():
        return Problem(f"{path}.value", "required", "an identifier needs a value")
    value = value.strip()
    if kind == IdentifierKind.EMAIL:
        try:
            email = validate_email(value, check_deliverability=False).normalized
        except EmailNotValidError as exc:
            return Problem(f"{path}.value", "email_invalid", f"not a valid e-mail address: {exc}")
        return email.casefold(), ""
    if kind == IdentifierKind.PHONE:
        try:
            number = phonenumbers.parse(value, DEFAULT_REGION)
        except phonenumbers.NumberParseException:
            return Problem(f"{path}.value", "phone_invalid", "not a phone number")
        if not phonenumbers.is_valid_number(number):
            return Problem(f"{path}.value", "phone_invalid", "not a valid phone number (default region NL)")
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164), ""
    if kind == IdentifierKind.EMPLOYEE_NUMBER:
        if not scope:
            return Problem(f"{path}.scope", "scope_required",
                           "an employee number is only unique within its employer: give the employer id")
        if len(value) > 64:
            return Problem(f"{path}.value", "too_long", "an employee number has at most 64 characters")
        return value.upper(), scope
    kinds = ", ".join(k.value for k in IdentifierKind)
    return Problem(f"{path}.kind", "kind_unknown", f"unknown identifier kind {kind!r} (one of: {kinds})")
