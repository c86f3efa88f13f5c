"""What an erasure tells other domains, inside the transaction of its step (``kluis.kit.events``)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kluis.wiring import Kluis

# Reported by a reaction to PersonErased that queued the person's last notice: its outbox id, held until the
# certificate is signed.
PERSON_NOTICE = "person_notice"


@dataclass(frozen=True)
class ErasureHeld:
    """A legal hold keeps all of the person's data from the erasure they asked for (R-RET-3), once per job: they
    are to be told what is kept and why."""

    kluis: Kluis
    actor: str
    job_id: uuid.UUID
    person_id: uuid.UUID
    request_id: uuid.UUID


@dataclass(frozen=True)
class PersonErased:
    """The vault step erased the person's data (R-DSR-6). ``address``: their first e-mail address as it was, so
    that a last notice can carry it sealed (none when they had none)."""

    kluis: Kluis
    actor: str
    job_id: uuid.UUID
    person_id: uuid.UUID
    request_id: uuid.UUID
    address: str | None


@dataclass(frozen=True)
class ControllerPartErased:
    """benVitaal's own records of the person were erased; those held for their employer wait for its instruction
    (R-DSR-8). The person is to be told what was erased and that the rest is with the employer."""

    kluis: Kluis
    actor: str
    job_id: uuid.UUID
    person_id: uuid.UUID
    request_id: uuid.UUID


@dataclass(frozen=True)
class ErasureCertified:
    """The erasure is done and its certificate signed."""

    kluis: Kluis
    actor: str
    job_id: uuid.UUID
    person_id: uuid.UUID
    request_id: uuid.UUID | None
