"""R-GOV-5: the records of processing (Art. 30 GDPR) are derived from the shipped policy, complete, and
exported as CSV, JSON and PDF in Dutch and English."""

from __future__ import annotations

import base64
import csv
import io
import json
import re
import zlib

import pytest

from kluis.policy.records import COLUMNS, CONTROLLER_REGISTER, FIELDS, PROCESSOR_REGISTER, derive, label
from kluis.policy.records_export import as_csv, as_json, as_pdf, export
from kluis.policy.schemas import Policy, Role

VERSION = "3 (sha256:abcd1234…)"


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_r_gov_5_every_purpose_has_a_row_with_every_art_30_1_field(shipped_policy: Policy, lang) -> None:
    records = derive(shipped_policy, lang, VERSION)
    assert [row["purpose_id"] for row in records.controller_register] == list(shipped_policy.purpose_ids)
    for row in records.controller_register:
        empty = [field for field in FIELDS[CONTROLLER_REGISTER] if not row[field].strip()]
        assert empty == [], f"{row['purpose_id']}: {empty}"
        assert "dpo@benvitaal.nl" in row["dpo"] and "Maastricht-Airport" in row["controller"]
        assert shipped_policy.security_measures.get(lang) == row["security_measures"]


def test_r_gov_5_row_fields_come_from_the_purpose(shipped_policy: Policy) -> None:
    rows = {r["purpose_id"]: r for r in derive(shipped_policy, "en", VERSION).controller_register}
    marketing = rows["marketing_email"]
    assert marketing["legal_basis"] == "Your consent"
    assert "Lead or prospect" in marketing["data_subjects"] and "Basic personal information" in marketing[
        "data_categories"]
    assert "36 months after your last registered activity" in marketing["retention"]
    assert "Government authorities (only on a court or similar order)" in marketing["recipients"]
    assert "Mailverzend Europa B.V. (processor" in marketing["recipients"]
    assert "Being able to send quotes" in rows["quotes"]["legal_basis"]  # the interest of a legitimate interest
    assert "4 weeks after the end of the application procedure" in rows["recruitment"]["retention"]


def test_r_gov_5_transfers_name_every_non_eea_party_with_its_safeguard(shipped_policy: Policy) -> None:
    rows = {r["purpose_id"]: r for r in derive(shipped_policy, "en", VERSION).controller_register}
    recruitment = rows["recruitment"]["transfers"]
    assert "Recruit Cloud Ltd (United Kingdom): EU adequacy decision (Art. 45 GDPR)" in recruitment
    assert "WebinarStream Inc. (United States): EU standard contractual clauses" in recruitment
    assert "Mail Relay Inc. (United States; sub-processor of Mailverzend Europa B.V.)" in recruitment
    assert "Datacenter Zuid" not in recruitment and "Backup Opslag" not in recruitment  # inside the EEA
    # Web statistics and hosting only: nothing leaves the EEA for a purpose whose data only they receive.
    nl = {r["purpose_id"]: r for r in derive(shipped_policy, "nl", VERSION).controller_register}
    assert "modelcontractbepalingen van de EU" in nl["webinars"]["transfers"]


def test_r_gov_5_processor_register_has_the_processor_role_purposes(shipped_policy: Policy) -> None:
    records = derive(shipped_policy, "nl", VERSION)
    expected = [p.id for p in shipped_policy.purposes if p.role == Role.PROCESSOR]
    assert expected == ["expense_claims", "fiscal_retention"]
    assert [row["purpose_id"] for row in records.processor_register] == expected
    for row in records.processor_register:
        assert [f for f in FIELDS[PROCESSOR_REGISTER] if not row[f].strip()] == []
        assert row["controller"] == "Elke klant-werkgever (verwerkingsverantwoordelijke)"
        assert "benVitaal" in row["processor"] and "Datacenter Zuid B.V." in row["sub_processors"]
        assert "Backup Opslag GmbH" in row["sub_processors"] and "Mail Relay Inc." in row["transfers"]
        assert row["legal_basis"] == row["retention"] == ""  # fields of the other register stay empty


def test_r_gov_5_processor_register_per_employer_names_each_controller(shipped_policy: Policy) -> None:
    records = derive(shipped_policy, "en", VERSION, employers=["Bouwbedrijf Noord B.V.", "Gemeente Zuid"])
    assert [(r["purpose_id"], r["controller"]) for r in records.processor_register] == [
        ("expense_claims", "Bouwbedrijf Noord B.V. (controller)"), ("expense_claims", "Gemeente Zuid (controller)"),
        ("fiscal_retention", "Bouwbedrijf Noord B.V. (controller)"), ("fiscal_retention", "Gemeente Zuid (controller)")]
    assert records.controller_register == derive(shipped_policy, "en", VERSION).controller_register


def test_r_gov_5_csv_parses_back_with_both_registers(shipped_policy: Policy) -> None:
    records = derive(shipped_policy, "nl", VERSION)
    rows = list(csv.reader(io.StringIO(as_csv(records))))
    assert rows[0] == [label(c, "nl") for c in COLUMNS]
    assert len(rows) == 1 + len(shipped_policy.purposes) + 2
    by_register = [dict(zip(COLUMNS, row, strict=True)) for row in rows[1:]]
    assert [r["register"] for r in by_register].count(PROCESSOR_REGISTER) == 2
    assert by_register[0] == records.controller_register[0]
    assert export(records, "csv").startswith("\ufeff".encode())  # spreadsheets read it as UTF-8


def test_r_gov_5_csv_cells_never_start_a_spreadsheet_formula(shipped_policy: Policy) -> None:
    records = derive(shipped_policy, "en", VERSION, employers=['=HYPERLINK("http://x","y")'])
    rows = list(csv.reader(io.StringIO(as_csv(records))))
    assert rows[-1][COLUMNS.index("controller")].startswith("'=HYPERLINK")
    assert not any(cell[:1] in "=+-@" for row in rows for cell in row if cell)


def test_r_gov_5_json_has_the_documented_shape(shipped_policy: Policy) -> None:
    body = json.loads(as_json(derive(shipped_policy, "en", VERSION)))
    assert set(body) == {"title", "version", "lang", "registers"} and body["version"] == VERSION
    assert set(body["registers"]) == {CONTROLLER_REGISTER, PROCESSOR_REGISTER}
    for register, content in body["registers"].items():
        assert content["fields"] == list(FIELDS[register]) and content["title"]
        assert content["rows"] and all(list(row) == content["fields"] for row in content["rows"])
        assert all(isinstance(value, str) and value for row in content["rows"] for value in row.values())


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_r_gov_5_pdf_is_a_landscape_document_with_the_labels(shipped_policy: Policy, lang) -> None:
    pdf = as_pdf(derive(shipped_policy, lang, VERSION))
    assert pdf.startswith(b"%PDF") and len(pdf) > 10_000
    # pypdf is not a dependency: the page dictionaries and the document title are plain in reportlab's output.
    assert b"/MediaBox [ 0 0 841.8898 595.2756 ]" in pdf  # A4 landscape
    assert f"/Title ({label('title', lang)})".encode() in pdf
    assert pdf.count(b"/Type /Page\n") >= 2  # a page per register at least
    text = _page_text(pdf)
    words = {"nl": ["Verwerkingsdoel", "Grondslag", "Bewaartermijnen", "Beveiligingsmaatregelen", "verwerker"],
             "en": ["Purpose", "Legal basis", "Retention periods", "Security measures", "processor"]}[lang]
    assert [w for w in [*words, "abcd1234", "Maastricht-Airport"] if w not in text] == []


def _page_text(pdf: bytes) -> str:
    """The text drawn on the pages: reportlab writes each content stream deflated, then ASCII85."""
    drawn = []
    for stream in re.findall(rb"stream\n(.*?)endstream", pdf, re.S):
        try:
            drawn.append(zlib.decompress(base64.a85decode(stream.strip().removesuffix(b"~>"))).decode("latin-1"))
        except (ValueError, zlib.error):
            continue  # fonts and images
    return " ".join(re.findall(r"\((.*?)\) Tj", " ".join(drawn)))


def test_r_gov_5_security_measures_are_required_in_both_languages(lab) -> None:
    del lab.data["security_measures"]
    assert lab.problem("security_measures").reason
    lab.data["security_measures"] = {"nl": "Versleuteld opgeslagen.", "en": ""}
    assert lab.problem("security_measures.en").reason
