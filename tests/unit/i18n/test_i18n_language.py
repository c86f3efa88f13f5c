"""How the console picks its language and shows instants (R-GATE-2: the console in Dutch or English): the staff
member's choice, else the browser's preference, else English; Amsterdam time with the zone, per locale."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from kluis.kit import i18n
from kluis.web.console import back_to


@pytest.mark.parametrize(("cookie", "header", "expected"), [
    (None, None, "en"),
    (None, "nl-NL,nl;q=0.9,en;q=0.8", "nl"),
    (None, "de-DE,de;q=0.9,nl;q=0.5", "nl"),
    (None, "en-GB,en;q=0.9,nl;q=0.8", "en"),
    (None, "nl;q=0.3,en;q=0.7", "en"),
    (None, "fr, de", "en"),
    (None, "nl;q=0", "en"),
    (None, "nl;q=nonsense", "en"),
    ("nl", "en", "nl"),
    ("en", "nl", "en"),
    ("de", "nl", "nl"),
])
def test_r_gate_2_language_is_the_choice_then_the_browser_then_english(cookie: str | None, header: str | None,
                                                                       expected: str) -> None:
    assert i18n.choose(cookie, header) == expected


def test_r_gate_2_instants_are_amsterdam_time_per_locale_on_both_sides_of_the_clock_change() -> None:
    winter, summer = datetime(2026, 11, 25, 12, 0, tzinfo=UTC), datetime(2026, 7, 1, 12, 0, tzinfo=UTC)
    assert i18n.when(winter, "en") == "2026-11-25 13:00:00 CET"
    assert i18n.when(winter, "nl") == "25 nov 2026 13:00:00 CET"
    assert i18n.when(summer, "nl") == "1 jul 2026 14:00:00 CEST"
    assert i18n.when("2026-11-25T12:00:00+00:00", "en") == "2026-11-25 13:00:00 CET"
    assert i18n.when(datetime(2026, 11, 25, 12, 0), "en") == "2026-11-25 13:00:00 CET"  # naive: UTC, as SQLite
    assert i18n.day(date(2026, 12, 30), "en") == "2026-12-30" and i18n.day(date(2026, 12, 30), "nl") == "30 dec 2026"
    with i18n.speaking("nl"):
        assert i18n.when(winter) == "25 nov 2026 13:00:00 CET"


@pytest.mark.parametrize(("given", "expected"), [
    ("/console/requests?closed=true", "/console/requests?closed=true"),
    ("/console", "/console"),
    ("https://evil.example/console", "/console"),
    ("//evil.example/console", "/console"),
    ("/consolex", "/console"),
    ("/console/\\evil", "/console"),
    ("/privacy", "/console"),
])
def test_r_gate_2_the_language_switch_returns_only_to_a_console_page(given: str, expected: str) -> None:
    assert back_to(given) == expected


def test_r_gate_2_issue_19_written_out_dates_and_texts_in_the_readers_language_whatever_the_request_speaks() -> None:
    """The statement, the access report and letters write dates out per locale through the same module as the
    pages; a mail or report is said in its reader's language even while a request in the other one is served."""
    assert i18n.long_day(date(2032, 12, 31), "nl") == "31 december 2032"
    assert i18n.long_day(date(2032, 12, 31), "en") == "31 December 2032"
    assert i18n.long_when(datetime(2026, 11, 25, 12, 0, tzinfo=UTC), "nl") == "25 november 2026 13:00 CET"
    with i18n.speaking("en"):
        assert i18n.say(i18n.N_("Kept until"), "nl") == "Bewaard tot"
        assert i18n.say(i18n.N_("Erased: %(names)s.", names=i18n.N_("nothing")), "nl") == "Verwijderd: niets."
        assert i18n.language() == "en"
    assert (i18n.query("nl"), i18n.query("en"), i18n.query("en", "&")) == ("", "?lang=en", "&lang=en")
    assert (i18n.other("nl"), i18n.other("en")) == ("en", "nl")
