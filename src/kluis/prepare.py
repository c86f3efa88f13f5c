"""`kluis init`: prepare a Kluis (local keys on SQLite, the schemas, the policy version); the demo's first step."""

from __future__ import annotations

import os
from pathlib import Path

from kluis import schema, wiring
from kluis.config import LOCAL_SECRETS_FILE, Settings
from kluis.kit.cli import domain_errors, out
from kluis.kit.errors import ConfigurationError
from kluis.kit.secrets import new_secret

LOCAL_SECRET_NAMES = ("KLUIS_MASTER_KEY", "KLUIS_INDEX_KEY", "KLUIS_SECRET_KEY", "KLUIS_CERTIFICATE_KEY",
                      "KLUIS_AUDIT_KEY")


def write_local_secrets(path: Path = LOCAL_SECRETS_FILE) -> bool:
    """Generate local keys once (SQLite only); a file from an older version gets the keys it lacks.
    Returns whether anything was written."""
    if path.exists():
        present = {line.split("=", 1)[0].strip() for line in path.read_text().splitlines() if "=" in line}
        missing = [name for name in LOCAL_SECRET_NAMES if name not in present]
        if missing:
            with path.open("a") as fh:
                fh.writelines(f"{name}={new_secret()}\n" for name in missing)
        return bool(missing)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write("# Local keys written by `kluis init`. Keep this file out of backups of the data.\n")
        for name in LOCAL_SECRET_NAMES:
            fh.write(f"{name}={new_secret()}\n")
    return True


@domain_errors
def init() -> None:
    """Prepare a Kluis: local keys (SQLite only), schema migrations, and the policy version."""
    settings = Settings()
    if (settings.master_key is None or settings.certificate_key is None or settings.audit_key is None) \
            and settings.is_sqlite:
        if write_local_secrets():
            out.print(f"generated local keys (master, index, secret, certificate, audit) in "
                      f"{LOCAL_SECRETS_FILE.resolve()}")
        settings = Settings()
    elif settings.master_key is None:
        raise ConfigurationError("KLUIS_MASTER_KEY is not configured: Kluis refuses to start against a server "
                                 "database without keys from your key management", code="keys_missing")
    kluis = wiring.build(settings)
    wiring.use_for_cli(kluis)
    schema.upgrade(kluis.db, keys=kluis.keys)
    seq = kluis.register_policy(actor="cli")
    out.print(f"database ready: {settings.database_url} (keys: {settings.resolved_keystore_url()}); "
              f"policy version {seq}", highlight=False)
