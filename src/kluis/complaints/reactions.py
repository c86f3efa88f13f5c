"""How the complaints register answers other domains (``kluis.kit.events``; who reacts to what:
``kluis.subscriptions``)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from kluis.complaints.service import Complaints
from kluis.rights.events import COMPLAINTS, PackageBuilding


def package_building(session: Session, event: PackageBuilding) -> dict[str, Any]:
    """R-DSR-3: the person's access package shows their complaints, with what they wrote and were answered."""
    return {COMPLAINTS: Complaints(session, event.kluis, event.actor).for_package(event.person_id)}
