"""Builds the one object every entry point (HTTP app, CLI, worker, tests) works through."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from sqlalchemy.orm import Session

from kluis.config import Settings
from kluis.consent import marketing_mail  # noqa: F401 - registers the marketing messages
from kluis.consent.service import Consents
from kluis.db import Database
from kluis.gate.service import Gate
from kluis.kit.clock import Clock, SystemClock
from kluis.policy.loader import load_policy
from kluis.policy.schemas import Policy
from kluis.policy.service import register_version
from kluis.vault.crypto import KeyRing, keyring_from_settings
from kluis.vault.guard import ContentGuard, guard_for
from kluis.vault.keystore import KeyStore
from kluis.vault.service import Vault


@dataclass
class Kluis:
    settings: Settings
    db: Database
    policy: Policy
    keys: KeyRing
    clock: Clock = field(default_factory=SystemClock)

    @cached_property
    def keystore(self) -> KeyStore:
        return KeyStore(self.db, self.keys)

    @cached_property
    def guard(self) -> ContentGuard:
        return guard_for(self.policy)

    policy_version: int | None = None

    def vault(self, session: Session, actor: str) -> Vault:
        return Vault(session=session, keys=self.keys, keystore=self.keystore, policy=self.policy,
                     guard=self.guard, clock=self.clock, actor=actor, policy_version=self.policy_version)

    def gate(self, session: Session, actor: str) -> Gate:
        return Gate(session=session, policy=self.policy, clock=self.clock, actor=actor)

    def consents(self, session: Session, actor: str) -> Consents:
        return Consents(session=session, kluis=self, actor=actor)

    def register_policy(self, actor: str = "system") -> int:
        """Record the loaded policy as a version (a new one only when its content changed)."""
        with self.db.transaction() as session:
            version = register_version(session, self.clock, self.policy, source=self.settings.policy_file.name,
                                       actor=actor)
            self.policy_version = version.seq
        return version.seq

    def close(self) -> None:
        self.db.dispose()


def build(settings: Settings | None = None, clock: Clock | None = None, policy: Policy | None = None) -> Kluis:
    """Wire Kluis from configuration; refuses to start without keys (see ``kluis init``)."""
    settings = settings or Settings()
    keys = keyring_from_settings(settings)
    db = Database(settings.database_url, settings.resolved_keystore_url())
    return Kluis(settings=settings, db=db, policy=policy or load_policy(settings.policy_file),
                 keys=keys, clock=clock or SystemClock())


_cli_instance: Kluis | None = None


def for_cli() -> Kluis:
    """The Kluis a CLI command works on: built from configuration once, or the one a test installed."""
    global _cli_instance
    if _cli_instance is None:
        _cli_instance = build()
    return _cli_instance


def use_for_cli(instance: Kluis | None) -> None:
    global _cli_instance
    _cli_instance = instance
