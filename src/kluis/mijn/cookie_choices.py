"""Cookie choices in Mijn privacy (R-CONS-4). A choice belongs to a browser on a site, not to a person: the banner
keeps it in the consent cookie on the site's own domain, and Kluis keeps a receipt per visitor id. So Mijn privacy
shows and changes the choice of the site whose pages Kluis serves itself (the same domain: this browser sends its
consent cookie here) by recording a receipt as the banner does and writing the cookie the banner reads; for a
site on another domain it shows where to change it (the banner's "cookie settings" on that site).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING
from urllib.parse import unquote

from sqlalchemy.orm import Session

from kluis.consent.cookies.rules import DEMO_SITE, Action, Scope, Site, is_visitor_id
from kluis.consent.cookies.service import Choice, CookieConsent

if TYPE_CHECKING:
    from kluis.wiring import Kluis

SITE_WIDE = "*"
PAGE = "/mijn-privacy"  # where the choice was made, as the receipt records it


@dataclass(frozen=True)
class SiteChoice:
    """A site as the page shows it: this browser's choice there when Kluis can read it, else where to go."""

    site: str
    origins: list[str]
    own: bool  # the site Kluis serves itself: its choice is read and changed here
    granted: list[str] | None  # None: no choice made (yet) in this browser
    at: datetime | None


def parse(value: str | None) -> tuple[str, dict[str, tuple[str, list[str], int, bool]]] | None:
    """The consent cookie the banner writes: ``1|<visitor>|<page or *>:<revision>:<granted+ids>:<base36 seconds>
    [:g]|...``; None when it is missing or not of this shape (a damaged entry is left out, as the banner does)."""
    format_, _, rest = unquote(value or "").partition("|")
    visitor, _, entries = rest.partition("|")
    if format_ != "1" or not is_visitor_id(visitor):
        return None
    choices: dict[str, tuple[str, list[str], int, bool]] = {}
    for entry in entries.split("|") if entries else []:
        parts = entry.split(":")
        if len(parts) < 4:
            continue
        try:
            at = int(parts[3], 36)
        except ValueError:
            continue
        key = parts[0] if parts[0] == SITE_WIDE else unquote(parts[0])
        choices[key] = (parts[1], [g for g in parts[2].split("+") if g], at, len(parts) > 4 and parts[4] == "g")
    return visitor, choices


def _base36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        number, digit = divmod(number, 36)
        out = digits[digit] + out
        if not number:
            return out


def sites(cookie: str | None, declared: Mapping[str, Site]) -> list[SiteChoice]:
    state = parse(cookie)
    shown = []
    """Every declared site, the one Kluis serves first, with this browser's site-wide choice there if any."""
    for site in sorted(declared.values(), key=lambda s: (s.id != DEMO_SITE, s.id)):
        own = site.id == DEMO_SITE
        choice = state[1].get(SITE_WIDE) if state and own else None
        shown.append(SiteChoice(site.id, sorted(site.origins), own, choice[1] if choice else None,
                                datetime.fromtimestamp(choice[2], tz=UTC) if choice else None))
    return shown


def change(session: Session, kluis: Kluis, declared: Mapping[str, Site], cookie: str | None,
           wanted: Mapping[str, bool], lang: str, gpc: bool) -> str | None:
    """Record the new site-wide choice for the site Kluis serves, as the banner would (a receipt, audited), and
    return the consent cookie's new value: the site-wide choice only, so that no older page choice outranks it.
    None when this browser has no consent cookie here (no visitor id: the banner has not run in it yet)."""
    state = parse(cookie)
    if state is None:
        return None
    consent = CookieConsent(session=session, clock=kluis.clock, keys=kluis.keys, policy=kluis.policy,
                            sites=declared, policy_version=kluis.policy_version)
    banner = consent.banner
    receipt = consent.record(Choice(site=DEMO_SITE, visitor=state[0], path=PAGE, scope=Scope.SITE,
                                    action=Action.CHOOSE, categories={c: bool(wanted.get(c)) for c in banner.optional},
                                    revision=banner.revision, language=lang), gpc_header=gpc)
    at = int(receipt.given_at.timestamp())
    entry = ":".join([SITE_WIDE, banner.revision, "+".join(receipt.granted), _base36(at), *(["g"] if gpc else [])])
    return f"1|{state[0]}|{entry}"
