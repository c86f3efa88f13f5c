"""Builds the one object every entry point (HTTP app, CLI, worker, tests) works through."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property

from pydantic import SecretStr
from sqlalchemy.orm import Session

from kluis.config import Settings
from kluis.consent.marketing import mail as marketing_mail  # noqa: F401 - registers the marketing messages
from kluis.consent.service import Consents
from kluis.datasets.service import Datasets
from kluis.db import Database
from kluis.gate.service import Gate
from kluis.kit.clock import Clock, SystemClock
from kluis.kit.errors import ConfigurationError
from kluis.policy.loader import load_policy
from kluis.policy.schemas import Policy
from kluis.policy.service import register_version
from kluis.policy.timeline import Timeline
from kluis.retention.service import due_dates
from kluis.vault.crypto import KeyRing, keyring_from_settings
from kluis.vault.guard import ContentGuard, guard_for
from kluis.vault.keystore import KeyStore
from kluis.vault.service import Vault


@dataclass
class Kluis:
    settings: Settings
    db: Database
    timeline: Timeline
    keys: KeyRing
    clock: Clock = field(default_factory=SystemClock)
    _pinned: Policy | None = None
    _guards: dict[str, ContentGuard] = field(default_factory=dict)

    @property
    def policy(self) -> Policy:
        """The policy in force now (by this Kluis's clock): the stored version whose moment has come, or the
        configured file's while none is stored (R-POL-3, R-GOV-4)."""
        if self._pinned is not None:
            return self._pinned
        return self.timeline.policy(self.clock.now())

    @policy.setter
    def policy(self, policy: Policy) -> None:
        """Enforce this policy whatever the stored versions say (a test's or the demo's own)."""
        self._pinned = policy
        self.timeline.loaded = policy

    @property
    def policy_version(self) -> int | None:
        """The number of the stored version in force: what consents, records and notices refer to."""
        found = self.timeline.in_force(self.clock.now())
        return found.seq if found is not None else None

    def policy_of(self, seq: int) -> Policy | None:
        """The policy of stored version ``seq`` (None when unknown or its content was never stored)."""
        found = self.timeline.version(seq, self.clock.now())
        return found.policy if found is not None else None

    @cached_property
    def keystore(self) -> KeyStore:
        return KeyStore(self.db, self.keys, self.clock, self.settings.erasure_log_file)

    @property
    def guard(self) -> ContentGuard:
        policy = self.policy
        found = self._guards.get(policy.content_hash)
        if found is None:
            found = self._guards[policy.content_hash] = guard_for(policy)
        return found

    def vault(self, session: Session, actor: str) -> Vault:
        return Vault(session=session, keys=self.keys, keystore=self.keystore, policy=self.policy,
                     guard=self.guard, clock=self.clock, actor=actor, due_dates=due_dates,
                     policy_version=self.policy_version)

    def gate(self, session: Session, actor: str) -> Gate:
        return Gate(session=session, policy=self.policy, clock=self.clock, actor=actor)

    def consents(self, session: Session, actor: str) -> Consents:
        return Consents(session=session, kluis=self, actor=actor)

    def datasets(self) -> Datasets:
        """The service databases declared in the policy in force, with engines made on first use and kept (made
        afresh when another version takes effect)."""
        made = self.__dict__.get("_datasets")
        if made is not None and made.policy.content_hash != self.policy.content_hash:
            self.__dict__.pop("_datasets").close()
        return self._datasets

    @cached_property
    def _datasets(self) -> Datasets:
        urls = {name: url.get_secret_value() for name, url in self.settings.dataset_urls.items()}
        return Datasets(self.policy, urls, self._dataset_digest)

    def use_dataset_urls(self, urls: Mapping[str, str]) -> None:
        """Set the URLs of these dataset connections for this run (the demo sets its own)."""
        configured = dict(self.settings.dataset_urls) | {name: SecretStr(url) for name, url in urls.items()}
        self.settings = self.settings.model_copy(update={"dataset_urls": configured})
        if "_datasets" in self.__dict__:
            self.__dict__.pop("_datasets").close()

    def _dataset_digest(self, kind: str, value: str) -> str:
        # The blind-index key, in its own domain ("dataset:"), so these hashes never equal a vault digest.
        return self.keys.digest(f"dataset:{kind}", "", value).hex()

    def register_policy(self, actor: str = "system") -> int:
        """Record the configured policy as a version when its content is new (refused for a material change:
        that is published ahead, ``kluis policy publish``); the number of the version in force afterwards."""
        with self.db.transaction() as session:
            version = register_version(session, self.clock, self.timeline.loaded,
                                       source=self.settings.policy_file.name, actor=actor)
        self.timeline.forget()
        return self.policy_version or version.seq

    def close(self) -> None:
        if "_datasets" in self.__dict__:
            self._datasets.close()
        self.db.dispose()


def build(settings: Settings | None = None, clock: Clock | None = None, policy: Policy | None = None) -> Kluis:
    """Wire Kluis from configuration; refuses to start without keys (see ``kluis init``), or with a read replica
    the database does not wait for."""
    settings = settings or Settings()
    keys = keyring_from_settings(settings)
    db = Database(settings.database_url, settings.resolved_keystore_url(), settings.db_pool_size,
                  settings.db_max_overflow, read_url=settings.read_database_url,
                  prepare_threshold=settings.db_prepare_threshold)
    if settings.read_database_url:
        try:
            ensure_replica_waited_for(db)
        except Exception:  # the connection failed, or it is refused: no pool left behind
            db.dispose()
            raise
    timeline = Timeline(db, policy or load_policy(settings.policy_file))
    return Kluis(settings=settings, db=db, timeline=timeline, keys=keys, clock=clock or SystemClock())


def ensure_replica_waited_for(db: Database) -> None:
    """Decision-changing writes commit with ``synchronous_commit = remote_apply``, which waits for the
    synchronous standbys only: with none named, it waits for nothing and an objection could still be allowed on
    the replica after it was acknowledged. Refused at start-up instead (docs/gate.md#decisions-from-a-replica)."""
    with db.engine.connect() as connection:
        names = connection.exec_driver_sql("SELECT current_setting('synchronous_standby_names')").scalar()
    if not (names or "").strip():
        raise ConfigurationError(
            "KLUIS_READ_DATABASE_URL is set but the database names no synchronous standby "
            "(synchronous_standby_names is empty): writes would not wait for the replica, and it could allow what "
            "an acknowledged objection refuses; name the replica in synchronous_standby_names, or unset "
            "KLUIS_READ_DATABASE_URL", code="replica_not_synchronous")


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
