"""Pure rules of authority orders (R-SHR-3): the PDF check, an order's facts, four eyes, the deferral's end, the
export token."""

from __future__ import annotations

import io
import uuid
from datetime import date, datetime

import pytest
from reportlab.pdfgen import canvas

from kluis.kit.clock import AMSTERDAM
from kluis.orders import rules
from kluis.orders.rules import OrderFacts


def _pdf() -> bytes:
    out = io.BytesIO()
    page = canvas.Canvas(out, invariant=1)
    page.drawString(72, 720, "Vordering")
    page.save()
    return out.getvalue()


def _codes(data: bytes) -> list[str]:
    return [p.code for p in rules.document_problems(data)]


def test_r_shr_3_a_real_pdf_passes_and_lookalikes_do_not():
    pdf = _pdf()
    assert _codes(pdf) == []
    assert _codes(b"") == ["document_required"]
    assert _codes(b"GIF89a" + pdf) == ["document_not_pdf"]
    assert _codes(b"%PDF-9.9\n" + pdf[9:]) == ["document_not_pdf"]
    assert _codes(pdf[:-200]) == ["document_damaged"]  # cut short: no trailer
    assert _codes(b"%PDF-1.4\n%%EOF\n") == ["document_damaged"]
    moved = pdf.replace(b"startxref\n", b"startxref\n9").rstrip()  # the offset points past the end
    assert _codes(moved) == ["document_damaged"]
    assert _codes(pdf + b"\x00" * rules.MAX_DOCUMENT) == ["document_too_large"]


def _facts(**changes) -> OrderFacts:
    base = dict(party="recipient:authorities", legal_basis="art. 126nd Sv", reference="OM-1",
                order_date=date(2026, 11, 20), defer_until=None, categories=("basic",), person_ids=(uuid.uuid4(),))
    return OrderFacts(**(base | changes))


@pytest.mark.parametrize(("changes", "code"), [
    ({"legal_basis": "   "}, "legal_basis_required"),
    ({"legal_basis": "x" * 201}, "too_long"),
    ({"reference": ""}, "reference_required"),
    ({"order_date": None}, "order_date_required"),
    ({"order_date": date(2026, 11, 26)}, "in_future"),
    ({"defer_until": date(2026, 11, 20)}, "deferral_before_order"),
    ({"categories": ()}, "categories_required"),
    ({"person_ids": ()}, "people_required"),
    ({"person_ids": tuple(uuid.uuid4() for _ in range(rules.MAX_PEOPLE + 1))}, "too_many"),
])
def test_r_shr_3_an_order_must_name_its_basis_reference_date_people_and_categories(changes, code):
    assert [p.code for p in rules.order_problems(_facts(**changes), date(2026, 11, 25))] == [code]


def test_r_shr_3_a_valid_order_and_a_deferral_after_its_date_pass():
    assert rules.order_problems(_facts(defer_until=date(2026, 11, 21)), date(2026, 11, 25)) == []


def test_r_shr_3_only_a_second_dpo_decides_once_with_reasons():
    def code(state="recorded", decider="staff:b", dpo=True, reasons="echt"):
        found = rules.decision_problem(state, "staff:a", decider, dpo, reasons)
        return found and found.code

    assert code() is None
    assert code(decider="staff:a") == "recorder_may_not_decide"
    assert code(dpo=False) == "dpo_required"
    assert code(reasons=" ") == "reasons_required"
    assert code(state="approved") == "already_decided"


def test_r_shr_3_a_deferral_ends_at_the_start_of_its_day_in_amsterdam_across_dst():
    assert rules.withheld_until(None) is None
    assert rules.withheld_until(date(2027, 3, 28)) == datetime(2027, 3, 28, tzinfo=AMSTERDAM)
    assert rules.withheld_until(date(2027, 3, 28)).utcoffset().total_seconds() == 3600  # before the switch at 02:00
    assert rules.withheld_until(date(2027, 7, 1)).utcoffset().total_seconds() == 7200


def test_r_shr_3_an_export_token_carries_its_id_and_a_256_bit_key_and_nothing_else_parses():
    export_id, key = uuid.uuid4(), bytes(range(32))
    token = rules.export_token(export_id, key)
    assert len(token) == 64 and rules.parse_export_token(token) == (export_id, key)
    for bad in ("", token[:-1], token + "A", token[:-1] + "=", "../" + token[3:]):
        assert rules.parse_export_token(bad) is None


def test_r_shr_3_a_free_authority_name_is_tidied_and_bounded():
    assert rules.free_authority("  Politie   Midden-Nederland ") == "authority:Politie Midden-Nederland"
    assert rules.free_authority("   ") is None and rules.free_authority("x" * 71) is None
