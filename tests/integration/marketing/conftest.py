"""Marketing tests send over a real SMTP server on loopback, with an https base URL (RFC 8058)."""

from __future__ import annotations

import pytest

from kluis.mail.catcher import start_catcher


@pytest.fixture
def catcher():
    handle = start_catcher(port=0)
    yield handle
    handle.stop()


@pytest.fixture
def settings(settings, catcher):
    return settings.model_copy(update={"smtp_host": "127.0.0.1", "smtp_port": catcher.port,
                                       "base_url": "https://kluis.benvitaal.test"})
