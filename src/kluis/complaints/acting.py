"""Who acts on a complaint outside the console (R-GOV-2): the staff account named by the CLI's ``--staff`` or by
an API key's tool in ``Kluis-Staff``. Its role and assignment then decide, in the service, as for a console
session."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from kluis.kit.errors import Invalid, NotAllowed
from kluis.staff import service as staff_service
from kluis.staff.rules import Permission, may

if TYPE_CHECKING:
    from kluis.wiring import Kluis


@dataclass(frozen=True)
class Acting:
    """A staff member acting outside the console: the CLI's ``--staff``, or the account an API key acts for."""

    staff_id: uuid.UUID
    role: str

    @property
    def actor(self) -> str:
        return f"staff:{self.staff_id}"

    def may(self, permission: Permission) -> bool:
        return may(self.role, permission)


def acting_by_email(session: Session, kluis: Kluis, email: str) -> Acting:
    """The CLI's ``--staff``: an unknown address is not found, a disabled account refused."""
    account = staff_service.account_by_email(session, kluis.keys, email)
    if staff_service.status_of(account, kluis.clock.now()) == "disabled":
        raise Invalid("this staff account is disabled", code="staff_disabled")
    return Acting(account.id, account.role)


def acting_by_id(session: Session, kluis: Kluis, staff_id: uuid.UUID | None) -> Acting:
    """The staff member an API key's tool names (``Kluis-Staff``): one that is missing, unknown or disabled acts
    for nobody, so the call is refused (403) before anything is read or written."""
    account = staff_service.account_by_id(session, staff_id) if staff_id is not None else None
    if account is None or staff_service.status_of(account, kluis.clock.now()) == "disabled":
        raise NotAllowed("name an active staff account in the Kluis-Staff header", code="staff_unknown")
    return Acting(account.id, account.role)
