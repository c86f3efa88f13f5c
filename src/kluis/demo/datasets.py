"""Demo service databases for the datasets the policy declares: benMobiel trips and webinar registrations.

``kluis demo`` creates them as SQLite files beside the demo database and fills them for some seeded people;
the tests create the same schemas on PostgreSQL, MariaDB and SQLite.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    create_engine,
    func,
    select,
)

from kluis.config import Settings
from kluis.vault.models import Identifier
from kluis.wiring import Kluis

PLACES = ["Maastricht", "Heerlen", "Sittard", "Eindhoven", "Utrecht", "Amsterdam Zuid", "Rotterdam Centraal",
          "Den Bosch", "Venlo", "Roermond"]
MODES = ["train", "bike", "e-bike", "bus", "car_share"]
WEBINARS = ["Duurzaam reizen met benMobiel", "Fiscaal slim belonen", "Thuiswerkvergoeding 2026",
            "Declareren zonder bonnetjes"]
QUESTIONS = ["Geldt dit ook voor parttimers?", "Kan ik de opname later terugkijken?",
             "Hoe werkt de ov-fiets in de app?", "Telt de e-bike mee voor het mobiliteitsbudget?"]
COMPANIES = ["Zorggroep Zuid", "Gemeente Heuvelland", "Techniek BV", "Logistiek Limburg"]
DEMO_PEOPLE = 40


def benmobiel_schema() -> MetaData:
    metadata = MetaData()
    Table("trips", metadata,
          Column("id", Integer, primary_key=True, autoincrement=True),
          Column("email", String(255), nullable=False),
          Column("started_at", DateTime, nullable=False),
          Column("from_place", String(120)),
          Column("to_place", String(120)),
          Column("distance_km", Numeric(8, 1), nullable=False),
          Column("mode", String(20), nullable=False))
    Table("mobility_budgets", metadata,
          Column("id", Integer, primary_key=True, autoincrement=True),
          Column("email", String(255), nullable=False),
          Column("full_name", String(200)),
          Column("budget_year", Integer, nullable=False),
          Column("budget_eur", Numeric(10, 2), nullable=False),
          Column("claimed_eur", Numeric(10, 2), nullable=False))
    return metadata


def webinars_schema() -> MetaData:
    metadata = MetaData()
    Table("registrations", metadata,
          Column("id", Integer, primary_key=True, autoincrement=True),
          Column("webinar", String(120), nullable=False),
          Column("email", String(255)),
          Column("full_name", String(200)),
          Column("company", String(200)),
          Column("attended", Boolean, nullable=False),
          Column("registered_at", DateTime, nullable=False))
    Table("questions", metadata,
          Column("id", Integer, primary_key=True, autoincrement=True),
          Column("webinar", String(120), nullable=False),
          Column("email", String(255), nullable=False),
          Column("question", Text, nullable=False),
          Column("asked_at", DateTime, nullable=False))
    return metadata


def _email_indexes(metadata: MetaData) -> MetaData:
    """Datasets match e-mail addresses in lower case (``lower(email)``): an index on that expression keeps a
    look-up in a large service database an index scan. MariaDB has no expression indexes; its default
    collation compares without case anyway."""
    for table in metadata.tables.values():
        Index(f"ix_{table.name}_email_lower", func.lower(table.c.email)).ddl_if(
            dialect=("postgresql", "sqlite"))  # type: ignore[arg-type]  # documented: a tuple of names; typed: one
    return metadata


SCHEMAS = {"benmobiel": lambda: _email_indexes(benmobiel_schema()),
           "webinars": lambda: _email_indexes(webinars_schema())}


def create_demo_schemas(url_by_name: Mapping[str, str], emails: Sequence[str], now: datetime,
                        seed: int = 1) -> dict[str, int]:
    """Create the demo tables of each named dataset (``benmobiel``, ``webinars``) and, when they are empty,
    give every e-mail address at least one row in every table. Returns the rows written per table."""
    written: dict[str, int] = {}
    for name, url in url_by_name.items():
        metadata = SCHEMAS[name]()
        rng = random.Random(f"{seed}:{name}")  # noqa: S311 - demo data must be reproducible, not secret
        engine = create_engine(url)
        try:
            metadata.create_all(engine)
            with engine.begin() as conn:
                for table in metadata.sorted_tables:
                    if conn.execute(select(func.count()).select_from(table)).scalar_one():
                        continue
                    rows = [row for email in emails for row in _rows(table.name, email, rng, now)]
                    if rows:
                        conn.execute(table.insert(), rows)
                    written[table.name] = len(rows)
        finally:
            engine.dispose()
    return written


def full_name(email: str) -> str:
    """A readable name from an address like ``anna.de.vries12@…``: the demo keeps no names in plaintext."""
    local = email.split("@", 1)[0].rstrip("0123456789")
    return " ".join(part.capitalize() for part in local.replace("_", ".").split(".") if part) or "Deelnemer"


def _rows(table: str, email: str, rng: random.Random, now: datetime) -> list[dict[str, object]]:
    def ago(days: int) -> datetime:
        return (now - timedelta(days=rng.randint(1, days), minutes=rng.randint(0, 1439))).replace(tzinfo=None,
                                                                                                  microsecond=0)

    if table == "trips":
        return [{"email": email, "started_at": ago(400), "from_place": rng.choice(PLACES),
                 "to_place": rng.choice(PLACES), "distance_km": Decimal(rng.randint(15, 1800)) / 10,
                 "mode": rng.choice(MODES)} for _ in range(rng.randint(1, 4))]
    if table == "mobility_budgets":
        return [{"email": email, "full_name": full_name(email), "budget_year": now.year - offset,
                 "budget_eur": Decimal("1200.00"), "claimed_eur": Decimal(rng.randint(0, 120000)) / 100}
                for offset in range(rng.randint(1, 2))]
    if table == "registrations":
        return [{"webinar": webinar, "email": email, "full_name": full_name(email),
                 "company": rng.choice(COMPANIES), "attended": rng.random() < 0.7, "registered_at": ago(300)}
                for webinar in rng.sample(WEBINARS, rng.randint(1, 2))]
    return [{"webinar": rng.choice(WEBINARS), "email": email, "question": rng.choice(QUESTIONS),
             "asked_at": ago(300)} for _ in range(rng.randint(1, 2))]


def prepare_demo_datasets(kluis: Kluis, people: int = DEMO_PEOPLE) -> dict[str, str]:
    """For each declared dataset without a configured URL: a SQLite file beside the demo database, filled
    for the first ``people`` seeded people with an e-mail address, and its URL set for this run.
    Returns the URLs it set (a dataset configured by the operator is left alone)."""
    names = {d.connection for d in kluis.policy.datasets if d.connection in SCHEMAS}
    missing = sorted(names - set(kluis.settings.dataset_urls))
    if not missing:
        return {}
    folder = _beside_database(kluis.settings)
    urls = {name: f"sqlite:///{folder / f'kluis-{name}.db'}" for name in missing}
    with kluis.db.sessions() as session:
        vault = kluis.vault(session, actor="demo")
        rows = session.scalars(select(Identifier).where(Identifier.kind == "email")
                               .order_by(Identifier.created_at, Identifier.id).limit(people))
        emails = [vault.identifier_value(row) for row in rows]
    create_demo_schemas(urls, emails, kluis.clock.now())
    kluis.use_dataset_urls(urls)
    return urls


def _beside_database(settings: Settings) -> Path:
    if settings.is_sqlite:
        path = settings.database_url.removeprefix("sqlite:///")
        if path not in ("", ":memory:"):
            return Path(path).resolve().parent
    return Path.cwd()
