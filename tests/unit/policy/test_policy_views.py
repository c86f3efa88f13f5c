"""R-POL-3 on the web: ``/privacy`` and ``/privacy.md`` in Dutch (default) and English."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from kluis.kit.clock import SettableClock
from kluis.policy.schemas import Policy
from kluis.policy.views import router


class NoVersions:
    """A timeline with no stored version: the configured policy is shown (the integration tests store some)."""

    def versions(self, now: datetime) -> list[object]:
        return []

    def in_force(self, now: datetime) -> None:
        return None

    version = upcoming = lambda self, *args: None  # noqa: E731


@pytest.fixture
def client(shipped_policy: Policy) -> TestClient:
    app = FastAPI()
    app.include_router(router)
    app.state.kluis = SimpleNamespace(policy=shipped_policy, timeline=NoVersions(),
                                      clock=SettableClock(datetime(2026, 11, 25, tzinfo=UTC)))
    return TestClient(app)


def test_r_pol_3_privacy_page_dutch_by_default(client: TestClient, shipped_policy: Policy) -> None:
    response = client.get("/privacy")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["content-language"] == "nl"
    assert '<html lang="nl">' in response.text
    assert "Privacyverklaring van benVitaal" in response.text
    assert "sha256:" not in response.text  # issue 19: people read a version as a number, never as a hash


def test_r_pol_3_privacy_page_in_english(client: TestClient) -> None:
    response = client.get("/privacy", params={"lang": "en"})
    assert response.headers["content-language"] == "en"
    assert '<html lang="en">' in response.text
    assert 'href="?lang=nl"' in response.text


def test_r_pol_3_unknown_language_falls_back_to_dutch(client: TestClient) -> None:
    response = client.get("/privacy", params={"lang": "de"})
    assert response.status_code == 200
    assert response.headers["content-language"] == "nl"


def test_r_pol_3_privacy_markdown(client: TestClient) -> None:
    response = client.get("/privacy.md", params={"lang": "en"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/markdown")
    assert response.text.startswith("# benVitaal privacy statement")


def test_r_pol_3_unchanged_statement_not_sent_again(client: TestClient) -> None:
    etag = client.get("/privacy").headers["etag"]
    assert client.get("/privacy", headers={"If-None-Match": etag}).status_code == 304
    assert client.get("/privacy", params={"lang": "en"}, headers={"If-None-Match": etag}).status_code == 200


def test_r_pol_3_unknown_version_is_a_clear_404(client: TestClient) -> None:
    response = client.get("/privacy", params={"version": 7, "lang": "en"})
    assert response.status_code == 404
    assert "This version of the privacy statement does not exist." in response.text


def test_r_gov_4_history_without_versions(client: TestClient) -> None:
    response = client.get("/privacy/history")
    assert response.status_code == 200 and "Versies van de privacyverklaring" in response.text
