"""``policy_change``: the administrative mail that tells a person what a new version changes for them, before it
takes effect, and asks for consent again where the change needs it (R-GOV-4). Context: ``{"version": N, "changes":
[change keys], "renew": [purpose ids]}``; the sentences are made at send time from the two versions, in the
message's language."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from kluis.kit import i18n, signing
from kluis.kit.errors import Problem
from kluis.mail.models import Outbox
from kluis.mail.rules import ADMINISTRATIVE
from kluis.mail.service import MessageContext, Undeliverable, register_template
from kluis.policy.diff import describe, diff
from kluis.policy.render import moment_text

if TYPE_CHECKING:
    from kluis.wiring import Kluis

TEMPLATE = "policy_change"
RENEWAL = "policy_renewal"  # the token purpose of the link that gives consent again


def renewal_token(secret: bytes, outbox_id: uuid.UUID, person_id: uuid.UUID, seq: int, lang: str,
                  issued_at: datetime) -> str:
    """The link's proof: who, for which version and mail; the purposes are the mail's own (its outbox row)."""
    return signing.sign(secret, RENEWAL, person_id, f"{seq}:{lang}", issued_at, nonce=outbox_id.bytes)


def check(context: Mapping[str, Any]) -> list[Problem]:
    problems = []
    if not isinstance(context.get("version"), int):
        problems.append(Problem("context.version", "version_required", "the version's number"))
    for key in ("changes", "renew"):
        if not isinstance(context.get(key), list):
            problems.append(Problem(f"context.{key}", "list_required", "a list of ids"))
    if not context.get("changes"):
        problems.append(Problem("context.changes", "changes_required", "what changes for the person"))
    return problems


def build(session: Session, kluis: Kluis, row: Outbox) -> MessageContext:
    seq, lang = int(row.context["version"]), row.lang
    version = kluis.timeline.version(seq, kluis.clock.now())
    before = kluis.policy_of(version.previous) if version is not None and version.previous else None
    if version is None or version.policy is None or before is None:
        raise Undeliverable("policy_version_unknown")
    changes = {c.key: c for c in diff(before, version.policy)}
    lines = [describe(changes[key], before, version.policy, lang)  # type: ignore[arg-type]
             for key in row.context["changes"] if key in changes]
    renew = [version.policy.purpose(p).name.get(lang) for p in row.context.get("renew", [])  # type: ignore[arg-type]
             if p in version.policy.purpose_ids]
    base = kluis.settings.base_url.rstrip("/")
    assert row.person_id is not None
    token = renewal_token(kluis.keys.secret, row.id, row.person_id, seq, lang, row.created_at)
    return MessageContext(values={
        "effective": moment_text(version.effective_from, lang), "changes": lines, "renew": renew,  # type: ignore[arg-type]
        "renew_url": f"{base}/privacy/consent?t={token}" if renew else "",
        "statement_url": f"{base}/privacy?version={seq}{i18n.query(lang, '&')}",
        "history_url": f"{base}/privacy/history{i18n.query(lang)}"})


register_template(TEMPLATE, build, ADMINISTRATIVE, check=check)
