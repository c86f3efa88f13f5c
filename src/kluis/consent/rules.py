"""Pure rules of consent: who may record it how, and what of an IP address may be kept."""

from __future__ import annotations

import ipaddress
from datetime import datetime, timedelta

from kluis.kit.errors import Problem

GIVE_METHODS = ("form", "email_confirmation", "account", "staff_written_request")
# Withdrawing is one action on every route where giving was one, plus the routes of the statement (a-d).
WITHDRAW_METHODS = (*GIVE_METHODS, "unsubscribe_link", "dpo_email", "subscription_page")
# Routes by which the person's own message reaches benVitaal and staff write it down: it counts from its arrival.
MESSAGE_METHODS = ("staff_written_request", "dpo_email")
RECEIVED_REQUIRED = ("dpo_email",)
OLDEST_MESSAGE = timedelta(days=366)  # older than a year is a typing error, not a message found in the inbox


def check_received_at(method: str, received_at: datetime | None, now: datetime) -> list[Problem]:
    """When the person's message reached benVitaal: required for an e-mail to the DPO, only for messages,
    with a time zone, not in the future and not older than a year."""
    if received_at is None:
        if method in RECEIVED_REQUIRED:
            return [Problem("received_at", "required", "when the e-mail reached benVitaal, with its time zone")]
        return []
    if method not in MESSAGE_METHODS:
        return [Problem("received_at", "not_a_message", f"only for {', '.join(MESSAGE_METHODS)}")]
    if received_at.tzinfo is None or received_at.utcoffset() is None:
        return [Problem("received_at", "timezone_required", "give the time zone, e.g. 2026-11-25T09:30+01:00")]
    if received_at > now:
        return [Problem("received_at", "in_future", "a message cannot arrive in the future")]
    if received_at < now - OLDEST_MESSAGE:
        return [Problem("received_at", "too_old", "at most a year ago")]
    return []


def truncate_ip(address: str) -> str:
    """Keep the network, not the host: /24 for IPv4, /48 for IPv6. Raises ValueError for a non-address."""
    ip = ipaddress.ip_address(address.strip())
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    prefix = 24 if ip.version == 4 else 48
    return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False))
