"""The console's menu: every page a role may open, and no other (issue 19 §2).

One list serves the frame (``templates/staff/layout.html``) and the tests that open every link of every role's
menu; each entry names the permission its page's handler requires, so menu and page cannot disagree.
"""

from __future__ import annotations

from dataclasses import dataclass

from kluis.kit.i18n import N_
from kluis.staff.rules import Permission, may


@dataclass(frozen=True)
class Entry:
    key: str  # the ``active`` name a page passes to mark itself current
    path: str
    label: str  # marked for the catalogs; the frame translates it
    permission: Permission


ENTRIES = (
    Entry("dashboard", "/console", N_("Dashboard"), Permission.CONSOLE),
    Entry("requests", "/console/requests", N_("Requests"), Permission.REQUESTS_RECORD),
    Entry("erasure", "/console/erasure", N_("Erasure jobs"), Permission.REQUESTS_RECORD),
    Entry("complaints", "/console/complaints", N_("Complaints"), Permission.COUNTS),
    Entry("breaches", "/console/breaches", N_("Breaches"), Permission.BREACH_REPORT),
    Entry("holds", "/console/holds", N_("Legal holds"), Permission.LEGAL_HOLDS),
    Entry("orders", "/console/orders", N_("Authority orders"), Permission.ORDERS_RECORD),
    Entry("employers", "/console/employers", N_("Employers"), Permission.REQUESTS_RECORD),
    Entry("notices", "/console/notices", N_("Art. 19 notices"), Permission.REQUESTS_RECORD),
    Entry("audit", "/console/audit", N_("Audit log"), Permission.AUDIT_READ),
    Entry("records", "/console/policy/records", N_("Records of processing"), Permission.AUDIT_READ),
    Entry("versions", "/console/policy/versions", N_("Policy versions"), Permission.AUDIT_READ),
    Entry("processors", "/console/processors", N_("Processors"), Permission.AUDIT_READ),
)


def menu(role: str) -> list[Entry]:
    """The pages ``role`` may open, in the menu's order."""
    return [entry for entry in ENTRIES if may(role, entry.permission)]
