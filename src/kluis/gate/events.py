"""What the gate tells other domains, inside the transaction that records it (``kluis.kit.events``)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from kluis.kit.clock import Clock

# Reported by a reaction to ObjectionRecorded that deleted the person's interest profile (Art. 21(3)); the
# objection's audit event says so.
INTEREST_PROFILE_DELETED = "interest_profile_deleted"


@dataclass(frozen=True)
class ObjectionRecorded:
    """An objection is in force (or waits for the DPO). ``purposes``: the policy's purposes it covers."""

    person_id: uuid.UUID
    objection_id: uuid.UUID
    scope: str
    purposes: frozenset[str]


@dataclass(frozen=True)
class RestrictionLifted:
    """A restriction is being lifted, in the transaction that lifts it; published before its own record, so that
    the notice to the person (``tell_person``) is queued first (Art. 18(3))."""

    person_id: uuid.UUID
    restriction_id: uuid.UUID
    tell_person: bool
    clock: Clock
    actor: str
