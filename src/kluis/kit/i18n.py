"""Languages of the pages: gettext catalogs (``kluis/locale/<lang>/LC_MESSAGES/messages.po``) and dates per locale.

The catalogs are read straight from the ``.po`` files when first needed (``babel.messages.pofile.read_po``), turned
into gettext translations in memory: there is no compile step, so a fresh clone serves both languages after the
README's install. Fuzzy and untranslated entries fall back to the English text in the source (the msgid).

The language of the current request lives in a context variable (``speaking``): the console sets it once per
request, so ``gettext`` in a route, in a template (Jinja's i18n extension calls the same functions) and on an error
page all answer in the staff member's language. Outside a request it is English. Docs: docs/i18n.md.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from babel import Locale
from babel.dates import format_date, format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

from kluis.kit.clock import AMSTERDAM, as_utc
from kluis.kit.messages import N_ as N_  # re-exported: services mark their messages with kluis.kit.i18n.N_
from kluis.kit.messages import Message

if TYPE_CHECKING:
    from jinja2 import Environment

LANGUAGES = ("en", "nl")
FALLBACK = "en"
DOMAIN = "messages"
LOCALE_DIR = Path(__file__).resolve().parents[1] / "locale"
# Staff read instants in Amsterdam time with the zone's abbreviation (CET/CEST: which of the two hours after the
# clocks go back). English keeps the sortable ISO form the console always showed; Dutch names the month.
WHEN_PATTERNS = {"en": "yyyy-MM-dd HH:mm:ss", "nl": "d MMM yyyy HH:mm:ss"}
DATE_PATTERNS = {"en": "yyyy-MM-dd", "nl": "d MMM yyyy"}
# The language switch and the locales: the only place Kluis names its languages. Every text a person or staff member
# reads is in the catalogs (tests/unit/i18n/test_i18n_no_language_branches.py keeps it so).
NAMES = {"nl": "Nederlands", "en": "English"}  # each language in its own words, for a switch to it
LOCALES = {"nl": "nl_NL", "en": "en_GB"}  # Babel's locale of each: lists, long dates, country names
PUBLIC = "nl"  # the public pages' own language: their addresses name only the other one (?lang=en)

_language: ContextVar[str] = ContextVar("kluis_language", default=FALLBACK)


def translate(message: str) -> str:
    """A message (marked with ``N_`` where it was made, or a plain catalog text) in the current language."""
    if isinstance(message, Message) and message.params:
        return gettext(message.template) % {name: translate(value) if isinstance(value, Message) else value
                                            for name, value in message.params.items()}
    return gettext(str(message))


@cache
def translations(lang: str) -> Translations:
    """The catalog of ``lang`` (one of ``LANGUAGES``), read from its ``.po`` file once per process."""
    if lang not in LANGUAGES:
        raise ValueError(f"unsupported language {lang!r}")
    path = LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"
    with path.open("rb") as po:
        catalog = read_po(po, locale=lang, domain=DOMAIN)
    compiled = io.BytesIO()
    write_mo(compiled, catalog, use_fuzzy=False)  # fuzzy entries are not yet checked: the English text shows
    compiled.seek(0)
    return Translations(compiled, domain=DOMAIN)


def language() -> str:
    """The language of the current request (English outside one)."""
    return _language.get()


@contextmanager
def speaking(lang: str) -> Iterator[str]:
    """Answer in ``lang`` (falls back to English if unsupported) until the block ends."""
    chosen = lang if lang in LANGUAGES else FALLBACK
    token = _language.set(chosen)
    try:
        yield chosen
    finally:
        _language.reset(token)


def say(message: str, lang: str) -> str:
    """``message`` (a catalog text, marked with ``N_`` where it was written) in ``lang``, whatever the current
    request speaks: a mail, a statement or a report is in its reader's language, not the sender's."""
    with speaking(lang):
        return translate(message)


def other(lang: str) -> str:
    """The language a switch on a page in ``lang`` offers."""
    return "en" if lang == "nl" else "nl"


def query(lang: str, separator: str = "?") -> str:
    """The ``lang`` parameter a public address in ``lang`` carries: none for Dutch, the pages' own language."""
    return "" if lang == PUBLIC else f"{separator}lang={lang}"


def gettext(message: str) -> str:
    """``message`` in the current language; the message itself when the catalog has no translation (and an empty
    message stays empty: gettext would answer the catalog's header)."""
    if not message:
        return message
    return str(translations(language()).gettext(message))


def ngettext(singular: str, plural: str, n: int) -> str:
    return str(translations(language()).ngettext(singular, plural, n))


def pgettext(context: str, message: str) -> str:
    """A message whose meaning depends on ``context`` (e.g. a state name that is also a verb)."""
    return str(translations(language()).pgettext(context, message))


def npgettext(context: str, singular: str, plural: str, n: int) -> str:
    return str(translations(language()).npgettext(context, singular, plural, n))


def install(env: Environment) -> None:
    """Templates of ``env`` speak the current language: ``{% trans %}``, ``_()``, ``pgettext()`` and their plurals
    call the functions above (Jinja's i18n extension, added here when the environment lacks it)."""
    env.add_extension("jinja2.ext.i18n")
    env.install_gettext_callables(  # type: ignore[attr-defined]  # added by the i18n extension
        gettext=gettext, ngettext=ngettext, pgettext=pgettext, npgettext=npgettext, newstyle=True)


def preferred(accept_language: str | None) -> str | None:
    """The first supported language in an ``Accept-Language`` header, by quality then order; None if none."""
    ranked: list[tuple[float, int, str]] = []
    for index, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        primary = tag.strip().lower().split("-")[0]
        if primary in LANGUAGES and quality > 0:
            ranked.append((-quality, index, primary))
    return min(ranked)[2] if ranked else None


def choose(chosen: str | None, accept_language: str | None) -> str:
    """The language to answer in: the one chosen (a cookie), else the browser's preference, else English."""
    if chosen in LANGUAGES:
        return str(chosen)
    return preferred(accept_language) or FALLBACK


@cache
def _locale(lang: str) -> Locale:
    """Babel's data of ``lang``, looked up once: given a name instead, Babel parses it again on every date."""
    return Locale.parse(lang)


def when(at: datetime | str, lang: str | None = None) -> str:
    """An instant (or an ISO text of one) as staff read it: Amsterdam time, formatted for the language."""
    moment = as_utc(datetime.fromisoformat(at) if isinstance(at, str) else at).astimezone(AMSTERDAM)
    chosen = lang or language()
    return f"{format_datetime(moment, WHEN_PATTERNS[chosen], locale=_locale(chosen))} {moment.tzname()}"


def day(on: date, lang: str | None = None) -> str:
    """A calendar date (a deadline day in Amsterdam), formatted for the language."""
    chosen = lang or language()
    return str(format_date(on, DATE_PATTERNS[chosen], locale=_locale(chosen)))


def long_day(on: date, lang: str | None = None) -> str:
    """A calendar date written out, as the statement, the access report and letters to parties read it:
    "31 december 2032" / "31 December 2032"."""
    return str(format_date(on, "d MMMM y", locale=_locale(LOCALES[lang or language()])))


def long_when(at: datetime, lang: str | None = None) -> str:
    """An instant written out in Amsterdam time, for a report: "25 november 2026 13:00 CET"."""
    return str(format_datetime(as_utc(at), "d MMMM y HH:mm zzz", tzinfo=AMSTERDAM,
                               locale=_locale(LOCALES[lang or language()])))
