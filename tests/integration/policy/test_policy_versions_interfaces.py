"""R-POL-3, R-GOV-4 through the interfaces: `kluis policy publish` and `versions`, the DPO's console form and the
versions page, every version at /privacy?version=N with its dates, and the public history of what changed."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from sqlalchemy import func, select
from tests.integration.breaches.test_breach_interfaces import sign_in
from tests.integration.policy.policy_support import days, marketing_longer, publish_at, wording
from typer.testing import CliRunner

from kluis import wiring
from kluis.audit.models import AuditEvent
from kluis.cli import app
from kluis.policy.models import PolicyVersion

runner = CliRunner()
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@pytest.fixture
def cli_kluis(kluis):
    kluis.register_policy()
    wiring.use_for_cli(kluis)
    yield kluis
    wiring.use_for_cli(None)


def policy_file(kluis, tmp_path: Path, months: int, name: str = "next.yaml") -> Path:
    """The configured policy file with marketing contacts kept ``months`` months."""
    data = yaml.safe_load(kluis.settings.policy_file.read_text(encoding="utf-8"))
    next(r for r in data["retention"] if r["id"] == "marketing_contacts")["term"] = {"months": months}
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def stored(kluis) -> int:
    with kluis.db.sessions() as session:
        return session.scalar(select(func.count()).select_from(PolicyVersion)) or 0


def test_r_gov_4_cli_publishes_a_material_change_with_notice_and_lists_versions(cli_kluis, clock, tmp_path):
    longer = policy_file(cli_kluis, tmp_path, 48)
    soon = runner.invoke(app, ["policy", "publish", str(longer), "--effective-at", "2026-12-01T00:00+01:00"])
    assert soon.exit_code == 1 and "notice_too_short" in soon.output and "at least 30 days" in soon.output
    past = runner.invoke(app, ["policy", "publish", str(longer), "--effective-at", "2026-01-01T00:00+01:00"])
    assert past.exit_code == 1 and "effective_at_past" in past.output
    naive = runner.invoke(app, ["policy", "publish", str(longer), "--effective-at", "2027-01-01T00:00"])
    assert naive.exit_code == 1 and "effective_at_without_zone" in naive.output
    garbled = runner.invoke(app, ["policy", "publish", str(longer), "--effective-at", "next week"])
    assert garbled.exit_code == 2 and "--effective-at" in garbled.output
    broken = tmp_path / "broken.yaml"
    broken.write_text(longer.read_text(encoding="utf-8").replace("basis: consent", "basis: whim"), encoding="utf-8")
    invalid = runner.invoke(app, ["policy", "publish", str(broken), "--effective-at", "2027-01-01T00:00+01:00"])
    assert invalid.exit_code == 1 and "purposes.marketing_email.basis" in invalid.output
    assert stored(cli_kluis) == 1

    made = runner.invoke(app, ["policy", "publish", str(longer), "--effective-at", "2027-01-01T00:00+01:00"])
    assert made.exit_code == 0, made.output
    assert made.stdout.startswith("published version 2 (sha256:")
    assert "in force from 1 January 2027 at 00:00 (Amsterdam time)" in made.stdout
    assert "[material] Contact information kept for marketing" in made.stdout
    assert "the worker mails the people it affects" in made.stdout
    listed = runner.invoke(app, ["policy", "versions"])
    assert listed.exit_code == 0, listed.output
    lines = listed.stdout.splitlines()
    assert lines[0].startswith("1 (sha256:") and "in force until 1 January 2027 at 00:00" in lines[0]
    assert lines[1].startswith("2 (sha256:") and "takes effect 1 January 2027 at 00:00" in lines[1]
    assert "published 25 November 2026 at 13:00 by cli" in lines[1]
    assert "announcement running: 0 mailed (0 asked for consent again)" in listed.stdout
    with cli_kluis.db.sessions() as session:
        event = session.scalars(select(AuditEvent).where(AuditEvent.action == "policy.version_published")
                                .order_by(AuditEvent.seq)).one()
    assert event.actor == "cli" and event.details["material"] == ["retention_longer:marketing_contacts"]
    # The records of a stored version come from its stored content.
    records = runner.invoke(app, ["policy", "records", "--format", "json", "--version", "2"])
    assert records.exit_code == 0 and "48 maanden" in records.stdout


def test_r_pol_3_every_version_is_viewable_with_its_dates(client, kluis, clock):
    kluis.register_policy()
    at = clock.now() + days(40)
    publish_at(kluis, marketing_longer(kluis.policy), at)
    current = client.get("/privacy")
    assert current.status_code == 200 and "36 maanden" in current.text
    assert "Geldig vanaf 25 november 2026 om 13:00, geldig tot 4 januari 2027 om 13:00" in current.text
    assert "Er is een nieuwe versie van deze verklaring gepubliceerd. Die geldt vanaf 4 januari 2027 om 13:00." \
        in current.text
    assert "ten minste 30 dagen voordat die ingaat" in current.text
    coming = client.get("/privacy", params={"version": 2, "lang": "en"})
    assert coming.status_code == 200 and "48 months" in coming.text and "36 months after" not in coming.text
    assert "Effective from 4 January 2027 at 13:00" in coming.text and "Version 2</p>" in coming.text
    assert client.get("/privacy.md", params={"version": 1}).text.count("36 maanden") >= 2
    assert client.get("/privacy", params={"version": 9}).status_code == 404
    assert client.get("/privacy", params={"version": "x"}).status_code == 400  # issue 19: a page's HTML error
    etag = current.headers["etag"]
    clock.set(at)
    switched = client.get("/privacy", headers={"If-None-Match": etag})
    assert switched.status_code == 200 and "48 maanden" in switched.text and "nieuwe versie" not in switched.text


def test_r_gov_4_public_history_says_what_changed_in_plain_words(client, kluis, clock):
    kluis.register_policy()
    publish_at(kluis, wording(kluis.policy), clock.now() + days(1))
    clock.set(clock.now() + days(2))
    publish_at(kluis, marketing_longer(wording(kluis.policy)), clock.now() + days(31))
    dutch = client.get("/privacy/history")
    assert dutch.status_code == 200 and dutch.headers["content-language"] == "nl"
    text = " ".join(dutch.text.split())
    assert text.index("Versie 3") < text.index("Versie 2") < text.index("Versie 1")
    assert "gaat in op 28 december 2026 om 13:00" in text and "geldt nu" in text
    assert "gold van 25 november 2026 om 13:00 tot 26 november 2026 om 13:00" in text
    assert "we bewaren langer, 48 maanden" in text and "belangrijke wijziging" in text
    assert "Webverkeer en IP-adressen: we bewaren korter, 5 maanden na het verzamelen (was: 6 maanden" in text
    assert 'href="/privacy?version=2&amp;lang=nl"' in dutch.text
    english = client.get("/privacy/history", params={"lang": "en"})
    assert "we keep it longer, 48 months" in english.text and "significant change" in english.text


def test_r_gov_4_dpo_publishes_in_the_console_auditor_only_reads(client, kluis, clock, tmp_path):
    kluis.register_policy()
    sign_in(client, kluis, clock, "auditor")
    page = client.get("/console/policy/versions")
    assert page.status_code == 200 and "Publish a new version" not in page.text
    assert 'href="/console/policy/versions"' in page.text
    form = {"csrf": CSRF.search(page.text)[1], "effective_local": "2027-01-01T00:00"}
    upload = {"policy_file": ("next.yaml", policy_file(kluis, tmp_path, 48).read_bytes(), "application/yaml")}
    assert client.post("/console/policy/versions", data=form, files=upload).status_code == 403

    sign_in(client, kluis, clock, "dpo")
    page = client.get("/console/policy/versions")
    assert "Publish a new version" in page.text
    form["csrf"] = CSRF.search(page.text)[1]
    early = client.post("/console/policy/versions", data=form | {"effective_local": "2026-12-01T00:00"},
                        files=upload)
    assert early.status_code == 422 and "at least 30 days" in early.text
    broken = {"policy_file": ("x.yaml", b"purposes: [", "application/yaml")}
    refused = client.post("/console/policy/versions", data=form, files=broken)
    assert refused.status_code == 422 and "YAML syntax error" in refused.text
    assert stored(kluis) == 1
    done = client.post("/console/policy/versions", data=form, files=upload, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == "/console/policy/versions#v2"
    listed = client.get("/console/policy/versions")
    text = " ".join(listed.text.split())
    assert "Takes effect</strong> 1 January 2027 at 00:00" in text and "by staff:" in text
    assert "Material:</strong> Contact information kept for marketing" in text
    assert "Announcement: running" in text
    assert kluis.policy_version == 1
    clock.set(clock.now() + timedelta(days=40))
    assert kluis.policy_version == 2
