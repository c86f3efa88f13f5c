"""The audit key from configuration: kept outside the database, like the master key."""

from __future__ import annotations

from pydantic import SecretStr

from kluis.kit.errors import ConfigurationError
from kluis.kit.secrets import parse_secret


def audit_key(configured: SecretStr | str | None) -> bytes:
    if configured is None:
        raise ConfigurationError("KLUIS_AUDIT_KEY is not configured: the audit log is sealed and verified with it "
                                 "(`kluis init` writes one for SQLite; `kluis access new-secret` prints a fresh one)",
                                 code="audit_key_missing")
    text = configured.get_secret_value() if isinstance(configured, SecretStr) else configured
    return parse_secret("KLUIS_AUDIT_KEY", text)
