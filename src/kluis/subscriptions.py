"""Who reacts to which domain event (``kluis.kit.events``), installed when this module is imported.

Every entry point (the HTTP app, the worker, the CLI) imports it before it handles anything. A publishing domain
never imports the domains that react: this is the one place that knows both.
"""

from __future__ import annotations

from typing import Any

from kluis.complaints import reactions as complaints
from kluis.consent import reactions as consent
from kluis.erasure.events import ControllerPartErased, ErasureCertified, ErasureHeld, PersonErased
from kluis.gate.events import ObjectionRecorded, RestrictionLifted
from kluis.kit.events import Subscription, install
from kluis.mail import reactions as mail
from kluis.rights import reactions as rights
from kluis.rights.events import PackageBuilding

SUBSCRIPTIONS: tuple[Subscription[Any], ...] = (
    Subscription(ObjectionRecorded, consent.objection_recorded),  # the interest profile goes (Art. 21(3))
    Subscription(RestrictionLifted, mail.restriction_lifted),  # the person is told first (Art. 18(3))
    Subscription(ErasureHeld, rights.erasure_held),  # the request's person is told what a legal hold keeps
    Subscription(PersonErased, rights.person_erased),  # their last notice, held for the certificate
    Subscription(ControllerPartErased, rights.controller_part_erased),  # told of own part; the rest is the employer's
    Subscription(ErasureCertified, rights.erasure_certified),  # the erasure request is done
    Subscription(PackageBuilding, complaints.package_building),  # the access package shows their complaints
)

install(SUBSCRIPTIONS)
