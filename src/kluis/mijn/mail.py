"""The sign-in code mail of Mijn privacy: the context holds the sign-in's id; the code is derived from it when sent."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from kluis.kit.errors import Problem
from kluis.mail import service as mail
from kluis.mail.models import Outbox
from kluis.mail.service import context_id, subject_of
from kluis.mijn import rules
from kluis.mijn.models import PersonSignIn

if TYPE_CHECKING:
    from kluis.wiring import Kluis

CODE_TEMPLATE = "mijn_code"


def check_code(context: Mapping[str, Any]) -> list[Problem]:
    return [] if context_id(context, "sign_in_id") else [Problem("context.sign_in_id", "code_invalid",
                                                                  "the sign-in's id")]


def build_code(session: Session, kluis: Kluis, row: Outbox) -> mail.MessageContext:
    sign_in = subject_of(session, PersonSignIn, row, "sign_in_id")
    return mail.MessageContext(values={
        "code": rules.derive_code(kluis.keys.secret, uuid.UUID(str(sign_in.id))),
        "minutes": int(rules.CODE_LIFETIME.total_seconds() // 60),
        "url": f"{kluis.settings.base_url.rstrip('/')}/mijn-privacy?lang={row.lang}"})


mail.register_template(CODE_TEMPLATE, build_code, "administrative", check=check_code)
