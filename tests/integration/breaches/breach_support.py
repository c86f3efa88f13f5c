"""Shared by the breach tests: people with records in the vault, DPOs, an incident, the worker's drain."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from kluis.breaches.service import Breaches, IncidentIn
from kluis.staff import service as staff_service
from kluis.vault.schemas import IdentifierIn, PersonIn, RecordIn
from kluis.vault.service import add_employer

AMS = ZoneInfo("Europe/Amsterdam")
PASSWORD = "Stevige-Wachtzin-2026"
SUMMARY = "Een USB-stick met declaratieoverzichten is in de trein verloren."


def employer(kluis, name="Werkgever BV") -> uuid.UUID:
    with kluis.db.transaction() as session:
        return add_employer(session, kluis.clock, "test", name).id


def person(kluis, email, *, subject="employee", employer_id=None, category="financial",
           collected_at: datetime | None = None) -> uuid.UUID:
    employer_id = employer_id or employer(kluis)
    with kluis.db.transaction() as session:
        vault = kluis.vault(session, "test")
        made = vault.create_person(PersonIn(subject_types=[subject], employer_id=employer_id,
                                            identifiers=[IdentifierIn(kind="email", value=email)]))
        purposes = {"financial": ["expense_claims"], "basic": ["expense_claims"]}[category]
        vault.add_records(made.id, [RecordIn(category=category, purposes=purposes, legal_basis="contract",
                                             source="employer", controller="employer",
                                             controller_employer_id=employer_id, content={"name": "A. Test"},
                                             collected_at=collected_at or kluis.clock.now() - timedelta(days=30))])
        return made.id


def dpo(kluis, email="dpo@benvitaal.nl", role="dpo"):
    with kluis.db.transaction() as session:
        return staff_service.add_staff(session, kluis.clock, kluis.keys, email, role, PASSWORD)


def incident(kluis, **changes) -> IncidentIn:
    now = kluis.clock.now()
    given = {"aware_at": (now - timedelta(hours=2)).astimezone(AMS), "happened_from": now - timedelta(days=2),
             "happened_until": now - timedelta(days=1), "nature": ["confidentiality"], "categories": ["financial"],
             "subject_types": ["employee"], "summary": SUMMARY, "systems": "declaratiesysteem, export",
             "consequences": "Iemand kan zien welke onkosten u declareerde.",
             "measures": "De export is uitgezet; de vinder is gevraagd de stick terug te geven."} | changes
    return IncidentIn(**given)


def report(kluis, actor="staff:test", **changes):
    with kluis.db.transaction() as session:
        return Breaches(session, kluis, actor).report(incident(kluis, **changes))
