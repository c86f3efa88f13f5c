"""Cookie consent use cases (R-CONS-4): record a visitor's choice as a receipt, and show the receipts.

Services never commit: the request that calls them commits once, receipt and audit event together.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from kluis.audit import service as audit
from kluis.config import LOCAL_SECRETS_FILE
from kluis.consent.cookies.models import CookieBannerRevision, CookieReceipt
from kluis.consent.cookies.rules import (
    DEFAULT_SITES,
    Action,
    Banner,
    GpcSource,
    Scope,
    Site,
    banner_for,
    decide,
    is_visitor_id,
    normalise_path,
    parse_sites,
)
from kluis.db import rowcount
from kluis.kit.clock import Clock
from kluis.kit.errors import Conflict, Invalid, NotFound, Problem
from kluis.kit.ids import new_id
from kluis.policy.schemas import Policy
from kluis.vault.crypto import KeyRing

VISITOR_KIND = "cookie_visitor"
RECEIPTS_SHOWN = 500


class CookieSiteSettings(BaseSettings):
    """``KLUIS_COOKIE_SITES``: JSON object of site id -> allowed origins, e.g.
    ``{"benvitaal-nl": ["https://www.benvitaal.nl", "https://benvitaal.nl"]}``."""

    model_config = SettingsConfigDict(env_prefix="KLUIS_COOKIE_", env_file=(".env", str(LOCAL_SECRETS_FILE)),
                                      extra="ignore")

    sites: dict[str, list[str]] = Field(default_factory=lambda: dict(DEFAULT_SITES))


def configured_sites(declared: Mapping[str, list[str]] | None = None) -> dict[str, Site]:
    """The sites that may embed the banner: as given, else from configuration, plus the demo site."""
    return parse_sites(CookieSiteSettings().sites if declared is None else declared)


def find_site(sites: Mapping[str, Site], site_id: str) -> Site:
    found = sites.get(site_id)
    if found is None:
        raise Invalid(f"no site '{site_id}' is set up for the cookie banner", code="unknown_site",
                      problems=[Problem("site", "unknown_site", "declare the site in KLUIS_COOKIE_SITES")])
    return found


def _require_visitor(visitor: str) -> None:
    if not is_visitor_id(visitor):
        raise Invalid("the visitor id was not accepted", code="visitor_invalid",
                      problems=[Problem("visitor", "visitor_invalid", "22 characters of base64url expected")])


@dataclass(frozen=True)
class Choice:
    """A visitor's choice as the banner sent it (shape already checked by the API)."""

    site: str
    visitor: str
    path: str
    scope: Scope
    action: Action
    categories: Mapping[str, bool]
    revision: str
    language: str
    gpc_script: bool = False


@dataclass
class CookieConsent:
    session: Session
    clock: Clock
    keys: KeyRing
    policy: Policy
    sites: Mapping[str, Site]
    policy_version: int | None = None
    banner: Banner = field(init=False)

    def __post_init__(self) -> None:
        self.banner = banner_for(self.policy)

    def site(self, site_id: str) -> Site:
        return find_site(self.sites, site_id)

    def record(self, choice: Choice, gpc_header: bool = False) -> CookieReceipt:
        """Keep one receipt for the choice, with its banner revision and one audit event; nothing on error."""
        site = self.site(choice.site)
        _require_visitor(choice.visitor)
        path = normalise_path(choice.path)
        if choice.revision != self.banner.revision:
            raise Conflict("the cookie banner changed since it was shown; show it again and ask anew",
                           code="banner_revision_outdated")
        sources = [s for s, on in ((GpcSource.HEADER, gpc_header), (GpcSource.SCRIPT, choice.gpc_script)) if on]
        outcome = decide(self.banner, choice.action, choice.categories, sources)
        self._keep_revision()
        receipt = CookieReceipt(
            id=new_id(), site=site.id, visitor_digest=self.visitor_digest(site.id, choice.visitor), path=path,
            scope=choice.scope.value, action=choice.action.value, granted=list(outcome.granted),
            refused=list(outcome.refused), reason=outcome.reason.value,
            gpc_sources=[s.value for s in outcome.gpc_sources], objects_to_profiling=outcome.objects_to_profiling,
            revision=self.banner.revision, language=choice.language, policy_version=self.policy_version,
            given_at=self.clock.now())
        self.session.add(receipt)
        self.session.flush()
        # Ids and categories only: the page path and the visitor stay out of the audit log.
        audit.append(self.session, self.clock, actor=f"cookie-banner:{site.id}", action="cookie_consent.recorded",
                     object_type="cookie_receipt", object_ids=[receipt.id],
                     details={"site": site.id, "scope": receipt.scope, "revision": receipt.revision,
                              "granted": receipt.granted, "refused": receipt.refused, "reason": receipt.reason})
        return receipt

    def receipts(self, site_id: str, visitor: str) -> list[CookieReceipt]:
        """A visitor's receipts on a site, newest first (the most recent ``RECEIPTS_SHOWN``)."""
        site = self.site(site_id)
        _require_visitor(visitor)
        query = (select(CookieReceipt)
                 .where(CookieReceipt.site == site.id,
                        CookieReceipt.visitor_digest == self.visitor_digest(site.id, visitor))
                 .order_by(CookieReceipt.given_at.desc(), CookieReceipt.id).limit(RECEIPTS_SHOWN))
        return list(self.session.execute(query).scalars())

    def revision(self, revision: str) -> tuple[dict[str, Any], CookieBannerRevision | None]:
        """What a banner revision showed: from the kept copy, or the current banner not yet in any receipt."""
        kept = self.session.get(CookieBannerRevision, revision)
        if kept is not None:
            return kept.content, kept
        if revision == self.banner.revision:
            return self.banner.content, None
        raise NotFound(f"no banner revision '{revision}' was ever recorded", code="revision_not_found")

    def visitor_digest(self, site_id: str, visitor: str) -> bytes:
        return self.keys.digest(VISITOR_KIND, site_id, visitor)

    def _keep_revision(self) -> None:
        """Store the banner's content the first time a receipt refers to it (concurrent requests agree)."""
        banner = self.banner
        if self.session.get(CookieBannerRevision, banner.revision) is not None:
            return
        row = {"revision": banner.revision, "content": banner.content, "first_recorded_at": self.clock.now()}
        dialect = self.session.get_bind().dialect.name
        if dialect == "postgresql":
            statement: Any = postgresql.insert(CookieBannerRevision).values(row).on_conflict_do_nothing()
        elif dialect == "sqlite":
            statement = sqlite.insert(CookieBannerRevision).values(row).on_conflict_do_nothing()
        else:
            statement = insert(CookieBannerRevision).values(row)
        if rowcount(self.session.execute(statement)):
            audit.append(self.session, self.clock, actor=audit.SYSTEM, action="cookie_banner.revision_kept",
                         object_type="cookie_banner_revision", object_ids=[banner.revision],
                         details={"categories": list(banner.categories)})

