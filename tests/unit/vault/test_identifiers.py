"""Normalised identifiers for the blind index (R-VLT-2)."""

import pytest

from kluis.kit.errors import Problem
from kluis.vault.identifiers import normalise


@pytest.mark.parametrize("raw", ["Anna.de.Vries@Example.NL", " anna.de.vries@example.nl ", "ANNA.DE.VRIES@EXAMPLE.NL"])
def test_r_vlt_2_email_variants_normalise_to_one_value(raw):
    assert normalise("email", raw, None, "x") == ("anna.de.vries@example.nl", "")


@pytest.mark.parametrize("raw", ["06 12345678", "+31 6 1234 5678", "0031612345678", "(06)-12345678"])
def test_r_vlt_2_phone_variants_normalise_to_e164(raw):
    assert normalise("phone", raw, None, "x") == ("+31612345678", "")


def test_r_vlt_2_phone_in_other_country_kept_with_its_code():
    assert normalise("phone", "+32 470 12 34 56", None, "x") == ("+32470123456", "")


@pytest.mark.parametrize("kind,raw", [("email", "not-an-address"), ("email", "a@b"), ("phone", "12"),
                                      ("phone", "06 1234"), ("phone", "hallo"), ("fax", "1")])
def test_r_vlt_2_bad_identifiers_give_a_problem_with_path(kind, raw):
    result = normalise(kind, raw, None, "identifiers[0]")
    assert isinstance(result, Problem)
    assert result.path.startswith("identifiers[0].")


def test_r_vlt_2_employee_number_needs_employer_scope():
    assert isinstance(normalise("employee_number", "123", None, "x"), Problem)
    assert normalise("employee_number", " e-123 ", "emp1", "x") == ("E-123", "emp1")
