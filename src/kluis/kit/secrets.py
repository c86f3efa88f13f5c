"""Secrets as the configuration writes them: 32 random bytes in URL-safe base64, without padding."""

from __future__ import annotations

import base64
import binascii
import os

from kluis.kit.errors import ConfigurationError


def new_secret() -> str:
    """A fresh 256-bit secret in the text form the configuration takes."""
    return base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("=")


def parse_secret(name: str, text: str) -> bytes:
    try:
        raw = base64.urlsafe_b64decode(text.strip() + "=" * (-len(text.strip()) % 4))
    except (binascii.Error, ValueError) as exc:
        raise ConfigurationError(f"{name} is not valid base64url") from exc
    if len(raw) != 32:
        raise ConfigurationError(f"{name} must be 32 bytes (base64url), got {len(raw)}")
    return raw
