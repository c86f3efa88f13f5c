"""Pure mail rules and templates (SPEC §9 Mail; R-CONS-2)."""

from __future__ import annotations

import uuid

import pytest

from kluis.kit import i18n
from kluis.kit.errors import ConfigurationError
from kluis.mail import rules
from kluis.mail.models import Outbox
from kluis.mail.notices import NOTICES, account_notice, check_notice
from kluis.mail.templates import MAIL_TEMPLATES, Undeliverable, message_type, register_template


def test_r_cons_2_message_id_is_the_same_for_every_attempt():
    outbox_id = uuid.uuid4()
    assert rules.message_id(outbox_id, "kluis.benvitaal.nl") == f"<{outbox_id}@kluis.benvitaal.nl>"


@pytest.mark.parametrize(("context", "codes"), [
    ({"request_id": str(uuid.uuid4()), "count": 3, "flag": True, "none": None, "ids": ["a1", "b2"]}, []),
    ({"address": "iemand@example.nl"}, ["context_personal"]),
    ({"ids": ["ok", "iemand@example.nl"]}, ["context_personal"]),
    ({"text": "x" * 201}, ["context_personal"]),
    ({"nested": {"a": 1}}, ["context_type"]),
    ({"amount": 1.5}, ["context_type"]),
    ({"not a name": 1}, ["context_key"]),
])
def test_r_cons_2_outbox_context_holds_ids_and_codes_only(context, codes):
    assert [p.code for p in rules.check_context(context)] == codes


def test_r_cons_2_marketing_mail_names_a_person_and_a_list():
    person = uuid.uuid4()
    assert rules.check_recipient("marketing", person, None, "nieuws") == []
    assert [p.code for p in rules.check_recipient("marketing", None, uuid.uuid4(), None)] == [
        "marketing_needs_person", "marketing_needs_list"]
    assert [p.code for p in rules.check_recipient("administrative", person, uuid.uuid4(), None)] == ["recipient_one"]


def test_r_cons_2_one_click_unsubscribe_headers_follow_rfc_8058():
    headers = rules.unsubscribe_headers("https://kluis.benvitaal.nl/u/abc", "afmelden@benvitaal.nl")
    assert headers == {"List-Unsubscribe": "<https://kluis.benvitaal.nl/u/abc>, <mailto:afmelden@benvitaal.nl>",
                       "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}
    assert rules.has_one_click_unsubscribe(headers)
    assert not rules.has_one_click_unsubscribe({"List-Unsubscribe": "<mailto:afmelden@benvitaal.nl>"})
    with pytest.raises(ValueError):
        rules.unsubscribe_headers("http://kluis.benvitaal.nl/u/abc", "afmelden@benvitaal.nl")
    assert not rules.has_one_click_unsubscribe({"List-Unsubscribe": "<http://kluis.benvitaal.nl/u/abc>",
                                                "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"})
    demo = rules.unsubscribe_headers("http://127.0.0.1:8000/u/abc", "afmelden@benvitaal.nl")
    assert rules.has_one_click_unsubscribe(demo), "plain http only on loopback, for the demo"


def test_r_cons_2_builders_may_not_replace_the_outbox_headers():
    assert rules.check_headers({"List-Id": "<nieuws.benvitaal.nl>"}) == []
    assert [p.code for p in rules.check_headers({"To": "x"})] == ["header_reserved"]
    assert [p.code for p in rules.check_headers({"Message-ID": "<x@y>"})] == ["header_reserved"]
    assert [p.code for p in rules.check_headers({"X-Note": "a\r\nBcc: x"})] == ["header_invalid"]


def _row(lang: str, context: dict) -> Outbox:
    return Outbox(id=uuid.uuid4(), template="account_notice", kind="administrative", person_id=uuid.uuid4(),
                  lang=lang, context=context)


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_r_cons_2_every_notice_renders_in_both_languages_and_html_is_escaped(lang):
    notice = message_type("account_notice")
    for code, texts in NOTICES.items():
        built = account_notice(None, None, _row(lang, {"notice": code, "reference": "<b>R&D</b>"}))
        rendered = notice.render(lang, {"lang": lang, "base_url": "https://x", "privacy_url": "https://x/privacy"}
                                 | dict(built.values))
        title, text = (i18n.say(words, lang) for words in texts)
        assert rendered.subject == f"benVitaal: {title}" and "\n" not in rendered.subject
        assert text in rendered.text and "<b>R&D</b>" in rendered.text
        assert (title == texts[0]) == (lang == "en")  # Dutch from the catalog, English as written
        assert "&lt;b&gt;R&amp;D&lt;/b&gt;" in rendered.html and "<b>R&D</b>" not in rendered.html
        assert f'lang="{lang}"' in rendered.html and "https://x/privacy" in rendered.html


def test_r_cons_2_an_unknown_notice_is_refused_when_queued_and_undeliverable_when_sent():
    assert [p.code for p in check_notice({"notice": "nope"})] == ["notice_unknown"]
    with pytest.raises(Undeliverable):
        account_notice(None, None, _row("nl", {"notice": "nope"}))


def test_r_cons_2_a_template_without_every_translation_is_refused_at_registration(tmp_path):
    (tmp_path / "half_done").mkdir()
    for part in ("subject.nl.txt", "body.nl.txt", "body.nl.html"):
        (tmp_path / "half_done" / part).write_text("x")
    with pytest.raises(ConfigurationError) as caught:
        register_template("half_done", account_notice, "administrative", directory=tmp_path)
    assert "half_done/subject.en.txt" in caught.value.message
    with pytest.raises(ConfigurationError):
        register_template("account_notice", lambda *a: None, "administrative", directory=MAIL_TEMPLATES)
    with pytest.raises(ConfigurationError):
        message_type("never_registered")
