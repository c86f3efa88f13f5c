"""RFC 8058 via R-CONS-2: outgoing mail carries a DKIM signature covering List-Unsubscribe and
List-Unsubscribe-Post when a key is configured; without one, `kluis worker` says the relay must sign."""

from __future__ import annotations

import base64
import re

import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from pydantic import SecretStr
from typer.testing import CliRunner

from kluis import wiring
from kluis.cli import app
from kluis.mail.dkim import signer_of

NEWSLETTER = "test_newsletter"  # registered by conftest.py
SELECTOR, DOMAIN = "kluis2026", "benvitaal.nl"


@pytest.fixture(scope="module")
def key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def pem(key):
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def dns_record(key):
    """The TXT record docs/mail.md tells the operator to publish at <selector>._domainkey.<domain>."""
    public = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    record = b"v=DKIM1; k=rsa; p=" + base64.b64encode(public)

    def dnsfunc(name, timeout=5):
        return record if name == f"{SELECTOR}._domainkey.{DOMAIN}.".encode() else None
    return dnsfunc


def signed_header(raw):
    unfolded = re.sub(rb"\r\n[ \t]+", b" ", raw.split(b"\r\n\r\n", 1)[0])
    found = re.search(rb"^DKIM-Signature:(.*)$", unfolded, re.MULTILINE | re.IGNORECASE)
    assert found, raw[:400]
    return dict(part.strip().split("=", 1) for part in found.group(1).decode().split(";") if "=" in part)


@pytest.mark.parametrize("as_path", [False, True])
def test_r_cons_2_marketing_mail_is_dkim_signed_over_the_unsubscribe_headers(kluis, settings, relay, desk, key, pem,
                                                                             tmp_path, as_path):
    if as_path:
        (tmp_path / "dkim.pem").write_text(pem)
    kluis.settings = settings.model_copy(update={"dkim_selector": SELECTOR, "dkim_domain": DOMAIN,
                                                 "dkim_private_key": SecretStr(str(tmp_path / "dkim.pem") if as_path
                                                                               else pem)})
    person = desk.add_person("kees.bakker@example.nl")
    desk.queue(person, template=NEWSLETTER, kind="marketing", list_id="benvitaal-nieuws",
               context={"token": "s1gn3d-t0k3n", "one_click": True})
    desk.drain()
    [received] = relay.received
    assert dkim.verify(received.raw, dnsfunc=dns_record(key))
    tags = signed_header(received.raw)
    signed = [h.strip().lower() for h in tags["h"].split(":")]
    assert {"from", "subject", "list-unsubscribe", "list-unsubscribe-post"} <= set(signed)
    assert (tags["d"], tags["s"], tags["c"]) == (DOMAIN, SELECTOR, "relaxed/relaxed")
    assert received.message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    tampered = received.raw.replace(b"s1gn3d-t0k3n", b"s1gn3d-t0k3X")
    assert not dkim.verify(tampered, dnsfunc=dns_record(key))  # a changed unsubscribe link breaks it


def test_r_cons_2_without_a_key_mail_goes_unsigned_and_the_worker_says_the_relay_must_sign(kluis, relay, desk):
    desk.queue(desk.add_person("kees.bakker@example.nl"))
    wiring.use_for_cli(kluis)
    try:
        result = CliRunner().invoke(app, ["worker", "--once"])
    finally:
        wiring.use_for_cli(None)
    assert result.exit_code == 0, result.output
    assert "relay must sign" in " ".join(result.output.split())
    assert b"DKIM-Signature" not in relay.received[0].raw


def test_r_cons_2_half_a_dkim_configuration_is_refused(settings):
    with pytest.raises(Exception, match="KLUIS_DKIM_SELECTOR"):
        signer_of(settings.model_copy(update={"dkim_selector": SELECTOR}))
    with pytest.raises(Exception, match="neither a PEM key"):
        signer_of(settings.model_copy(update={"dkim_selector": SELECTOR, "dkim_domain": DOMAIN,
                                              "dkim_private_key": SecretStr("/no/such/key.pem")}))
