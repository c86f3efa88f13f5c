"""Art. 19 notices to the recipients and processors that received a category (R-DSR-5, R-DSR-6): one mail per
party with a contact in the policy, for a rectification and an erasure alike."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from sqlalchemy.orm import Session

from kluis.kit.clock import Clock
from kluis.mail import service as mail
from kluis.policy.parties import MAIL, parties_for
from kluis.policy.schemas import Policy


def tell_parties(session: Session, clock: Clock, policy: Policy, actor: str, categories: Iterable[str], *,
                 template: str, context: Mapping[str, str]) -> list[dict[str, str]]:
    """Each recipient and processor that received one of ``categories`` is told once, by mail (``template`` with
    ``context``) where the policy gives its contact; the others are for staff to tell another way, or cannot be
    told one by one (``parties_for``). Returns who is told and how, as ``{"party", "channel"}`` in the policy's
    order."""
    told: dict[str, str] = {}
    for category in categories:
        for entry in parties_for(policy, category):
            told.setdefault(entry["party"], entry["channel"])
    for party, channel in told.items():
        if channel == MAIL:
            mail.enqueue(session, clock, template=template, party=party, lang="nl", context=dict(context),
                         actor=actor)
    return [{"party": party, "channel": channel} for party, channel in told.items()]
