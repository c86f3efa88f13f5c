"""What the complaint pages call a complaint's states (R-GOV-2): marked for the catalogs and translated where shown
(``_(terms[...])``; docs/i18n.md)."""

from __future__ import annotations

from kluis.kit.messages import N_

TERMS: dict[str, str] = {
    "state_open": N_("Being handled"),
    "state_answered": N_("Answered"),
    "state_lapsed": N_("Lapsed: not confirmed in time"),
}
