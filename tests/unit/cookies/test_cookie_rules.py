"""R-CONS-4: the pure rules of cookie consent — revision, choices, GPC, page paths, sites."""

from __future__ import annotations

from pathlib import Path

import pytest

from kluis.consent.cookies import rules
from kluis.consent.cookies.rules import (
    Action,
    GpcSource,
    Reason,
    banner_for,
    canonical_origin,
    decide,
    normalise_path,
    origin_allowed,
    parse_sites,
)
from kluis.consent.cookies.service import configured_sites
from kluis.kit.errors import ConfigurationError, Invalid
from kluis.policy.loader import load_policy
from kluis.policy.schemas import Policy, Text

SHIPPED = Path(__file__).resolve().parents[3] / "policy" / "benvitaal.yaml"


@pytest.fixture(scope="module")
def policy() -> Policy:
    return load_policy(SHIPPED)


def test_r_cons_4_banner_follows_the_policys_cookie_categories(policy):
    """R-CONS-4: categories come from the policy; necessary is required; GPC covers the marketing ones."""
    banner = banner_for(policy)
    assert banner.categories == ("necessary", "analytics", "marketing")
    assert banner.required == {"necessary"}
    assert banner.optional == ("analytics", "marketing")
    assert banner.gpc_refused == {"marketing"}
    assert len(banner.revision) == 16 and banner_for(policy).revision == banner.revision


def test_r_cons_4_revision_changes_with_a_category_text(policy):
    """R-CONS-4: a changed category description is a new revision (the banner asks again)."""
    analytics = policy.cookie_categories[1].model_copy(update={"name": Text(nl="Statistieken", en="Statistics")})
    changed = policy.model_copy(update={"cookie_categories": [policy.cookie_categories[0], analytics,
                                                              policy.cookie_categories[2]]})
    assert banner_for(changed).revision != banner_for(policy).revision


def test_r_cons_4_revision_changes_with_the_banner_text(policy, monkeypatch):
    """R-CONS-4: a changed banner text is a new revision too."""
    before = banner_for(policy).revision
    monkeypatch.setitem(rules.BANNER_TEXTS, "accept_all", Text(nl="Ja, prima", en="Yes, fine"))
    assert banner_for(policy).revision != before


def test_r_cons_4_accept_reject_and_choose(policy):
    """R-CONS-4: the three buttons; necessary is always granted, unticked boxes are refused."""
    banner = banner_for(policy)
    accepted = decide(banner, Action.ACCEPT_ALL, {})
    assert (accepted.granted, accepted.refused) == (("necessary", "analytics", "marketing"), ())
    rejected = decide(banner, Action.REJECT_ALL, {"necessary": True})
    assert (rejected.granted, rejected.refused) == (("necessary",), ("analytics", "marketing"))
    chosen = decide(banner, Action.CHOOSE, {"marketing": True})
    assert (chosen.granted, chosen.refused) == (("necessary", "marketing"), ("analytics",))
    assert chosen.reason is Reason.CHOICE and not chosen.objects_to_profiling


def test_r_cons_4_gpc_sets_the_default_marketing_stays_off_unless_turned_on(policy):
    """R-CONS-4: with Global Privacy Control and marketing left off, the reason is gpc, profiling objected to."""
    banner = banner_for(policy)
    outcome = decide(banner, Action.CHOOSE, {"analytics": True}, [GpcSource.SCRIPT, GpcSource.HEADER])
    assert outcome.granted == ("necessary", "analytics")
    assert outcome.refused == ("marketing",)
    assert outcome.reason is Reason.GPC
    assert outcome.gpc_sources == (GpcSource.HEADER, GpcSource.SCRIPT)
    assert outcome.objects_to_profiling


@pytest.mark.parametrize(("action", "wanted"), [(Action.CHOOSE, {"marketing": True}), (Action.ACCEPT_ALL, {})])
def test_r_cons_4_the_visitors_explicit_choice_wins_over_gpc(policy, action, wanted):
    """R-CONS-4: GPC is only the default; marketing the visitor turns on is granted, and the outcome keeps both
    the signal (its sources) and that the categories are the visitor's own choice."""
    outcome = decide(banner_for(policy), action, wanted, [GpcSource.HEADER])
    assert "marketing" in outcome.granted and outcome.reason is Reason.CHOICE
    assert outcome.gpc_sources == (GpcSource.HEADER,) and not outcome.objects_to_profiling


@pytest.mark.parametrize(("action", "wanted", "code"), [
    (Action.CHOOSE, {"necessary": False}, "necessary_cannot_be_refused"),
    (Action.CHOOSE, {"functional": True}, "unknown_category"),
    (Action.ACCEPT_ALL, {"analytics": False}, "contradicts_action"),
    (Action.REJECT_ALL, {"marketing": True}, "contradicts_action"),
])
def test_r_cons_4_inconsistent_choices_are_refused(policy, action, wanted, code):
    """R-CONS-4: a choice the banner cannot have produced is refused with the reason."""
    with pytest.raises(Invalid) as refused:
        decide(banner_for(policy), action, wanted)
    assert [p.code for p in refused.value.problems] == [code]


@pytest.mark.parametrize(("given", "kept"), [
    ("/", "/"), ("/diensten/", "/diensten"), ("/diensten//", "/diensten"), ("/a/b", "/a/b"),
    ("/caf%C3%A9", "/caf%C3%A9"),
])
def test_r_cons_4_page_paths_are_normalised(given, kept):
    """R-CONS-4: a choice is per page path; a trailing slash names the same page."""
    assert normalise_path(given) == kept


@pytest.mark.parametrize("given", ["", "diensten", "//cdn.example/x", "/a?b=c", "/a#top", "/a b", "/a\\b",
                                   "/" + "x" * 600])
def test_r_cons_4_bad_page_paths_are_refused(given):
    """R-CONS-4: only absolute paths, without query or fragment (they may carry personal data)."""
    with pytest.raises(Invalid):
        normalise_path(given)


def test_r_cons_4_sites_and_origins():
    """R-CONS-4: sites declare their origins; the demo site is always there; anything else is refused."""
    sites = parse_sites({"benvitaal-nl": ["https://www.benvitaal.nl", "https://benvitaal.nl:443/"]})
    assert sites["benvitaal-nl"].origins == {"https://www.benvitaal.nl", "https://benvitaal.nl"}
    assert rules.DEMO_SITE in sites
    site = sites["benvitaal-nl"]
    assert origin_allowed(site, "https://www.benvitaal.nl", set())
    assert origin_allowed(site, "HTTPS://WWW.BENVITAAL.NL:443", set())
    assert not origin_allowed(site, "http://www.benvitaal.nl", set())
    assert not origin_allowed(site, "null", set())
    assert origin_allowed(site, "http://127.0.0.1:8000", {"http://127.0.0.1:8000"})
    assert origin_allowed(site, None, set()), "a server (no Origin header) is not a browser page"
    with pytest.raises(ConfigurationError) as refused:
        parse_sites({"Ben Vitaal": [], "ok": ["www.benvitaal.nl", "https://x.nl/path"]})
    assert [p.code for p in refused.value.problems] == ["site_id_invalid", "origin_invalid", "origin_invalid"]


@pytest.mark.parametrize(("given", "origin"), [
    ("https://Example.NL", "https://example.nl"), ("http://example.nl:80", "http://example.nl"),
    ("http://127.0.0.1:8123/", "http://127.0.0.1:8123"), ("http://[::1]:8000", "http://[::1]:8000"),
    ("ftp://example.nl", None), ("https://user@example.nl", None), ("https://example.nl:99999", None),
    ("null", None),
])
def test_r_cons_4_origins_are_compared_in_canonical_form(given, origin):
    """R-CONS-4: origins compare as scheme://host[:port], case and default port aside."""
    assert canonical_origin(given) == origin


def test_r_cons_4_sites_from_the_environment(monkeypatch):
    """R-CONS-4: KLUIS_COOKIE_SITES replaces the default site list (JSON)."""
    assert set(configured_sites()) == {"benvitaal-nl", rules.DEMO_SITE}
    monkeypatch.setenv("KLUIS_COOKIE_SITES", '{"benmobiel-nl": ["https://www.benmobiel.nl"]}')
    assert set(configured_sites()) == {"benmobiel-nl", rules.DEMO_SITE}
