"""The content guard refuses BSNs and special-category data and strips photo metadata (R-VLT-4)."""

import io

import pytest
from PIL import Image

from kluis.vault.guard import ContentGuard

GUARD = ContentGuard({"health": ["ziek", "diagnose", "burn-out", "sick leave"], "religion": ["moskee", "kerk"]})


@pytest.mark.parametrize("text", ["mijn bsn is 111222333", "BSN: 1112.22.333", "nummer 111 222 333 graag"])
def test_r_vlt_4_valid_bsn_refused(text):
    problems = GUARD.scan_text(text, "content.note")
    assert [p.code for p in problems] == ["bsn_refused"]
    assert problems[0].path == "content.note"


@pytest.mark.parametrize("text", ["bel 0612345678", "+31 6 12345678", "factuur 123456789", "NL91ABNA0417164300",
                                  "postcode 6199 AA", "bedrag 1234567890"])
def test_r_vlt_4_numbers_that_are_not_a_valid_bsn_pass(text):
    assert GUARD.scan_text(text, "x") == []


@pytest.mark.parametrize("text,category", [("Ik ben ZIEK thuis", "health"), ("na mijn burn-out", "health"),
                                           ("on sick  leave", "health"), ("Diagnosé volgt", "health"),
                                           ("naar de kerk", "religion")])
def test_r_vlt_4_special_category_markers_refused_with_category(text, category):
    problems = GUARD.scan_text(text, "content.note")
    assert problems and problems[0].code == "special_category_refused" and category in problems[0].message


def test_r_vlt_4_markers_match_whole_words_only():
    assert GUARD.scan_text("de kerkstraat en ziekenfondsnummer", "x") == []


def test_r_vlt_4_document_scan_reports_the_field_path_and_bsn_field_names():
    doc = {"name": "Jan", "notes": [{"text": "ok"}, {"text": "ziek gemeld"}], "bsn": "x"}
    paths = {p.path for p in GUARD.scan_document(doc, "items[2].content")}
    assert paths == {"items[2].content.notes[1].text", "items[2].content.bsn"}


def _jpeg_with_exif() -> bytes:
    img = Image.new("RGB", (8, 8), "red")
    exif = Image.Exif()
    exif[0x010F] = "CameraMaker"  # Make
    exif[0x8825] = {2: (52.0, 22.0, 1.0), 1: "N"}  # GPS info
    buf = io.BytesIO()
    img.save(buf, "JPEG", exif=exif)
    return buf.getvalue()


def test_r_vlt_4_photo_loses_exif_and_gps():
    raw = _jpeg_with_exif()
    assert Image.open(io.BytesIO(raw)).getexif()
    cleaned = GUARD.clean_file(raw, "image/jpeg", "file")
    assert isinstance(cleaned, bytes)
    out = Image.open(io.BytesIO(cleaned))
    assert not out.getexif() and "exif" not in out.info
    assert out.size == (8, 8)
    assert b"CameraMaker" not in cleaned


def test_r_vlt_4_files_refused_when_unreadable_wrong_type_or_sensitive():
    assert GUARD.clean_file(b"not an image", "image/png", "f").code == "image_unreadable"
    assert GUARD.clean_file(_jpeg_with_exif(), "image/png", "f").code == "media_type_mismatch"
    assert GUARD.clean_file(b"%PDF-1.4", "application/x-msdownload", "f").code == "media_type_refused"
    assert GUARD.clean_file(b"bsn 111222333", "text/plain", "f").code == "bsn_refused"
    assert GUARD.clean_file(b"gewoon tekst", "text/plain", "f") == b"gewoon tekst"


@pytest.mark.parametrize("ip", ["212.53.178.1", "111.222.333.4", "10.111.222.333", "2001:db8::111:222:333"])
def test_r_vlt_4_ip_addresses_are_not_taken_for_a_bsn(ip):
    assert GUARD.scan_text(ip, "x") == []


@pytest.mark.parametrize("doc", [{"a": "ik ben ziek"}, {"bsn": "x"}, {"BSN": 1}, {"n": "111222333"},
                                 {"x": "a\nziek"}, {"ziek": True}, {"l": ["x", "Kerk"]}, {"x": "Burn out"}])
def test_r_vlt_4_refusable_content_is_found_wherever_it_sits(doc):
    assert GUARD.scan_document(doc, "c")


@pytest.mark.parametrize("text", ["bsn 12345672", "mijn nummer is 12 345 672", "BSN: 123.45.672", "nr 012345672"])
def test_r_vlt_4_bsn_written_without_its_leading_zero_refused(text):
    """012345672 is written as 12345672 by people who drop the zero; it is the same BSN."""
    assert [p.code for p in GUARD.scan_text(text, "x")] == ["bsn_refused"]


@pytest.mark.parametrize("text", ["klant 12345678", "order 11122233", "nummer 1234 5678", "datum 20261202",
                                  "op 2026-12-02", "bel 06 1234 5678"])
def test_r_vlt_4_eight_digit_numbers_that_fail_the_elfproef_or_are_dates_pass(text):
    assert GUARD.scan_text(text, "x") == []


@pytest.mark.parametrize("doc", [{"nummer": 12345672}, {"n": [111222333]}, {"n": 111222333.0}])
def test_r_vlt_4_a_bsn_stored_as_a_json_number_refused(doc):
    assert [p.code for p in GUARD.scan_document(doc, "c")] == ["bsn_refused"]


def test_r_vlt_4_numbers_that_are_not_a_bsn_pass_as_json_numbers():
    assert GUARD.scan_document({"amount": 12345678, "count": 3, "flag": True, "ratio": 0.5}, "c") == []


@pytest.mark.parametrize("key", ["bsn_nummer", "bsnNumber", "BSN-nummer", "burgerservicenummer",
                                 "social_security_number", "nationalId"])
def test_r_vlt_4_national_identifier_field_names_refused_citing_the_law(key):
    problems = GUARD.scan_document({key: "x"}, "c")
    assert [p.code for p in problems] == ["bsn_refused"]
    assert "UAVG art. 46" in problems[0].message


@pytest.mark.parametrize("key", ["sick_leave", "sickLeave", "burn-out-datum"])
def test_r_vlt_4_special_category_field_names_refused_whatever_the_separator(key):
    problems = GUARD.scan_document({key: "ja"}, "c")
    assert [p.code for p in problems] == ["special_category_refused"]
    assert "GDPR Art. 9" in problems[0].message


CLEAN_BATCH = [{"name": "Anna", "n": 3, "note": "klant 12345678", "tags": ["a", "b"]}, {"x": {"y": "datum 20261202"}}]


@pytest.mark.parametrize("doc", [{"a": "ik ben ziek"}, {"bsn": "x"}, {"BSN": 1}, {"n": "111222333"},
                                 {"x": "a\nziek"}, {"ziek": True}, {"l": ["x", "Kerk"]}, {"x": "Burn out"},
                                 {"nummer": 12345672}, {"n": [111222333]}, {"n": 111222333.0},
                                 {"deep": {"er": [{"note": "mijn bsn is 111 222 333"}]}}, {"sickLeave": "ja"}])
def test_r_vlt_4_issue_18_6_a_batch_is_not_clean_when_any_document_in_it_would_be_refused(doc):
    """The batch write path asks the guard once for all documents (``clean``) and scans each on its own only when
    it says no: every document ``scan_document`` refuses makes the whole batch not clean, wherever it sits."""
    assert GUARD.scan_document(doc, "c")
    assert GUARD.clean(CLEAN_BATCH) is True
    assert GUARD.clean([*CLEAN_BATCH, doc]) is False
    assert GUARD.clean([doc, *CLEAN_BATCH]) is False


def test_r_vlt_4_issue_18_6_pieces_of_different_documents_do_not_make_a_bsn_or_a_word():
    """Digits or letters at the end of one value and the start of the next are not read as one number or word;
    only a phrase marker can span two pieces, and then each document is scanned on its own and passes."""
    assert GUARD.clean([{"a": "1112"}, {"b": "22333"}, {"c": "zie"}, {"d": "k"}]) is True
    split_phrase = [{"a": "sick"}, {"b": "leave"}]
    assert GUARD.clean(split_phrase) is False
    assert all(GUARD.scan_document(doc, "c") == [] for doc in split_phrase)


def test_r_vlt_4_issue18_folding_a_batch_text_drops_every_accent_and_nothing_else():
    """``fold`` drops the combining marks of the decomposed text as one test of each character did, whatever
    the script: accents, compatibility forms (ﬁ, ①), letters without a decomposition (ß, ø), other alphabets."""
    import unicodedata

    from kluis.policy.vocabulary import fold

    text = "\n".join(["Zíekte ZIEKTE ziekte", "Ångström café naïve", "Straße Øre ﬁets ① ", "Ελληνικά ἀρχή",
                      "Tiếng Việt", "e\u0301\u0327 a\u20d7", "plain ascii 123"] * 50)
    by_character = "".join(c for c in unicodedata.normalize("NFKD", text.casefold())
                           if not unicodedata.combining(c))
    assert fold(text) == by_character
    assert fold("Zíekte") == "ziekte" and fold("ASCII") == "ascii"
    assert GUARD.scan_text("hij is zíek", "x")  # a marker is still found under an accent
