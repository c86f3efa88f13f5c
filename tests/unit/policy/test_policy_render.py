"""R-POL-3: the public statement (NL and EN, HTML and Markdown) is rendered from the policy."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from kluis.policy.render import render_statement, term_text
from kluis.policy.schemas import Policy, Term, Text, version_label

KEY_FACTS = {
    "nl": ["7 jaar", "36 maanden", "4 weken", "1 jaar", "6 maanden", "dpo@benvitaal.nl",
           "Autoriteit Persoonsgegevens", "Australiëlaan 75", "+31 43 306 80 66", "Maastricht-Airport",
           "1 juni 2025", "Verwerker namens uw werkgever", "Modelclausules", "Verenigde Staten",
           "rechterlijk bevel", "account bijwerken", "abonnementbeheer", "Wijzigingen"],
    "en": ["7 years", "36 months", "4 weeks", "1 year", "6 months", "dpo@benvitaal.nl",
           "Autoriteit Persoonsgegevens", "Australiëlaan 75", "+31 43 306 80 66", "Maastricht-Airport",
           "1 June 2025", "Processor on behalf of your employer", "EU model clauses", "United States",
           "court order", "update account", "subscription-management", "Changes"],
}


class PageText(HTMLParser):
    """The text a reader sees (entities decoded, tags dropped)."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def readable(text: str, fmt: str) -> str:
    if fmt == "html":
        parser = PageText()
        parser.feed(text)
        text = "".join(parser.parts)
    return " ".join(text.split())


class Outline(HTMLParser):
    """Collects the heading levels and the html element's lang attribute."""

    def __init__(self) -> None:
        super().__init__()
        self.levels: list[int] = []
        self.lang: str | None = None
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "html":
            self.lang = dict(attrs).get("lang")
        if tag in {"h1", "h2", "h3", "h4", "h5", "h6"}:
            self.levels.append(int(tag[1]))
        if tag == "a":
            self.links.append(dict(attrs).get("href") or "")


@pytest.mark.parametrize("lang", ["nl", "en"])
@pytest.mark.parametrize("fmt", ["html", "md"])
def test_r_pol_3_statement_states_the_key_facts(shipped_policy: Policy, lang: str, fmt: str) -> None:
    """With the register's example entries taken as real (the shipped register is marked demo)."""
    shipped_policy = shipped_policy.model_copy(update={"processors": [
        p.model_copy(update={"demo": False}) for p in shipped_policy.processors]})
    text = render_statement(shipped_policy, lang, fmt)  # type: ignore[arg-type]
    plain = readable(text, fmt)
    for fact in KEY_FACTS[lang]:
        assert fact in plain, fact
    for purpose in shipped_policy.purposes:
        assert purpose.name.get(lang) in plain, purpose.id  # type: ignore[arg-type]
    for processor in shipped_policy.processors:
        assert processor.name in plain
    for route_id in shipped_policy.right("marketing_opt_out").routes:
        route = shipped_policy.withdrawal_route(route_id)
        expected = route.description.get(lang).replace("{dpo_email}", "dpo@benvitaal.nl")  # type: ignore[arg-type]
        assert " ".join(expected.split()) in plain
    for right in shipped_policy.rights:
        assert right.name.get(lang) in plain  # type: ignore[arg-type]
    assert "{dpo_email}" not in plain and "{authority}" not in plain


@pytest.mark.parametrize(("lang", "other"), [("nl", "en"), ("en", "nl")])
def test_r_pol_3_html_page_is_complete_and_accessible(shipped_policy: Policy, lang: str, other: str) -> None:
    page = render_statement(shipped_policy, lang, "html", version="3 (sha256:abcd1234…)")  # type: ignore[arg-type]
    outline = Outline()
    outline.feed(page)
    assert page.startswith("<!DOCTYPE html>")
    assert outline.lang == lang
    assert f"?lang={other}" in outline.links
    assert "mailto:dpo@benvitaal.nl" in outline.links
    assert outline.levels[0] == 1 and outline.levels.count(1) == 1
    assert all(b <= a + 1 for a, b in zip(outline.levels, outline.levels[1:], strict=False)), outline.levels
    assert "3 (sha256:abcd1234…)" in page
    assert '<main id="content">' in page and "<style>" in page


def test_r_pol_3_html_escapes_policy_text(shipped_policy: Policy) -> None:
    texts = shipped_policy.texts.model_copy(update={"intro": Text(nl="<script>alert(1)</script>", en="x")})
    policy = shipped_policy.model_copy(update={"texts": texts})
    page = render_statement(policy, "nl", "html")
    assert "<script>" not in page
    assert "&lt;script&gt;" in page


def test_r_pol_3_markdown_has_no_html_markup(shipped_policy: Policy) -> None:
    text = render_statement(shipped_policy, "en", "md", version=version_label(shipped_policy.content_hash))
    assert text.startswith("# benVitaal privacy statement\n")
    assert "<p>" not in text and "&#39;" not in text
    assert "## How long your data is kept" in text
    assert f"sha256:{shipped_policy.content_hash[:8]}…" in text


def test_r_pol_3_unknown_language_or_format_refused(shipped_policy: Policy) -> None:
    with pytest.raises(ValueError, match="unknown language 'de'"):
        render_statement(shipped_policy, "de", "html")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown format 'pdf'"):
        render_statement(shipped_policy, "nl", "pdf")  # type: ignore[arg-type]


@pytest.mark.parametrize(("term", "nl", "en"), [
    (Term(years=7), "7 jaar", "7 years"),
    (Term(years=1), "1 jaar", "1 year"),
    (Term(months=36), "36 maanden", "36 months"),
    (Term(weeks=4), "4 weken", "4 weeks"),
    (Term(months=1, days=2), "1 maand en 2 dagen", "1 month and 2 days"),
])
def test_r_pol_3_terms_in_words(term: Term, nl: str, en: str) -> None:
    assert (term_text(term, "nl"), term_text(term, "en")) == (nl, en)
