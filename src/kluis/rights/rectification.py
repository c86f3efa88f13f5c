"""Rectification (R-DSR-5): the person corrects self-editable fields from the profile at once; staff carry
out a rectification request. Either way the recipients and processors that received that category are told
(Art. 19), what was told is recorded with the correction and in the audit chain, and the person hears which
ones were informed. Services never commit.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kluis.audit import service as audit
from kluis.disclosures.notices import Cause, tell_parties
from kluis.kit.errors import Conflict, NotAllowed, Problem
from kluis.kit.i18n import N_
from kluis.kit.ids import new_id
from kluis.mail import service as mail
from kluis.rights import mail as rights_mail
from kluis.rights.models import DataSubjectRequest, Rectification
from kluis.rights.rules import RequestType, State

if TYPE_CHECKING:
    from kluis.wiring import Kluis

PERSON, STAFF = "person", "staff"


@dataclass
class Rectifications:
    session: Session
    kluis: Kluis
    actor: str

    def self_edit(self, person_id: uuid.UUID, record_id: uuid.UUID, changes: Mapping[str, Any], lang: str = "nl"
                  ) -> Rectification:
        """From the profile page: only the fields the policy marks self-editable, effective at once."""
        record = self.kluis.vault(self.session, self.actor).record_of(person_id, record_id)
        editable = set(self.kluis.policy.category(record.category).self_editable)
        refused = sorted(name for name in changes if name not in editable)
        if refused:
            raise NotAllowed(f"these fields cannot be changed from the profile; ask for a rectification instead: "
                             f"{', '.join(refused)}", code="field_not_self_editable",
                             problems=[Problem(f"fields.{name}", "field_not_self_editable",
                                               N_("not self-editable in the policy")) for name in refused])
        return self._rectify(person_id, record_id, dict(changes), PERSON, lang, None)

    def by_staff(self, request: DataSubjectRequest, record_id: uuid.UUID, changes: Mapping[str, Any]
                 ) -> Rectification:
        """Carry out (part of) a verified rectification request: the changes staff checked and entered."""
        if request.type != RequestType.RECTIFICATION:
            raise Conflict(N_("this is not a rectification request"), code="not_rectification")
        if request.person_id is None or request.state != State.IN_PROGRESS:
            raise Conflict(N_("only a request in progress is carried out"), code="request_not_open")
        return self._rectify(request.person_id, record_id, dict(changes), STAFF, request.lang, request)

    def of_request(self, request_id: uuid.UUID) -> list[Rectification]:
        return list(self.session.scalars(select(Rectification).where(Rectification.request_id == request_id)
                                         .order_by(Rectification.at)))

    def _rectify(self, person_id: uuid.UUID, record_id: uuid.UUID, changes: dict[str, Any], by: str, lang: str,
                 request: DataSubjectRequest | None) -> Rectification:
        record = self.kluis.vault(self.session, self.actor).rectify_record(person_id, record_id, changes)
        row_id = new_id()
        told = tell_parties(self.session, self.kluis.clock, self.kluis.policy, self.actor, person_id, [record.category],
                            Cause("rectification", row_id, sorted(changes)))
        row = Rectification(id=row_id, request_id=request.id if request else None, person_id=person_id,
                            record_id=record.id, category=record.category, fields=sorted(changes), by=by, told=told,
                            at=self.kluis.clock.now())
        self.session.add(row)
        self.session.flush()
        audit.append(self.session, self.kluis.clock, actor=self.actor, action="rectification.recorded",
                     object_type="rectification",
                     object_ids=[row.id, person_id, record.id, *([request.id] if request else [])],
                     details={"category": record.category, "fields": row.fields, "by": by,
                              "told": [f"{p['party']}={p['channel']}" for p in told]})
        mail.enqueue(self.session, self.kluis.clock, template=rights_mail.RECTIFIED_TEMPLATE, person_id=person_id,
                     lang=lang, context={"rectification_id": str(row.id)}, actor=self.actor)
        return row
