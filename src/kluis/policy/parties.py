"""Who received data of a category, by the policy: the recipients and processors that are told of its
rectification or erasure (Art. 19), and how."""

from __future__ import annotations

from kluis.policy.schemas import Policy

MAIL, OTHER_CHANNEL, NOT_INDIVIDUALLY = "mail", "other", "not_individually"


def parties_for(policy: Policy, category: str) -> list[dict[str, str]]:
    """Who received data of this category, and how they are told: by mail to the contact in the policy;
    otherwise staff tell them another way. Readers of a public community cannot be told one by one
    (Art. 19: impossible). Authorities receive data only by order (R-SHR-3), never routinely, so they
    are not listed here."""
    told = []
    for recipient in policy.recipients:
        if category in recipient.categories and not recipient.requires_order:
            channel = NOT_INDIVIDUALLY if str(recipient.kind) == "public" else (
                MAIL if recipient.contact else OTHER_CHANNEL)
            told.append({"party": f"recipient:{recipient.id}", "channel": channel})
    for processor in policy.processors:
        if category in processor.categories:
            told.append({"party": f"processor:{processor.id}", "channel": MAIL if processor.contact else OTHER_CHANNEL})
    return told
