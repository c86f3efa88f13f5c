"""Configuration from ``KLUIS_*`` environment variables, ``.env`` and the local secrets file."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# The secrets file ``kluis init`` writes for local use; real deployments set the variables instead.
LOCAL_SECRETS_FILE = Path(".kluis/secrets.env")
DEFAULT_POLICY_FILE = Path(__file__).resolve().parents[2] / "policy" / "benvitaal.yaml"
MAX_INTAKE_LIMIT = 1000  # hits per rate-limit window of the public intake (each is kept while it counts)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="KLUIS_", env_file=(".env", str(LOCAL_SECRETS_FILE)), extra="ignore"
    )

    database_url: str = "sqlite:///kluis.db"
    # Connections each process keeps open to PostgreSQL, and how many more it may open for a burst and close
    # again (docs/performance.md#sizing-a-larger-machine). A server process's sync endpoints run on up to 40
    # threads, each holding one connection for its request.
    db_pool_size: int = Field(default=20, ge=1)
    db_max_overflow: int = Field(default=20, ge=0)
    # A streaming replica of the data database that the gate's decisions are read from (docs/gate.md#decisions-
    # from-a-replica): PostgreSQL only, a synchronous standby of database_url. Unset: read from database_url.
    read_database_url: str | None = None
    # After how many runs on a connection psycopg prepares a statement on the server (its default: 5); ``none``
    # never prepares, as pgbouncer in transaction mode needs (docs/architecture.md#pgbouncer-in-transaction-mode).
    db_prepare_threshold: int | None = Field(default=5, ge=0)
    # Person keys live apart from the data, so a backup of the data holds ciphertext only.
    # Default: a second SQLite file beside the database (SQLite) or the same server (others).
    keystore_url: str | None = None
    # A second copy of the erasure log, kept by the operator apart from both databases' backups: one JSON line per
    # key destroyed and per suppression change, synced before it commits (docs/restore.md).
    erasure_log_file: Path | None = None
    master_key: SecretStr | None = None
    previous_master_keys: SecretStr | None = None
    index_key: SecretStr | None = None
    secret_key: SecretStr | None = None
    # Ed25519 key (32 bytes, URL-safe base64) that signs certificates of erasure (docs/erasure.md).
    certificate_key: SecretStr | None = None
    # HMAC key (32 bytes, base64url) of the audit log's sealed links (docs/audit.md): outside the database, so
    # whoever can write the database cannot rewrite the log unnoticed. Give auditors this key, not write access.
    audit_key: SecretStr | None = None
    # The worker verifies the audit log this often (incrementally: what was sealed since the last run) and walks
    # it in full this often; the console warns when the newest verification is older than twice the first.
    audit_verify_minutes: float = Field(default=60, gt=0)
    audit_full_verify_hours: float = Field(default=24, gt=0)
    policy_file: Path = DEFAULT_POLICY_FILE
    base_url: str = "http://127.0.0.1:8000"
    cookie_secure: bool = False
    login_max_failures: int = 5
    login_lockout_minutes: int = 15
    session_hours: int = 8
    # The language of the mails to a staff member who has not chosen one in the console or with the CLI
    # (docs/i18n.md): the reminders of deadlines and terms. Dutch or English.
    staff_language: Literal["nl", "en"] = "en"
    # Service databases declared in the policy (docs/datasets.md): connection name -> SQLAlchemy URL, given as
    # JSON in KLUIS_DATASET_URLS. A declared dataset without a URL is unavailable: requests on it wait.
    dataset_urls: dict[str, SecretStr] = {}

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def resolved_keystore_url(self) -> str:
        if self.keystore_url:
            return self.keystore_url
        if self.is_sqlite:
            path = self.database_url.removeprefix("sqlite:///")
            if path in ("", ":memory:"):
                return "sqlite://"
            stem = path[:-3] if path.endswith(".db") else path
            return f"sqlite:///{stem}-keys.db"
        return self.database_url

    # Mail (docs/mail.md): the SMTP relay the worker sends through, and how the outbox retries.
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 8025
    smtp_starttls: bool = False
    smtp_ssl: bool = False
    smtp_username: SecretStr | None = None
    smtp_password: SecretStr | None = None
    smtp_timeout_seconds: float = 30.0
    mail_from: str = "benVitaal <noreply@benvitaal.nl>"
    mail_domain: str = "kluis.benvitaal.nl"
    mail_max_attempts: int = 10
    # A claimed message is re-tried by another worker only after this lease: keep it well above the SMTP timeout.
    mail_lease_seconds: int = 300
    worker_poll_seconds: float = 5.0
    # DKIM signing of marketing mail (RFC 8058 wants List-Unsubscribe signed; docs/mail.md). Without a key the
    # relay must sign. The key is PEM text or the path of a PEM file.
    dkim_selector: str | None = None
    dkim_domain: str | None = None
    dkim_private_key: SecretStr | None = None

    # The largest request body any route accepts (a batch of records with files is split to fit).
    max_request_bytes: int = Field(default=64 * 1024 * 1024, ge=1024)

    # Access packages (docs/access-package.md): how long a download link works, and how builds are retried.
    package_days: int = 7
    package_max_attempts: int = 5
    # A build claimed by a worker that died is taken over after this lease.
    package_lease_seconds: int = 1800
    # An erasure job claimed by a worker that died is taken over after this lease (by any worker, or at once by
    # `kluis erasure run --take-over`); every step renews it.
    erasure_lease_seconds: int = Field(default=600, ge=10)
    # Records a retention sweep deletes per transaction (docs/retention.md, R-RET-2). A batch holds its rows'
    # locks (due rows, which nothing else writes) and those of the people it leaves with nothing until it
    # commits, about a second at this size on the benchmark's machine; it takes the audit chain's head only to
    # append its event. Fewer, larger batches make the sweep faster (bench/retention.py; docs/performance.md).
    retention_sweep_batch: int = Field(default=100_000, ge=1)

    # The privacy centre's public intake (docs/rights.md, R-DSR-1). A request whose address never proved
    # itself is closed ("expired") this many days after receipt, and what tied it to an address is deleted.
    unverified_request_days: int = 30
    # Submits (and new codes) per client network: an IPv4 address or an IPv6 /64, in a window of minutes.
    intake_per_client: int = 5
    intake_client_window_minutes: int = 60
    # Submits (and new codes) per target address (whoever sends them), in a window of hours.
    intake_per_address: int = 3
    intake_address_window_hours: int = 24
    # Opening a marketing link (unsubscribe, preferences, confirm) per client network, in the intake's client
    # window: enough for a person, too few to guess a token (docs/marketing.md).
    marketing_links_per_client: int = 30
    # Proxies (addresses or networks) whose X-Forwarded-For is believed; without one, the peer address counts.
    trusted_proxies: list[str] = []

    @model_validator(mode="after")
    def _replica_of_a_server(self) -> Settings:
        if self.read_database_url and (self.is_sqlite or self.read_database_url.startswith("sqlite")):
            raise ValueError("KLUIS_READ_DATABASE_URL is for a PostgreSQL streaming replica of KLUIS_DATABASE_URL: "
                             "SQLite has no replicas; unset it to read decisions from the database itself")
        return self

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies_are_networks(cls, value: list[str]) -> list[str]:
        for entry in value:
            try:
                ipaddress.ip_network(entry.strip(), strict=False)
            except ValueError:
                raise ValueError(f"KLUIS_TRUSTED_PROXIES: {entry!r} is not an IP address or network") from None
        return value

    @field_validator("db_prepare_threshold", mode="before")
    @classmethod
    def _never_prepare(cls, value: object) -> object:
        return None if isinstance(value, str) and value.strip().lower() in ("none", "") else value

    @field_validator("unverified_request_days", "intake_per_client", "intake_client_window_minutes",
                     "intake_per_address", "intake_address_window_hours", "marketing_links_per_client")
    @classmethod
    def _positive(cls, value: int) -> int:
        if value < 1:
            raise ValueError("must be at least 1")
        return value

    @field_validator("intake_per_client", "intake_per_address", "marketing_links_per_client")
    @classmethod
    def _a_log_that_stays_small(cls, value: int) -> int:
        # Each counted hit is kept (the sliding log, rights.intake): a limit for people, not for machines.
        if value > MAX_INTAKE_LIMIT:
            raise ValueError(f"must be at most {MAX_INTAKE_LIMIT}")
        return value
