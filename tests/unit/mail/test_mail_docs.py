"""docs/mail.md names every code a message can fail or be cancelled with (SPEC §9 Mail; R-CONS-2)."""

from __future__ import annotations

import re
from pathlib import Path

import kluis.mail.notices
import kluis.mail.service
import kluis.mail.smtp
import kluis.mail.templates
import kluis.mail.worker

ROOT = Path(__file__).resolve().parents[3]


def test_r_cons_2_every_outbox_error_code_is_documented() -> None:
    sources = "".join(Path(m.__file__).read_text(encoding="utf-8")  # type: ignore[arg-type]
                      for m in (kluis.mail.notices, kluis.mail.service, kluis.mail.smtp, kluis.mail.worker))
    codes = set(re.findall(r'(?:Undeliverable|Cancelled|RelayUnavailable|DeliveryError|_fail\(session, clock, row,)'
                           r'\s*\(?"([a-z0-9_]+)"', sources))
    codes |= set(re.findall(r'return "([a-z0-9_]+)"', Path(kluis.mail.smtp.__file__).read_text(encoding="utf-8")))
    codes |= set(re.findall(r'f"([a-z0-9_]+_)\{', sources))
    codes.add(re.search(r'code="(mail_template_unknown)"',
                        Path(kluis.mail.templates.__file__).read_text(encoding="utf-8")).group(1))
    assert {"no_address", "person_erased", "abandoned", "smtp_", "disconnected", "unsubscribe_missing"} <= codes
    docs = (ROOT / "docs" / "mail.md").read_text(encoding="utf-8")
    assert {c for c in codes if f"`{c}" not in docs} == set()
