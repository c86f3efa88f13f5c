"""Pure rules of consent: who may record it how, and what of an IP address may be kept."""

from __future__ import annotations

import ipaddress

GIVE_METHODS = ("form", "email_confirmation", "account", "staff_written_request")
# Withdrawing is one action on every route where giving was one, plus the routes of the statement (a-d).
WITHDRAW_METHODS = (*GIVE_METHODS, "unsubscribe_link", "dpo_email", "subscription_page")


def truncate_ip(address: str) -> str:
    """Keep the network, not the host: /24 for IPv4, /48 for IPv6. Raises ValueError for a non-address."""
    ip = ipaddress.ip_address(address.strip())
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    prefix = 24 if ip.version == 4 else 48
    return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False))
