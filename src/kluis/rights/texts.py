"""What the request pages call the stored values they show (request types, objection scopes, states, package
states and kinds): marked for the catalogs and translated where shown (``_(terms[...])``; docs/i18n.md)."""

from __future__ import annotations

from kluis.kit.messages import N_

TERMS: dict[str, str] = {
    "type_sub_processors": N_("The list of sub-processors of a service"),
    "type_access": N_("Access to my data"),
    "type_portability": N_("Take my data with me (portability)"),
    "type_rectification": N_("Have my data corrected"),
    "type_erasure": N_("Have my data erased"),
    "type_restriction": N_("Have the processing restricted"),
    "type_objection": N_("Object"),
    "scope_none": N_("(no objection)"),
    "scope_marketing": N_("Direct marketing"),
    "scope_profiling": N_("Profiling"),
    "scope_legitimate_interest": N_("Processing based on legitimate interest"),
    "state_received": N_("Waiting for confirmation"),
    "state_verified": N_("Confirmed"),
    "state_in_progress": N_("In progress"),
    "state_waiting_on_person": N_("Waiting for information from you"),
    "state_done": N_("Handled"),
    "state_refused": N_("Not carried out"),
    "state_expired": N_("Lapsed: not confirmed in time"),
    "package_kind_access": N_("Access: all your data, with a readable report (HTML and PDF)"),
    "package_kind_portability": N_("Portability: the data you gave us, as JSON and CSV"),
    "package_state_queued": N_("Being made"),
    "package_state_building": N_("Being made"),
    "package_state_ready": N_("Ready: use the link in your e-mail"),
    "package_state_expired": N_("Expired and deleted"),
    "package_state_failed": N_("Delayed: we will contact you"),
}
