"""Access package (R-DSR-3) and portability export (R-DSR-4), on SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import builtins
import csv
import gc
import hashlib
import io
import json
import os
import re
import tempfile
import tracemalloc
import zipfile
import zlib
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from kluis.audit.models import AuditEvent
from kluis.disclosures.service import DisclosureIn, Disclosures
from kluis.kit.errors import Invalid, NotFound
from kluis.retention import holds
from kluis.retention import service as retention
from kluis.rights.packages.archive import write_access_package
from kluis.vault.schemas import FileIn, IdentifierIn, PersonIn, RecordIn
from kluis.vault.service import add_employer

EMAIL = "anna.devries@example.nl"
UPLOAD = b"Curriculum vitae van Anna\n"


def _person(kluis):
    with kluis.db.transaction() as session:
        vault = kluis.vault(session, "test")
        person = vault.create_person(PersonIn(subject_types=["employee"], identifiers=[
            IdentifierIn(kind="email", value=EMAIL), IdentifierIn(kind="phone", value="06 12345678")]))
        vault.add_records(person.id, [
            RecordIn(category="basic", purposes=["accounts"], legal_basis="contract", source="direct",
                     content={"name": "Anna de Vries", "address": {"city": "Utrecht", "street": "Oudegracht 1"}},
                     collected_at=datetime(2025, 3, 1, tzinfo=UTC)),
            RecordIn(category="basic", purposes=["lead_management"], legal_basis="legitimate_interest",
                     source="direct", content={"name": "A. de Vries", "tags": ["run", "yoga"]},
                     collected_at=datetime(2025, 4, 1, tzinfo=UTC)),
            RecordIn(category="interests", purposes=["lead_management"], legal_basis="legitimate_interest",
                     source="aggregator", content={"interest_topics": "hardlopen"}),
            RecordIn(category="basic", purposes=["marketing_email"], legal_basis="consent", source="direct",
                     content={"email": EMAIL}, collected_at=datetime(2025, 5, 1, tzinfo=UTC)),
            RecordIn(category="application", purposes=["recruitment"], legal_basis="contract", source="direct",
                     file=FileIn(media_type="text/plain", data_base64=base64.b64encode(UPLOAD).decode())),
        ])
        kluis.consents(session, "test").give(person.id, "marketing_email", method="form",
                                             notice_text="Ja, stuur mij de nieuwsbrief", lang="nl")
        kluis.consents(session, "test").withdraw(person.id, "marketing_email", method="unsubscribe_link")
        gate = kluis.gate(session, "test")
        gate.object(person.id, "lead_management", "person")
        gate.restrict(person.id, "accuracy_contested", "staff", reference="REQ-1")
        return person.id


def _build(kluis, person_id, lang="nl", **options):
    out = io.BytesIO()
    with kluis.db.transaction() as session:
        summary = write_access_package(kluis, session, person_id, lang, out, **options)
    return summary, zipfile.ZipFile(io.BytesIO(out.getvalue()))


def _pdf_text(data: bytes) -> str:
    """The text drawn in a ReportLab PDF: its content streams, ASCII85-decoded and inflated."""
    chunks = []
    for match in re.finditer(rb"stream\r?\n(.*?)endstream", data, re.S):
        body = match.group(1).strip().removesuffix(b"~>")
        try:
            chunks.append(zlib.decompress(base64.a85decode(body)).decode("latin-1"))
        except (ValueError, zlib.error):
            continue
    return "".join(chunks)


def test_r_dsr_3_package_holds_every_expected_file(kluis):
    pid = _person(kluis)
    summary, zf = _build(kluis, pid)
    names = set(zf.namelist())
    assert {"data/basic.json", "data/basic.csv", "data/interests.json", "data/interests.csv",
            "data/application.json", "data/application.csv", "identifiers.json", "consents.json", "gate.json",
            "disclosures.json", "report.html", "report.pdf", "manifest.json"} <= names
    assert summary.counts == {"application": 1, "basic": 3, "interests": 1}
    assert summary.files == len(names) and not summary.portability
    assert summary.policy_version.startswith("sha256:")
    assert zf.testzip() is None


def test_r_dsr_3_json_and_csv_equal_what_was_stored(kluis):
    pid = _person(kluis)
    _, zf = _build(kluis, pid)
    basic = json.loads(zf.read("data/basic.json"))
    assert [r["content"] for r in basic] == [
        {"name": "Anna de Vries", "address": {"city": "Utrecht", "street": "Oudegracht 1"}},
        {"name": "A. de Vries", "tags": ["run", "yoga"]}, {"email": EMAIL}]
    assert basic[0]["purposes"] == ["accounts"] and basic[0]["legal_basis"] == "contract"
    assert basic[0]["source"] == "direct" and basic[0]["controller"] == "benvitaal"
    assert basic[0]["collected_at"].startswith("2025-03-01")
    rows = list(csv.DictReader(io.StringIO(zf.read("data/basic.csv").decode())))
    assert [r["record_id"] for r in rows] == [r["record_id"] for r in basic]
    assert rows[0]["content.address.city"] == "Utrecht" and rows[0]["content.name"] == "Anna de Vries"
    assert rows[0]["last_activity_at"] == basic[0]["last_activity_at"]
    assert json.loads(rows[1]["content.tags"]) == ["run", "yoga"] and rows[2]["content.email"] == EMAIL
    application = json.loads(zf.read("data/application.json"))[0]
    assert zf.read(application["file"]["path"]) == UPLOAD
    assert application["file"]["path"].startswith("files/application/")
    identifiers = {i["kind"]: i["value"] for i in json.loads(zf.read("identifiers.json"))}
    assert identifiers == {"email": EMAIL, "phone": "+31612345678"}
    consents = json.loads(zf.read("consents.json"))
    assert [(c["purpose"], c["action"]) for c in consents] == [("marketing_email", "given"),
                                                             ("marketing_email", "withdrawn")]
    gate = json.loads(zf.read("gate.json"))
    assert [o["scope"] for o in gate["objections"]] == ["lead_management"]
    assert [r["reason"] for r in gate["restrictions"]] == ["accuracy_contested"]
    assert json.loads(zf.read("disclosures.json")) == []


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_r_dsr_3_report_holds_the_art_15_facts(kluis, lang):
    pid = _person(kluis)
    _, zf = _build(kluis, pid, lang)
    html = zf.read("report.html").decode()
    policy = kluis.policy
    assert f'<html lang="{lang}">' in html
    for fact in ("Autoriteit Persoonsgegevens", "dpo@benvitaal.nl", policy.supervisory_authority.website,
                 "Postbus 93374", ("36 maanden" if lang == "nl" else "36 months"),
                 policy.retention_triggers[1].name.get(lang), ("4 weken" if lang == "nl" else "4 weeks"),
                 ("Gemaakt op: 25 november 2026 13:00" if lang == "nl" else "Made on: 25 November 2026 13:00"),
                 ("geen verstrekkingen" if lang == "nl" else "No disclosures"),
                 ("ingetrokken" if lang == "nl" else "withdrawn")):
        assert fact in html, fact
    for purpose in ("accounts", "lead_management", "marketing_email", "recruitment"):
        assert policy.purpose(purpose).name.get(lang) in html
    for source in ("direct", "aggregator"):
        assert policy.source(source).name.get(lang) in html
    for right in policy.rights:
        assert right.name.get(lang) in html
    pdf = zf.read("report.pdf")
    assert pdf.startswith(b"%PDF") and pdf.rstrip().endswith(b"%%EOF")
    title = "Uw persoonsgegevens bij benVitaal" if lang == "nl" else "Your personal data at benVitaal"
    assert title in html
    text = _pdf_text(pdf)
    assert title in text and "Autoriteit Persoonsgegevens" in text and "dpo@benvitaal.nl" in text


def test_r_dsr_3_logged_disclosures_are_listed(kluis):
    """R-DSR-3: what the disclosure log holds for the person is in the report (recipient, when, categories,
    purpose) and in disclosures.json."""
    with kluis.db.transaction() as session:
        pid = kluis.vault(session, "test").create_person(PersonIn(subject_types=["employee"], identifiers=[
            IdentifierIn(kind="email", value="deel@example.nl")])).id
        kluis.gate(session, "test").add_relation(pid, "account")
        kluis.consents(session, "test").give(pid, "marketing_email", method="form", notice_text="Ja", lang="nl")
    with kluis.db.transaction() as session:
        Disclosures(session, kluis.policy, kluis.clock, "test").record([
            DisclosureIn(person_id=pid, party="recipient:group_companies", categories=["basic"],
                         purpose="accounts", reference="export-2026-11"),
            DisclosureIn(person_id=pid, party="processor:email_delivery", categories=["basic"],
                         purpose="marketing_email")])
    _, zf = _build(kluis, pid, "nl")
    html = zf.read("report.html").decode()
    assert kluis.policy.recipient("group_companies").name.nl in html
    assert kluis.policy.processor("email_delivery").name in html
    assert kluis.policy.purpose("accounts").name.nl in html
    logged = json.loads(zf.read("disclosures.json"))
    assert [(d["recipient"], d["categories"], d["purpose"], d["reference"]) for d in logged] == [
        ("processor:email_delivery", ["basic"], "marketing_email", None),
        ("recipient:group_companies", ["basic"], "accounts", "export-2026-11")]  # by time, then party


def test_r_dsr_4_portability_holds_only_provided_data_on_consent_or_contract(kluis):
    pid = _person(kluis)
    summary, zf = _build(kluis, pid, "en", portability=True)
    names = set(zf.namelist())
    assert summary.portability and summary.counts == {"application": 1, "basic": 2}
    assert not {"report.html", "report.pdf", "identifiers.json", "consents.json", "gate.json"} & names
    assert "data/interests.json" not in names
    basic = json.loads(zf.read("data/basic.json"))
    assert {r["legal_basis"] for r in basic} == {"contract", "consent"}
    assert all(r["source"] == "direct" for r in basic)
    assert all(n.startswith(("data/", "files/")) or n == "manifest.json" for n in names)


def test_r_dsr_3_unknown_language_and_unknown_person_are_refused(kluis):
    pid = _person(kluis)
    with kluis.db.transaction() as session, pytest.raises(Invalid):
        write_access_package(kluis, session, pid, "de", io.BytesIO())  # type: ignore[arg-type]
    with kluis.db.transaction() as session:
        kluis.vault(session, "test").shred([pid], reason="test")
    with kluis.db.transaction() as session, pytest.raises(NotFound):
        write_access_package(kluis, session, pid, "nl", io.BytesIO())


def test_r_dsr_3_package_is_written_only_to_the_given_stream(kluis, monkeypatch):
    """No plaintext anywhere but ``out``: no file opened for writing, no temp file, nothing personal audited."""
    pid = _person(kluis)
    writes: list[str] = []
    real_open, real_os_open = builtins.open, os.open

    def guarded_open(file, mode="r", *args, **kwargs):
        if any(m in mode for m in "wax+"):
            writes.append(str(file))
        return real_open(file, mode, *args, **kwargs)

    def guarded_os_open(path, flags, *args, **kwargs):
        if flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT):
            writes.append(str(path))
        return real_os_open(path, flags, *args, **kwargs)

    def no_temp(*args, **kwargs):
        raise AssertionError("a temporary file was made")

    monkeypatch.setattr(builtins, "open", guarded_open)
    monkeypatch.setattr(io, "open", guarded_open)
    monkeypatch.setattr(os, "open", guarded_os_open)
    for name in ("TemporaryFile", "NamedTemporaryFile", "SpooledTemporaryFile", "mkstemp", "mkdtemp"):
        monkeypatch.setattr(tempfile, name, no_temp)
    before = set(os.listdir(tempfile.gettempdir()))
    _build(kluis, pid)
    monkeypatch.undo()
    assert writes == [] and set(os.listdir(tempfile.gettempdir())) == before
    with kluis.db.sessions() as session:
        event = session.scalars(select(AuditEvent).where(AuditEvent.action == "rights.package_made")
                                .order_by(AuditEvent.seq)).one()
        assert EMAIL not in json.dumps(event.details) and "Vries" not in json.dumps(event.details)


class _Sink(io.RawIOBase):
    """A write-only stream that keeps nothing, so memory measures the builder, not the package."""

    def __init__(self) -> None:
        self.digest, self.size = hashlib.sha256(), 0

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:  # type: ignore[override]
        self.digest.update(data)
        self.size += len(data)
        return len(data)


def _many(kluis, count):
    with kluis.db.transaction() as session:
        vault = kluis.vault(session, "test")
        person = vault.create_person(PersonIn(subject_types=["employee"]))
        for start in range(0, count, 2000):
            vault.add_records(person.id, [
                RecordIn(category="web_traffic", purposes=["security"], legal_basis="legitimate_interest",
                         source="cookies", content={"ip_address": f"10.0.{n // 250}.{n % 250}",
                                                    "device": {"os": "Android", "n": n}})
                for n in range(start, min(count, start + 2000))])
        return person.id


def _peak(kluis, person_id) -> tuple[int, int]:
    sink = _Sink()
    gc.collect()
    tracemalloc.start()
    try:
        with kluis.db.transaction() as session:
            summary = write_access_package(kluis, session, person_id, "en", sink)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert sum(summary.counts.values()) > 0
    return peak, sink.size


def test_r_dsr_3_memory_stays_flat_with_many_records(kluis):
    small, large = _many(kluis, 2_000), _many(kluis, 20_000)
    _peak(kluis, small)  # warm caches (compiled SQL, templates, fonts) before measuring
    small_peak, small_size = _peak(kluis, small)
    large_peak, large_size = _peak(kluis, large)
    assert large_size > 5 * small_size
    assert large_peak < 1.5 * small_peak, (small_peak, large_peak)


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_r_dsr_3_report_gives_per_category_the_erasure_date_or_why_it_cannot_be_dated(kluis, lang):
    """R-DSR-3: besides the rule text, each category says when Kluis will erase it (Amsterdam calendar dates from
    the records' due dates: one day, or the first and the last), or why it cannot be dated yet (the trigger has
    not happened; a legal hold keeps it), in the report (HTML and PDF) and in erasure_dates.json."""
    with kluis.db.transaction() as session:
        vault = kluis.vault(session, "test")
        boss = add_employer(session, kluis.clock, "test", "Werkgever BV")
        pid = vault.create_person(PersonIn(subject_types=["employee"], employer_id=boss.id, identifiers=[
            IdentifierIn(kind="email", value=EMAIL)])).id
        vault.add_records(pid, [RecordIn(category="application", purposes=["recruitment"], legal_basis="contract",
                                         source="direct", content={"motivation": "graag"})])
        claims = vault.add_records(pid, [RecordIn(
            category="financial", purposes=["expense_claims"], legal_basis="contract", source="employer",
            controller="employer", controller_employer_id=boss.id, content={"amount": f"{n}.00"})
            for n in (1, 2, 3)])
        ids = list(claims)
        retention.record_event(session, kluis.clock, kluis.policy, "test", pid, "settled",
                               datetime(2024, 3, 15, 9, tzinfo=UTC), ids[:1])
        retention.record_event(session, kluis.clock, kluis.policy, "test", pid, "settled",
                               datetime(2025, 12, 31, 23, 30, tzinfo=UTC), ids[1:2])  # 1 January 2026 there
        holds.place(session, kluis.clock, kluis.policy, "test", scope="category", category="application",
                    reason="litigation", until=datetime(2027, 3, 31, 22, tzinfo=UTC))
    _, zf = _build(kluis, pid, lang)
    dates = json.loads(zf.read("erasure_dates.json"))
    financial = [d for d in dates if d["category"] == "financial"]
    assert financial == [{"category": "financial", "rule": "expense_claims", "first": "2032-01-01",
                          "last": "2034-01-01", "undated": 1}]
    html = zf.read("report.html").decode()
    pdf = _pdf_text(zf.read("report.pdf"))
    words = {"nl": ("Wanneer we ze verwijderen", "Tussen 1 januari 2032 en 1 januari 2034",
                    "1 nog niet te dateren: de termijn is 7 jaar na het einde van het boekjaar waarin de "
                    "declaratie is afgehandeld", "houdt ze nu vast, tot 1 april 2027"),
             "en": ("When we erase it", "Between 1 January 2032 and 1 January 2034",
                    "1 cannot be dated yet: the term is 7 years after the end of the fiscal year in which the "
                    "claim was settled", "keeps it for now, until 1 April 2027")}[lang]
    for fact in words:
        assert fact in html, fact
    assert "2034" in pdf and ("januari" if lang == "nl" else "January") in pdf
    for entry in dates:  # every category the person has is dated or says why not
        assert entry["first"] or entry["undated"]
