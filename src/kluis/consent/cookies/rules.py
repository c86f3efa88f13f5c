"""Cookie consent as pure rules (R-CONS-4): what the banner says, its revision, and what a choice means.

The statement lets a visitor opt in or out of cookies "op een bepaalde webpagina" (on a given web
page), so a choice is kept per site and page path; "all pages of this site" is an explicit option.
Nothing here imports a web framework or a database.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

from kluis.kit.errors import ConfigurationError, Invalid, Problem
from kluis.policy.schemas import Policy, Text

COOKIE_NAME = "kluis_consent"
# A choice is asked again after a year, as Dutch and EU regulators expect; the browser forgets it then.
CHOICE_MAX_AGE_SECONDS = 365 * 24 * 3600
# Page choices kept in the consent cookie; the oldest is dropped first (its page asks again).
MAX_PAGES_IN_COOKIE = 40
MAX_PATH = 512
MAX_BODY_BYTES = 4096
VISITOR_PATTERN = r"^[A-Za-z0-9_-]{22}$"  # 128 random bits, base64url without padding
REVISION_PATTERN = r"^[0-9a-f]{16}$"
SITE_ID_PATTERN = r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$"
# The demo pages Kluis serves itself; they need no origin beyond Kluis's own.
DEMO_SITE = "kluis-demo"
DEFAULT_SITES: dict[str, list[str]] = {"benvitaal-nl": ["https://www.benvitaal.nl", "https://benvitaal.nl"]}
# Global Privacy Control is an opt-out of sale, sharing and cross-context advertising: it refuses the
# cookie categories that serve a purpose of this group (in the shipped policy: marketing, for profiling).
GPC_REFUSED_PURPOSE_GROUP = "marketing"

_VISITOR = re.compile(VISITOR_PATTERN)
_SITE_ID = re.compile(SITE_ID_PATTERN)
_UNSAFE_PATH = re.compile(r"[\x00-\x20\x7f\\?#]")


class Scope(StrEnum):
    """Where a choice applies: the page it was made on (the statement's default), or the whole site."""

    PAGE = "page"
    SITE = "site"


class Action(StrEnum):
    """The three equally easy buttons of the banner."""

    ACCEPT_ALL = "accept_all"
    REJECT_ALL = "reject_all"
    CHOOSE = "choose"


class Reason(StrEnum):
    """Why the recorded categories are what they are: the visitor's choice, or their browser's GPC signal."""

    CHOICE = "choice"
    GPC = "gpc"


class GpcSource(StrEnum):
    HEADER = "header"  # Sec-GPC: 1 on the request
    SCRIPT = "script"  # navigator.globalPrivacyControl, as the banner script read it


BANNER_TEXTS: dict[str, Text] = {
    "label": Text(nl="Cookiemelding", en="Cookie notice"),
    "title": Text(nl="Cookies op deze pagina", en="Cookies on this page"),
    "intro": Text(
        nl="We gebruiken noodzakelijke cookies om de site te laten werken. Andere cookies plaatsen we "
           "alleen als u daarvoor kiest. Uw keuze geldt voor deze pagina, of voor alle pagina's van "
           "deze site als u dat aangeeft.",
        en="We use necessary cookies to make the site work. We place other cookies only if you choose "
           "so. Your choice applies to this page, or to all pages of this site if you say so."),
    "privacy_link": Text(nl="Privacyverklaring", en="Privacy statement"),
    "scope_legend": Text(nl="Uw keuze geldt voor", en="Your choice applies to"),
    "scope_page": Text(nl="Alleen deze pagina", en="This page only"),
    "scope_site": Text(nl="Alle pagina's van deze site", en="All pages of this site"),
    "categories_legend": Text(nl="Soorten cookies", en="Kinds of cookies"),
    "always_on": Text(nl="altijd aan", en="always on"),
    "gpc_note": Text(
        nl="Uw browser geeft het signaal Global Privacy Control af. Daarom staan cookies voor marketing uit en "
           "maken we geen profiel van u, tenzij u ze hier zelf aanzet.",
        en="Your browser sends the Global Privacy Control signal, so marketing cookies are off and we do not "
           "profile you, unless you turn them on here yourself."),
    "accept_all": Text(nl="Alles accepteren", en="Accept all"),
    "reject_all": Text(nl="Alles weigeren", en="Reject all"),
    "choose": Text(nl="Zelf kiezen", en="Choose"),
    "save": Text(nl="Keuze opslaan", en="Save choice"),
    "settings": Text(nl="Cookie-instellingen", en="Cookie settings"),
    "error": Text(nl="Uw keuze kon niet worden opgeslagen. Probeer het opnieuw.",
                  en="Your choice could not be saved. Please try again."),
}


@dataclass(frozen=True)
class Banner:
    """One revision of the banner: the policy's cookie categories plus the banner's own text."""

    revision: str
    content: dict[str, Any]
    required: frozenset[str]
    optional: tuple[str, ...]
    gpc_refused: frozenset[str]

    @property
    def categories(self) -> tuple[str, ...]:
        return tuple(c["id"] for c in self.content["categories"])


def banner_for(policy: Policy) -> Banner:
    """The banner the policy implies; its revision changes whenever a category or a text changes."""
    refused_purposes = {p.id for p in policy.purposes if p.group == GPC_REFUSED_PURPOSE_GROUP}
    cookies = policy.cookie_categories
    gpc_refused = {c.id for c in cookies if c.consent_required and refused_purposes & set(c.purposes)}
    categories = [{"id": c.id, "required": not c.consent_required, "gpc_refused": c.id in gpc_refused,
                   "name": c.name.model_dump(), "description": c.description.model_dump()} for c in cookies]
    content = {"categories": categories, "texts": {key: text.model_dump() for key, text in BANNER_TEXTS.items()}}
    return Banner(revision=revision_of(content), content=content,
                  required=frozenset(c.id for c in cookies if not c.consent_required),
                  optional=tuple(c.id for c in cookies if c.consent_required), gpc_refused=frozenset(gpc_refused))


def revision_of(content: Mapping[str, Any]) -> str:
    canonical = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]


# --- a visitor's choice ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """What a receipt records: categories granted and refused, and why."""

    granted: tuple[str, ...]
    refused: tuple[str, ...]
    reason: Reason
    gpc_sources: tuple[GpcSource, ...]

    @property
    def objects_to_profiling(self) -> bool:
        # A GPC signal is an objection to profiling (Art. 21(5) GDPR lets it be made by automated means), unless
        # the visitor then turned on what it covers here themselves: their own later choice on this site wins.
        return self.reason is Reason.GPC


def decide(banner: Banner, action: Action, wanted: Mapping[str, bool],
           gpc_sources: Iterable[GpcSource] = ()) -> Outcome:
    """Turn a validated choice into granted/refused categories. Global Privacy Control sets the default (the
    banner shows what it covers switched off); the visitor's own explicit choice on this banner wins, and the
    receipt keeps both: the GPC sources, and the action and categories chosen. The reason is ``gpc`` when the
    default held (nothing GPC covers was turned on), ``choice`` otherwise."""
    problems = choice_problems(banner, action, wanted)
    if problems:
        raise Invalid("the cookie choice was not accepted", code="cookie_choice_invalid", problems=problems)
    sources = tuple(sorted(set(gpc_sources)))
    granted: list[str] = []
    refused: list[str] = []
    for category in banner.categories:
        if category in banner.required or action is Action.ACCEPT_ALL or (
                action is Action.CHOOSE and wanted.get(category, False)):
            granted.append(category)
        else:
            refused.append(category)
    gpc_held = bool(sources) and not banner.gpc_refused.intersection(granted)
    return Outcome(tuple(granted), tuple(refused), Reason.GPC if gpc_held else Reason.CHOICE, sources)


def choice_problems(banner: Banner, action: Action, wanted: Mapping[str, bool]) -> list[Problem]:
    """Unknown categories, a necessary category turned off, or buttons that contradict the boxes."""
    problems: list[Problem] = []
    known = set(banner.categories)
    for category, on in wanted.items():
        at = f"categories.{category}"
        if category not in known:
            problems.append(Problem(at, "unknown_category",
                                    f"no cookie category '{category}' (known: {', '.join(banner.categories)})"))
        elif category in banner.required and not on:
            problems.append(Problem(at, "necessary_cannot_be_refused",
                                    "necessary cookies make the site work and cannot be turned off"))
        elif action is Action.ACCEPT_ALL and not on:
            problems.append(Problem(at, "contradicts_action", "'accept all' cannot leave a category off"))
        elif action is Action.REJECT_ALL and on and category not in banner.required:
            problems.append(Problem(at, "contradicts_action", "'reject all' cannot turn a category on"))
    return problems


def normalise_path(path: str) -> str:
    """The page a choice is about: an absolute path without query or fragment, no trailing slash but '/'.

    Query strings and fragments are refused rather than cut: they often carry personal data (an
    e-mail address in ``?email=``), and the banner script never sends them.
    """
    if not path.startswith("/") or path.startswith("//"):
        raise _path_invalid("path_not_absolute", "the page path must start with a single '/'")
    if len(path) > MAX_PATH:
        raise _path_invalid("path_too_long", f"the page path may be at most {MAX_PATH} characters")
    if _UNSAFE_PATH.search(path):
        raise _path_invalid("path_unsafe", "the page path may not contain spaces, control characters, "
                                           "backslashes, '?' or '#'")
    trimmed = path.rstrip("/")
    return trimmed or "/"


def _path_invalid(code: str, message: str) -> Invalid:
    return Invalid("the page path was not accepted", code="cookie_choice_invalid",
                   problems=[Problem("path", code, message)])


def is_visitor_id(value: str) -> bool:
    return bool(_VISITOR.match(value))


# --- sites ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Site:
    """A website that embeds the banner; browsers may call the receipts API only from its origins."""

    id: str
    origins: frozenset[str]


def parse_sites(declared: Mapping[str, Sequence[str]]) -> dict[str, Site]:
    """Validate the declared sites (site id -> allowed origins); the demo site is always there."""
    problems: list[Problem] = []
    sites: dict[str, Site] = {}
    for site_id, origins in declared.items():
        if not _SITE_ID.match(site_id):
            problems.append(Problem(site_id, "site_id_invalid", "a site id is lower-case letters, digits and '-'"))
            continue
        allowed: set[str] = set()
        for i, raw in enumerate(origins):
            origin = canonical_origin(raw)
            if origin is None:
                problems.append(Problem(f"{site_id}[{i}]", "origin_invalid",
                                        f"'{raw}' is not an origin like https://www.example.nl (no path)"))
            else:
                allowed.add(origin)
        sites[site_id] = Site(site_id, frozenset(allowed))
    if problems:
        raise ConfigurationError("the cookie sites are not configured correctly (KLUIS_COOKIE_SITES)",
                                 code="cookie_sites_invalid", problems=problems)
    sites.setdefault(DEMO_SITE, Site(DEMO_SITE, frozenset()))
    return sites


def canonical_origin(value: str) -> str | None:
    """``scheme://host[:port]`` in lower case with the default port left out; None for anything else."""
    try:
        parts = urlsplit(value.strip())
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.path not in ("", "/") \
            or parts.query or parts.fragment or parts.username or parts.password:
        return None
    default = 443 if parts.scheme == "https" else 80
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return f"{parts.scheme}://{host}" + (f":{port}" if port not in (None, default) else "")


def origin_allowed(site: Site, origin: str | None, own_origins: Iterable[str]) -> bool:
    """No Origin header (a server, not a browser) or Kluis's own pages, or one of the site's origins."""
    if origin is None:
        return True
    found = canonical_origin(origin)
    return found is not None and (found in site.origins or found in set(own_origins))
