"""What the requests tell other domains, inside their transaction (``kluis.kit.events``)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kluis.wiring import Kluis

# Reported by the complaints register for an access package: the person's complaints, as the package shows them.
COMPLAINTS = "complaints"


@dataclass(frozen=True)
class PackageBuilding:
    """An access package (R-DSR-3) is being made for the person: registers that hold data about them and sit
    above the requests (complaints) report their part."""

    kluis: Kluis
    actor: str
    person_id: uuid.UUID
